"""The Perspective-compatible routes, driven by request bodies of the kind public Perspective clients send."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moderation.errors import PolicyError
from moderation.model import Model
from moderation.policy import Policy
from service.app import create_app
from service.perspective import ATTRIBUTES, attribute_categories, suggested_labels
from service.schemas import PerspectiveSuggestedScore
from service.settings import Settings

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
KEY = "perspective-key"
MODERATOR = "moderator-token-0123456789"
INSULT_TEXT = "you are an idiot and a disgrace"

# googleapiclient (`discovery.build("commentanalyzer", "v1alpha1", developerKey=KEY)`), the body of
# Perspective's Python quick-start: `client.comments().analyze(body=analyze_request).execute()`.
GOOGLEAPICLIENT_BODY = json.loads("""
{"comment": {"text": "you are an idiot and a disgrace"}, "requestedAttributes": {"TOXICITY": {}}}
""")

# The `perspective-api-client` npm package: `new Perspective({apiKey}).analyze(text, {attributes,
# doNotStore, languages, spanAnnotations})`.
NPM_BODY = json.loads("""
{"comment": {"text": "you are an idiot and a disgrace", "type": "PLAIN_TEXT"},
 "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "PROFANITY": {}, "THREAT": {}, "IDENTITY_ATTACK": {}},
 "languages": ["en"], "doNotStore": true, "spanAnnotations": true, "clientToken": "npm-42"}
""")

# A forum plug-in asking only for what crosses its thresholds, with the context and ids it always sends.
THRESHOLD_BODY = json.loads("""
{"comment": {"text": "thank you for this balanced article"},
 "requestedAttributes": {"TOXICITY": {"scoreType": "PROBABILITY", "scoreThreshold": 0.0},
                         "INSULT": {"scoreThreshold": 1.0}},
 "languages": ["en-US"], "context": {"entries": [{"text": "The article", "type": "PLAIN_TEXT"}]},
 "communityId": "asbarez", "sessionId": "s-1", "doNotStore": false}
""")


@pytest.fixture(scope="module")
def client(models_dir, model, tmp_path_factory):
    settings = Settings(model_dir=str(models_dir), moderator_tokens=f"maria:{MODERATOR}",
                        feedback_dir=str(tmp_path_factory.mktemp("feedback")))
    with TestClient(create_app(settings, model=model)) as client:
        yield client


@pytest.fixture(scope="module")
def keyed(models_dir, model, tmp_path_factory):
    settings = Settings(model_dir=str(models_dir), api_keys=KEY, moderator_tokens=MODERATOR,
                        feedback_dir=str(tmp_path_factory.mktemp("feedback")))
    with TestClient(create_app(settings, model=model)) as client:
        yield client


def google_error(response, code: int, message: str | None = None, status: str = "INVALID_ARGUMENT") -> str:
    """A response in Google's error shape, exactly `{"error": {"code", "message", "status"}}`."""
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}, body
    assert body["error"]["code"] == code and body["error"]["status"] == status
    if message is not None:
        assert body["error"]["message"] == message
    return body["error"]["message"]


def feedback_rows(client) -> list[dict]:
    root = Path(client.app.state.settings.feedback_dir)
    return [json.loads(line) for path in sorted(root.glob("*.jsonl")) for line in path.read_text().splitlines()]


# ------------------------------------------------------------ analyze


def test_googleapiclient_request(keyed, model):
    response = keyed.post(ANALYZE, params={"alt": "json", "key": KEY}, json=GOOGLEAPICLIENT_BODY)  # as it sends it
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"attributeScores", "languages", "detectedLanguages"}
    assert body["languages"] == ["en"] and body["detectedLanguages"] == ["en"]
    toxicity = body["attributeScores"]["TOXICITY"]
    assert set(toxicity) == {"summaryScore"}  # no spanScores unless asked for
    scores = model.assess([INSULT_TEXT], explain=False)[0].scores
    assert toxicity["summaryScore"] == {"value": pytest.approx(max(scores[c] for c in ATTRIBUTES.values())),
                                        "type": "PROBABILITY"}


def test_npm_client_request_with_spans(client, model):
    response = client.post(ANALYZE, json=NPM_BODY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["clientToken"] == "npm-42"
    assert list(body["attributeScores"]) == list(NPM_BODY["requestedAttributes"])
    scores = model.assess([INSULT_TEXT], explain=False)[0].scores
    for name, category in ATTRIBUTES.items():
        assert body["attributeScores"][name]["summaryScore"]["value"] == pytest.approx(scores[category])
    for name, attribute in body["attributeScores"].items():
        spans = attribute["spanScores"]
        assert spans[0] == {"begin": 0, "end": len(INSULT_TEXT), "score": attribute["summaryScore"]}
        for span in spans:
            assert 0 <= span["begin"] < span["end"] <= len(INSULT_TEXT)
            assert 0.0 <= span["score"]["value"] <= 1.0 and span["score"]["type"] == "PROBABILITY"
    insult_words = {INSULT_TEXT[s["begin"]:s["end"]] for s in body["attributeScores"]["INSULT"]["spanScores"][1:]}
    assert "idiot" in insult_words
    # TOXICITY's evidence is the union of the four attributes' evidence.
    union = {(s["begin"], s["end"]) for name in ATTRIBUTES for s in body["attributeScores"][name]["spanScores"]}
    assert {(s["begin"], s["end"]) for s in body["attributeScores"]["TOXICITY"]["spanScores"]} == union


def test_score_threshold_leaves_attributes_out(client):
    body = client.post(ANALYZE, json=THRESHOLD_BODY).json()
    assert list(body["attributeScores"]) == ["TOXICITY"]  # INSULT < 1.0 is omitted, as Perspective does
    value = body["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    just_above = {"comment": THRESHOLD_BODY["comment"],
                  "requestedAttributes": {"TOXICITY": {"scoreThreshold": min(1.0, value + 1e-6)}}}
    assert client.post(ANALYZE, json=just_above).json()["attributeScores"] == {}
    at = {**just_above, "requestedAttributes": {"TOXICITY": {"scoreThreshold": value}}}
    assert list(client.post(ANALYZE, json=at).json()["attributeScores"]) == ["TOXICITY"]


def test_snake_case_names_are_accepted(client):
    body = {"comment": {"text": INSULT_TEXT}, "requested_attributes": {"INSULT": {"score_threshold": 0.0}},
            "span_annotations": True, "client_token": "snake"}
    response = client.post(ANALYZE, json=body).json()
    assert response["clientToken"] == "snake" and "spanScores" in response["attributeScores"]["INSULT"]


def test_api_key_as_perspective_clients_send_it(keyed):
    assert keyed.post(ANALYZE, json=GOOGLEAPICLIENT_BODY, headers={"X-Goog-Api-Key": KEY}).status_code == 200
    assert keyed.post(ANALYZE, json=GOOGLEAPICLIENT_BODY, headers={"X-API-Key": KEY}).status_code == 200
    google_error(keyed.post(ANALYZE, json=GOOGLEAPICLIENT_BODY), 403,
                 "The request is missing a valid API key.", "PERMISSION_DENIED")
    google_error(keyed.post(ANALYZE, json=GOOGLEAPICLIENT_BODY, params={"key": "wrong"}), 400,
                 "API key not valid. Please pass a valid API key.")


@pytest.mark.parametrize("body, message", [
    ({"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty."),
    ({"comment": {"text": "  \n"}, "requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty."),
    ({"comment": {}, "requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty."),
    ({"requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty."),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"FOO": {}}}, "Unknown attribute: FOO"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY_EXPERIMENTAL": {}}},
     "Unknown attribute: TOXICITY_EXPERIMENTAL"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"toxicity": {}}}, "Unknown attribute: toxicity"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {}}, "requestedAttributes must be non-empty."),
    ({"comment": {"text": "hi"}}, "requestedAttributes must be non-empty."),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["xx"]},
     "Attribute TOXICITY does not support request languages: xx"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"INSULT": {}}, "languages": ["de", "fr"]},
     "Attribute INSULT does not support request languages: de,fr"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "PERCENTILE"}}},
     "Attribute TOXICITY does not support score type: PERCENTILE"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 1.5}}},
     "Attribute TOXICITY: scoreThreshold must be between 0 and 1, found 1.5."),
    ({"comment": {"text": "<b>hi</b>", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}},
     "Comment type HTML is not supported; use PLAIN_TEXT."),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "bogus": 1},
     'Invalid JSON payload received. Unknown name "bogus": Cannot find field.'),
    ({"comment": {"text": "hi", "lang": "en"}, "requestedAttributes": {"TOXICITY": {}}},
     'Invalid JSON payload received. Unknown name "lang" at \'comment\': Cannot find field.'),
    ({"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}},
     "Invalid value at 'comment.text' (TYPE_STRING), 5"),
    ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "spanAnnotations": "maybe"},
     "Invalid value at 'spanAnnotations' (TYPE_BOOL), \"maybe\""),
    ([1, 2], "Invalid JSON payload received. Expected a JSON object."),
])
def test_bad_requests_get_perspective_errors(client, body, message):
    google_error(client.post(ANALYZE, json=body), 400, message)


def test_malformed_json_and_long_text(client, model):
    message = google_error(client.post(ANALYZE, content=b'{"comment": ', headers={"Content-Type": "application/json"}),
                           400)
    assert message.startswith("Invalid JSON payload received.")
    limit = model.policy.max_chars
    google_error(client.post(ANALYZE, json={"comment": {"text": "a" * (limit + 1)},
                                            "requestedAttributes": {"TOXICITY": {}}}),
                 400, f"Comment text too long: {limit + 1} characters; the maximum is {limit}.")


def test_english_in_any_spelling_is_accepted(client):
    for languages in (["en"], ["EN"], ["en-GB"], ["en_US"], ["fr", "en"], []):
        body = {**GOOGLEAPICLIENT_BODY, "languages": languages}
        assert client.post(ANALYZE, json=body).status_code == 200, languages


def test_no_model_is_unavailable(models_dir):
    client = TestClient(create_app(Settings(model_dir=str(models_dir))))  # lifespan not run: no model
    google_error(client.post(ANALYZE, json=GOOGLEAPICLIENT_BODY), 503, status="UNAVAILABLE")


def test_routes_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {ANALYZE, SUGGEST} <= set(paths)


# ------------------------------------------------------------ the attribute table


def test_attribute_table_matches_the_policy(policy):
    assert attribute_categories(policy.names) == ATTRIBUTES
    assert set(ATTRIBUTES.values()) <= set(policy.names)


def test_startup_fails_when_the_policy_lacks_a_category(models_dir, model):
    raw = tomllib.loads(model.policy_text)
    raw["categories"].pop("threat")
    raw.get("training", {}).get("alpha", {}).pop("threat", None)
    policy = Policy.from_dict(raw)
    keep = [model.categories.index(c) for c in policy.names]
    partial = Model(policy, model.featurizer, model.coef[:, keep], model.intercept[keep], model.calibration[keep],
                    card={"version": "no-threat"})
    with pytest.raises(PolicyError, match="THREAT → threat"):
        with TestClient(create_app(Settings(model_dir=str(models_dir)), model=partial)):
            pass


# ------------------------------------------------------------ suggestscore


def suggest(client, scores: dict, text: str = "you stupid loser", token: str | None = MODERATOR, **extra):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"comment": {"text": text}, "attributeScores": {k: {"summaryScore": {"value": v}} for k, v in scores.items()},
            **extra}
    return client.post(SUGGEST, json=body, headers=headers)


def test_suggestscore_records_a_label(client):
    before = len(feedback_rows(client))
    response = suggest(client, {"INSULT": 0.8, "PROFANITY": 0.1}, clientToken="c-7", communityId="asbarez")
    assert response.status_code == 200 and response.json() == {"clientToken": "c-7"}
    row = feedback_rows(client)[before]
    assert (row["personal_attack"], row["profanity"], row["identity_attack"], row["threat"]) == (1, 0, None, None)
    assert row["source"] == "feedback" and row["annotator"] == "maria" and row["text"] == "you stupid loser"
    assert suggest(client, {"INSULT": 0.8}).json() == {}  # no clientToken, none echoed


def test_suggestscore_toxicity_alone(client):
    before = len(feedback_rows(client))
    assert suggest(client, {"TOXICITY": 0.2}, text="thank you, great reporting").status_code == 200
    row = feedback_rows(client)[before]
    assert [row[c] for c in ATTRIBUTES.values()] == [0, 0, 0, 0]
    message = google_error(suggest(client, {"TOXICITY": 0.9}), 400)
    assert "does not say which policy category" in message
    assert suggest(client, {"TOXICITY": 0.9, "THREAT": 0.7}).status_code == 200
    google_error(suggest(client, {"TOXICITY": 0.1, "THREAT": 0.7}), 400,
                 "TOXICITY below 0.5 contradicts THREAT at 0.5 or above.")
    assert len(feedback_rows(client)) == before + 2


def test_suggestscore_needs_the_moderator_token(client, keyed):
    before = len(feedback_rows(client))
    google_error(suggest(client, {"INSULT": 0.9}, token=None), 401, status="UNAUTHENTICATED")
    google_error(suggest(client, {"INSULT": 0.9}, token="not-the-token-0123456789"), 401, status="UNAUTHENTICATED")
    assert len(feedback_rows(client)) == before
    # With API keys configured, Perspective's ?key= is needed as well; an unnamed token records a fixed name.
    google_error(suggest(keyed, {"INSULT": 0.9}), 403, status="PERMISSION_DENIED")
    ok = keyed.post(SUGGEST, params={"key": KEY}, headers={"Authorization": f"Bearer {MODERATOR}"},
                    json={"comment": {"text": "hello"}, "attributeScores": {"THREAT": {"summaryScore": {"value": 0}}}})
    assert ok.status_code == 200
    assert feedback_rows(keyed)[-1]["annotator"] == "perspective-suggestscore"


@pytest.mark.parametrize("scores, message", [
    ({}, "attributeScores must be non-empty."),
    ({"FOO": {"summaryScore": {"value": 1}}}, "Unknown attribute: FOO"),
    ({"INSULT": {}}, "Attribute INSULT: summaryScore is required."),
    ({"INSULT": {"summaryScore": {"value": 1.5}}}, "Attribute INSULT: summaryScore.value must be between 0 and 1, found 1.5."),
    ({"INSULT": {"summaryScore": {"value": 1, "type": "RAW"}}}, "Attribute INSULT does not support score type: RAW"),
])
def test_bad_suggestions_are_refused(client, scores, message):
    before = len(feedback_rows(client))
    body = {"comment": {"text": "hello"}, "attributeScores": scores}
    google_error(client.post(SUGGEST, json=body, headers={"Authorization": f"Bearer {MODERATOR}"}), 400, message)
    google_error(client.post(SUGGEST, json={"attributeScores": {"INSULT": {"summaryScore": {"value": 1}}}},
                             headers={"Authorization": f"Bearer {MODERATOR}"}), 400, "Comment must be non-empty.")
    assert len(feedback_rows(client)) == before


def test_suggested_labels_mapping():
    def s(value):
        return PerspectiveSuggestedScore.model_validate({"summaryScore": {"value": value}})
    assert suggested_labels({"INSULT": s(0.5), "THREAT": s(0.49)}, ATTRIBUTES) == {"personal_attack": 1, "threat": 0}
    assert suggested_labels({"TOXICITY": s(0.0), "PROFANITY": s(0.0)}, ATTRIBUTES) == dict.fromkeys(ATTRIBUTES.values(), 0)
    assert suggested_labels({"TOXICITY": s(1.0), "PROFANITY": s(1.0), "THREAT": s(0.0)}, ATTRIBUTES) == {
        "profanity": 1, "threat": 0}
