"""The review queue API (`service.review`): ordering, paging, decided comments left out, errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from moderation.batch import score_to_file
from moderation.errors import ArchiveError
from moderation.inputs import iter_comments
from moderation.model import Model
from moderation.policy import Decision
from service.app import create_app
from service.review import Rank, load_queue, rank, review_order
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "maria:review-api-token-0123456789"
THRESHOLDS = {"profanity": {"reject": 0.85, "review": 0.45}, "threat": {"reject": 0.85, "review": 0.40}}


class ScriptedModel(Model):
    """The session's model with scores chosen by the test (`scores[text]`, in category order; else zeros)
    and the policy's own thresholds; decisions, word-list hits and evidence stay the real ones."""

    def __init__(self, base: Model, scores: dict[str, list[float]]) -> None:
        super().__init__(base.policy, base.featurizer, base.coef, base.intercept, base.calibration,
                         base.policy.thresholds(), base.card, base.policy_text)
        self.scripted = scores

    def predict_proba(self, texts):
        zero = [0.0] * len(self.categories)
        return np.array([self.scripted.get(t, zero) for t in texts], dtype=float).reshape(len(texts), -1)


# (id, text, profanity, personal_attack, identity_attack, threat): lanes and priorities known in advance.
SCRIPT = [
    ("allow-low", "the talks resumed on monday", 0.01, 0.02, 0.0, 0.0),
    ("likely-90", "this is crap", 0.90, 0.0, 0.0, 0.0),
    ("unsure-84", "nobody reads this", 0.0, 0.84, 0.0, 0.0),  # uncertainty 1 - 2*0.34 = 0.32
    ("likely-99", "you idiot", 0.0, 0.99, 0.0, 0.0),
    ("unsure-50", "what a week", 0.0, 0.0, 0.0, 0.50),  # uncertainty 1.0
    ("allow-mid", "i disagree with the minister", 0.0, 0.30, 0.0, 0.0),
    ("unsure-60", "he should go", 0.0, 0.0, 0.60, 0.0),  # uncertainty 0.8
    ("likely-lex", "tatarmongrilstan again", 0.0, 0.0, 0.10, 0.0),  # reject word-list hit: 1.0
]
EXPECTED_ORDER = ["likely-lex", "unsure-50", "likely-99", "unsure-60", "likely-90", "unsure-84",
                  "allow-mid", "allow-low"]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def queue_input(tmp_path) -> Path:
    return write_jsonl(tmp_path / "queue.jsonl", [{"id": i, "text": t} for i, t, *_ in SCRIPT])


@pytest.fixture
def scripted(model) -> ScriptedModel:
    return ScriptedModel(model, {t: list(s) for _, t, *s in SCRIPT})


def make_client(tmp_path: Path, model: Model, queue_files=(), **settings) -> TestClient:
    settings = Settings(model_dir="(test)", queue_files=tuple(map(str, queue_files)),
                        feedback_dir=str(tmp_path / "feedback"), **settings)
    return TestClient(create_app(settings, model=model))


@pytest.fixture
def client(tmp_path, scripted, queue_input):
    with make_client(tmp_path, scripted, [queue_input], moderator_tokens=TOKEN) as client:
        yield client


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def assert_review_order(items: list[dict]) -> None:
    """Lanes likely and uncertain alternate while both last, then allow; priorities fall within a lane."""
    lanes = [item["lane"] for item in items]
    flagged = [lane for lane in lanes if lane != "allow"]
    assert lanes[:len(flagged)] == flagged, "allowed comments come after every flagged one"
    likely, uncertain = flagged.count("likely"), flagged.count("uncertain")
    both = 2 * min(likely, uncertain)
    assert flagged[:both] == ["likely", "uncertain"] * (both // 2)
    for lane in ("likely", "uncertain", "allow"):
        priorities = [item["priority"] for item in items if item["lane"] == lane]
        assert priorities == sorted(priorities, reverse=True), lane


# ------------------------------------------------------------------ the ordering rule


def test_rank_lanes_and_priorities():
    assert rank(Decision("reject", ["profanity"], [], []), {"profanity": 0.9, "threat": 0.5}, THRESHOLDS) \
        == Rank("likely", 0.9)
    # A violation below its reject threshold comes from the policy word list: as sure as it gets.
    assert rank(Decision("reject", ["threat"], [], []), {"profanity": 0.0, "threat": 0.1}, THRESHOLDS) \
        == Rank("likely", 1.0)
    assert rank(Decision("review", [], ["threat"], []), {"profanity": 0.0, "threat": 0.5}, THRESHOLDS) \
        == Rank("uncertain", 1.0)
    assert rank(Decision("review", [], ["profanity", "threat"], []), {"profanity": 0.8, "threat": 0.45},
                THRESHOLDS) == Rank("uncertain", 0.9)
    assert rank(Decision("allow", [], [], []), {"profanity": 0.2, "threat": 0.3}, THRESHOLDS) == Rank("allow", 0.3)


def test_review_order_interleaves_likely_and_uncertain_then_allow():
    ranks = [Rank("allow", 0.4), Rank("likely", 0.9), Rank("likely", 0.95), Rank("likely", 0.9),
             Rank("uncertain", 0.2), Rank("allow", 0.1), Rank("allow", 0.4)]
    # likely by confidence (ties keep queue order), interleaved with uncertain; the longer lane continues.
    assert review_order(ranks) == [2, 4, 1, 3, 0, 6, 5]
    assert review_order([Rank("uncertain", 0.5), Rank("uncertain", 0.7)]) == [1, 0]
    assert review_order([]) == []


def test_queue_comes_back_in_review_order(client, scripted):
    page = client.get("/v1/review/queue", params={"limit": 100}).json()
    assert ids(page) == EXPECTED_ORDER
    assert_review_order(page["items"])
    assert page["total"] == len(SCRIPT) and page["decided"] == 0 and page["model"] == scripted.version
    lanes = {item["id"]: (item["lane"], item["priority"]) for item in page["items"]}
    assert lanes["likely-lex"] == ("likely", 1.0)
    assert lanes["unsure-84"] == ("uncertain", pytest.approx(0.32))
    assert lanes["allow-mid"] == ("allow", pytest.approx(0.30))


def test_queue_items_carry_text_scores_and_evidence(client):
    item = client.get("/v1/review/queue", params={"limit": 1}).json()["items"][0]
    assert item["id"] == "likely-lex" and item["text"] == "tatarmongrilstan again"
    assert item["decision"] == "reject" and item["violations"] == ["identity_attack"]
    assert {"start": 0, "end": 16, "category": "identity_attack", "weight": 1.0, "text": "tatarmongrilstan",
            "source": "lexicon"} in item["spans"]
    assert item["reasons"] and item["article"] is None and item["author"] is None


def test_limit_and_offset_page_through_the_queue(client):
    pages = [client.get("/v1/review/queue", params={"limit": 3, "offset": offset}).json()
             for offset in (0, 3, 6, 9)]
    assert [ids(p) for p in pages] == [EXPECTED_ORDER[0:3], EXPECTED_ORDER[3:6], EXPECTED_ORDER[6:], []]
    assert {p["total"] for p in pages} == {len(SCRIPT)}
    assert [(p["offset"], p["limit"]) for p in pages] == [(0, 3), (3, 3), (6, 3), (9, 3)]
    assert ids(client.get("/v1/review/queue").json()) == EXPECTED_ORDER  # default limit 20


def test_decided_comments_are_left_out(client, tmp_path):
    label = {"comment_id": "unsure-50", "text": "what a week", "labels": {"threat": 0, "profanity": 0},
             "model": None, "note": None}
    stored = client.post("/v1/labels", json=label, headers={"Authorization": "Bearer review-api-token-0123456789"})
    assert stored.status_code == 201, stored.text
    page = client.get("/v1/review/queue", params={"limit": 100}).json()
    assert ids(page) == [i for i in EXPECTED_ORDER if i != "unsure-50"]
    assert (page["total"], page["decided"]) == (len(SCRIPT) - 1, 1)
    # Any feedback file in the directory counts, e.g. last month's.
    with open(tmp_path / "feedback" / "2000-01.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "likely-lex", "text": "tatarmongrilstan again", "source": "feedback"}) + "\n")
    page = client.get("/v1/review/queue", params={"limit": 2}).json()
    assert ids(page) == ["likely-99", "unsure-60"] and page["decided"] == 2


def test_an_unreadable_feedback_line_is_logged_and_skipped(client, tmp_path, caplog):
    (tmp_path / "feedback").mkdir(exist_ok=True)
    (tmp_path / "feedback" / "2000-02.jsonl").write_text('{"id": "you-idiot"\n{"id": "likely-99"}\n')
    with caplog.at_level(logging.WARNING, logger="service"):
        page = client.get("/v1/review/queue", params={"limit": 100}).json()
    assert "likely-99" not in ids(page) and page["decided"] == 1
    assert "2000-02.jsonl:1" in caplog.text


def test_posted_comments_are_scored_and_queued(client):
    response = client.post("/v1/review/queue", json={"comments": [
        {"id": "new-1", "text": "you idiot"}, {"id": "allow-low", "text": "what a week"}]})
    assert response.status_code == 200, response.text
    assert response.json() == {"added": 1, "replaced": 1, "queued": len(SCRIPT) + 1}
    page = client.get("/v1/review/queue", params={"limit": 100}).json()
    by_id = {item["id"]: item for item in page["items"]}
    assert by_id["new-1"]["lane"] == "likely" and by_id["new-1"]["text"] == "you idiot"
    assert by_id["allow-low"]["text"] == "what a week" and by_id["allow-low"]["lane"] == "uncertain"
    # A replaced comment keeps its place in the queue, a new one goes last; ties keep that order.
    assert ids(page)[:5] == ["likely-lex", "allow-low", "likely-99", "unsure-50", "new-1"]


def test_a_new_served_model_rescores_the_queue(client, model):
    flipped = ScriptedModel(model, {"the talks resumed on monday": [0.99, 0.0, 0.0, 0.0]})
    client.app.state.models.swap(flipped)  # what hot reload does
    page = client.get("/v1/review/queue", params={"limit": 100}).json()
    assert page["model"] == flipped.version
    # The word-list hit still rejects first, the newly likely comment follows; everything else is allowed now.
    assert [(i["id"], i["lane"]) for i in page["items"][:2]] == [("likely-lex", "likely"), ("allow-low", "likely")]
    assert {i["lane"] for i in page["items"][2:]} == {"allow"}


def test_the_seed_archive_queues_with_its_archive_fields(tmp_path, model):
    with make_client(tmp_path, model, [ROOT / "seeds"]) as client:
        page = client.get("/v1/review/queue", params={"limit": 100}).json()
    expected = [c for c in iter_comments([ROOT / "seeds"]) if c.text.strip()]
    assert page["total"] == len(expected) > 10
    assert len(page["items"]) == page["total"]
    assert_review_order(page["items"])
    for item in page["items"][:5]:
        source = next(c for c in expected if c.id == item["id"])
        assert (item["text"], item["article"], item["author"]) == (source.text, source.article, source.author)


def test_a_score_output_chooses_the_comments_and_the_input_gives_their_text(tmp_path, model, queue_input):
    subset = write_jsonl(tmp_path / "subset.jsonl", [{"id": i, "text": t} for i, t, *_ in SCRIPT[:3]])
    out = tmp_path / "scored.jsonl"
    score_to_file(model, iter_comments([subset]), out, progress=False)
    comments = load_queue([out, queue_input])
    assert [c.id for c in comments] == ["allow-low", "likely-90", "unsure-84"]
    assert comments[1].text == "this is crap"
    with make_client(tmp_path, model, [queue_input, out]) as client:
        assert client.get("/v1/review/queue").json()["total"] == 3


@pytest.mark.parametrize("problem", ["score output without its input", "missing file"])
def test_start_up_fails_on_an_unusable_queue_source(tmp_path, model, problem):
    if problem == "missing file":
        sources, message = [tmp_path / "nowhere.jsonl"], "no such file"
    else:
        sources, message = [tmp_path / "scored.jsonl"], "MODERATION_QUEUE_INPUT"
        score_to_file(model, iter_comments([write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "hi"}])]),
                      sources[0], progress=False)
    with pytest.raises(ArchiveError, match=message):
        with make_client(tmp_path, model, sources):
            pass


def test_settings_read_the_queue_sources_from_the_environment():
    env = {"MODERATION_MODEL_DIR": "m", "MODERATION_QUEUE_INPUT": "seeds", "MODERATION_QUEUE_FILE": "out.jsonl"}
    assert Settings.from_env(env).queue_files == ("seeds", "out.jsonl")
    assert Settings.from_env({"MODERATION_MODEL_DIR": "m"}).queue_files == ()


# ------------------------------------------------------------------ errors


def assert_error(response, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error
    assert error["message"]


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": -1}, "offset"),
])
def test_bad_paging_is_422_naming_the_parameter(client, params, field):
    assert_error(client.get("/v1/review/queue", params=params), 422, "invalid_value", field)


@pytest.mark.parametrize("body, status, code, field", [
    ({"comments": []}, 422, "empty_batch", "comments"),
    ({"comments": [{"text": "hello"}]}, 422, "missing_field", "comments[0].id"),
    ({"comments": [{"id": "", "text": "hello"}]}, 422, "invalid_value", "comments[0].id"),
    ({"comments": [{"id": "a", "text": "  "}]}, 422, "invalid_text", "comments[0].text"),
    ({"comments": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}, 422, "duplicate_id", "comments[1].id"),
    ({"comments": [{"id": 7, "text": "x"}]}, 422, "invalid_type", "comments[0].id"),
])
def test_bad_posts_are_4xx_naming_the_field(client, body, status, code, field):
    assert_error(client.post("/v1/review/queue", json=body), status, code, field)
    assert client.get("/v1/review/queue").json()["total"] == len(SCRIPT)  # nothing was queued


def test_too_many_or_too_long_comments_are_413(client, model):
    many = {"comments": [{"id": str(i), "text": "x"} for i in range(model.policy.max_batch + 1)]}
    assert_error(client.post("/v1/review/queue", json=many), 413, "batch_too_large", "comments")
    long = {"comments": [{"id": "a", "text": "x" * (model.policy.max_chars + 1)}]}
    assert_error(client.post("/v1/review/queue", json=long), 413, "text_too_long", "comments[0].text")


def test_the_queue_needs_the_api_key_when_keys_are_set(tmp_path, scripted, queue_input):
    with make_client(tmp_path, scripted, [queue_input], api_keys="queue-key") as client:
        assert_error(client.get("/v1/review/queue"), 401, "unauthorized", "X-API-Key")
        assert_error(client.post("/v1/review/queue", json={"comments": [{"id": "a", "text": "x"}]}),
                     401, "unauthorized", "X-API-Key")
        assert client.get("/v1/review/queue", headers={"X-API-Key": "queue-key"}).status_code == 200


def test_an_empty_queue_is_an_empty_page(tmp_path, model):
    with make_client(tmp_path, model) as client:
        page = client.get("/v1/review/queue").json()
    assert (page["items"], page["total"], page["decided"]) == ([], 0, 0)
