"""The HTTP service through FastAPI's TestClient, plus one real uvicorn start on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

from moderation.errors import ModelError
from starlette.requests import Request

from service.app import _well_formed, create_app
from service.dependencies import get_model, get_settings
from service.middleware import BodyLimitMiddleware
from service.settings import Settings, SettingsError
from tests.conftest import counting_app, live_server

ROOT = Path(__file__).resolve().parent.parent
SCORE_KEYS = {"id", "model", "scores", "decision", "violations", "review", "reasons", "spans"}
SPAN_KEYS = {"start", "end", "category", "weight", "text", "source"}


@pytest.fixture(scope="module")
def client(models_dir):
    """The app as `moderation serve` builds it, started (lifespan run) once for the module."""
    app = create_app(Settings(model_dir=str(models_dir)))
    with TestClient(app) as client:
        yield client


def assert_error(response, status: int, code: str, field: str | None) -> dict:
    """A response in the ErrorResponse shape with this status, code and field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message", "field"} <= set(error)
    assert (error["code"], error["field"]) == (code, field), error
    assert error["message"] and "Traceback" not in error["message"]
    return error


# ------------------------------------------------------------------ scoring


def test_score_returns_the_contract_shape(client, model):
    response = client.post("/v1/score", json={"text": "you are an idiot and a disgrace", "id": "c-1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == SCORE_KEYS
    assert body["id"] == "c-1"
    assert body["model"] == model.version
    assert list(body["scores"]) == model.categories
    assert all(0.0 <= p <= 1.0 for p in body["scores"].values())
    assert body["decision"] in {"allow", "review", "reject"}
    assert set(body["violations"]) <= set(model.categories)
    assert set(body["review"]) <= set(model.categories)
    assert all(isinstance(r, str) for r in body["reasons"])
    assert body["spans"] and all(set(s) == SPAN_KEYS for s in body["spans"])


def test_score_agrees_with_the_model(client, model):
    text = "you stupid loser, nobody reads you"
    expected = model.assess([text])[0]
    body = client.post("/v1/score", json={"text": text}).json()
    assert body["id"] is None
    assert body["scores"] == pytest.approx(expected.scores)
    assert body["decision"] == expected.decision.decision
    assert body["violations"] == expected.decision.violations


def test_span_offsets_point_into_the_original_text(client):
    # Upper case, accents, full-width letters and an emoji before the evidence: the offsets must
    # still index the text as sent (Python string indices), not a normalised copy.
    text = "Ｗhat THE fuck 😀 — you stupid   LOSER, é tatarmongrilstan!"
    body = client.post("/v1/score", json={"text": text}).json()
    assert body["spans"]
    for span in body["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(text)
        assert text[span["start"]:span["end"]] == span["text"]
    assert any(s["source"] == "lexicon" and s["text"] == "tatarmongrilstan" for s in body["spans"])


def test_batch_scores_in_order_with_ids(client, model):
    comments = [{"id": "a", "text": "thank you for this balanced article"},
                {"text": "i will kill you and burn your house"},
                {"id": "c", "text": "what the fuck is this shit"}]
    response = client.post("/v1/score/batch", json={"comments": comments})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"model", "results"}
    assert body["model"] == model.version
    assert [r["id"] for r in body["results"]] == ["a", None, "c"]
    assert all(set(r) == SCORE_KEYS for r in body["results"])
    expected = model.assess([c["text"] for c in comments])
    assert [r["decision"] for r in body["results"]] == [a.decision.decision for a in expected]


def test_batch_is_scored_in_one_call(models_dir, model):
    app, calls = counting_app(models_dir, model)
    with TestClient(app) as client:
        response = client.post("/v1/score/batch", json={"comments": [{"text": f"comment {i}"} for i in range(5)]})
    assert response.status_code == 200
    assert calls == [[f"comment {i}" for i in range(5)]]


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_or_blank_text_is_422(client, text):
    error = assert_error(client.post("/v1/score", json={"text": text}), 422, "invalid_text", "text")
    assert "empty" in error["message"]


def test_too_long_text_is_413_naming_the_limit(client, model):
    limit = model.policy.max_chars
    error = assert_error(client.post("/v1/score", json={"text": "a" * (limit + 1)}), 413, "text_too_long", "text")
    assert str(limit) in error["message"]


@pytest.mark.parametrize("value, found", [(42, "number"), (["a", "b"], "array"), ({"t": 1}, "object"),
                                          (None, "null"), (True, "boolean")])
def test_non_string_text_is_422_not_coerced(client, value, found):
    error = assert_error(client.post("/v1/score", json={"text": value}), 422, "invalid_type", "text")
    assert "string" in error["message"] and found in error["message"]


def test_non_string_id_is_422(client):
    assert_error(client.post("/v1/score", json={"text": "hello", "id": 7}), 422, "invalid_type", "id")


def test_missing_text_is_422(client):
    assert_error(client.post("/v1/score", json={"id": "x"}), 422, "missing_field", "text")


def test_unknown_field_is_422(client):
    assert_error(client.post("/v1/score", json={"text": "hello", "junk": 1}), 422, "unknown_field", "junk")


def test_malformed_json_is_400(client):
    response = client.post("/v1/score", content=b'{"text": "unterminated', headers={"Content-Type": "application/json"})
    error = assert_error(response, 400, "malformed_json", "body")
    assert "JSON" in error["message"]


def test_body_that_is_not_an_object_is_422(client):
    response = client.post("/v1/score", content=b'["text"]', headers={"Content-Type": "application/json"})
    assert_error(response, 422, "invalid_type", "body")


def test_empty_body_is_422(client):
    assert_error(client.post("/v1/score"), 422, "missing_field", "body")


def test_body_not_sent_as_json_is_415(client):
    response = client.post("/v1/score", content=b'{"text": "hi"}', headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type", "body")


def test_empty_batch_is_422(client):
    assert_error(client.post("/v1/score/batch", json={"comments": []}), 422, "empty_batch", "comments")


def test_batch_over_the_limit_is_413(client, model):
    limit = model.policy.max_batch
    response = client.post("/v1/score/batch", json={"comments": [{"text": "x"}] * (limit + 1)})
    error = assert_error(response, 413, "batch_too_large", "comments")
    assert str(limit) in error["message"]


def test_batch_item_errors_name_the_item(client):
    ok = [{"text": "fine"}] * 3
    assert_error(client.post("/v1/score/batch", json={"comments": ok + [{"text": " "}]}),
                 422, "invalid_text", "comments[3].text")
    assert_error(client.post("/v1/score/batch", json={"comments": ok + [{"text": 3}]}),
                 422, "invalid_type", "comments[3].text")
    assert_error(client.post("/v1/score/batch", json={"comments": ok + [{"id": "x"}]}),
                 422, "missing_field", "comments[3].text")
    assert_error(client.post("/v1/score/batch", json={"comments": ok + ["just a string"]}),
                 422, "invalid_type", "comments[3]")
    assert_error(client.post("/v1/score/batch", json={"comments": "nope"}), 422, "invalid_type", "comments")


def test_batch_reports_every_bad_item(client):
    response = client.post("/v1/score/batch", json={"comments": [{"text": 1}, {"text": "ok"}, {"txt": "x"}]})
    error = assert_error(response, 422, "invalid_type", "comments[0].text")
    assert {d["field"] for d in error["details"]} == {"comments[0].text", "comments[2].text", "comments[2].txt"}


def test_body_over_the_limit_is_413(model, models_dir):
    app = create_app(Settings(model_dir=str(models_dir), max_body_bytes=4096), model=model)
    with TestClient(app) as client:
        big = {"text": "a" * 5000}
        assert_error(client.post("/v1/score", json=big), 413, "body_too_large", "body")
        # No Content-Length (chunked): the actual size is counted.
        chunks = iter([b'{"text": "', b"a" * 3000, b"a" * 3000, b'"}'])
        response = client.post("/v1/score", content=chunks, headers={"Content-Type": "application/json"})
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "body_too_large", "body")
        assert client.post("/v1/score", json={"text": "a" * 1000}).status_code == 200


def test_body_limit_counts_bytes_beyond_a_false_content_length():
    reached = []

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        reached.append(True)

    messages = [{"type": "http.request", "body": b"x" * 3000, "more_body": True},
                {"type": "http.request", "body": b"x" * 3000, "more_body": False}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/score", "headers": [(b"content-length", b"10")]}
    asyncio.run(BodyLimitMiddleware(app, max_bytes=4096)(scope, receive, send))
    assert not reached
    assert sent[0]["status"] == 413


# ------------------------------------------------------------ other routes


def test_healthz(client, model):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model": model.version}


def test_model_info(client, model):
    response = client.get("/v1/model")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["version"] == model.version
    assert info["categories"] == model.categories
    assert info["thresholds"] == {c: {"reject": t["reject"], "review": t["review"]} for c, t in model.thresholds.items()}
    assert info["limits"] == {"max_chars": model.policy.max_chars, "max_batch": model.policy.max_batch}
    assert info["training_data"]["label_rows"] == model.card["training_data"]["label_rows"]
    assert set(info["metrics"]) == set(model.categories) | {"any_violation"}
    assert info["created"] == model.card["created"]
    assert "scikit-learn" in info["libraries"]


def test_unknown_route_is_404_json(client):
    error = assert_error(client.get("/v2/nothing"), 404, "not_found", None)
    assert "/v2/nothing" in error["message"]
    assert_error(client.get("/static/missing.js"), 404, "not_found", None)


def test_wrong_method_is_405_json(client):
    assert_error(client.get("/v1/score"), 405, "method_not_allowed", None)


def test_docs_and_openapi(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Comment moderation" and spec["info"]["version"]
    assert {"/v1/score", "/v1/score/batch", "/healthz", "/v1/model"} <= set(spec["paths"])
    score = spec["paths"]["/v1/score"]["post"]
    assert score["description"] and "422" in score["responses"] and "413" in score["responses"]
    assert spec["components"]["schemas"]["ScoreRequest"].get("examples")


def test_page_serves_with_its_script_and_styles(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="static/app.js"' in page.text and 'href="static/style.css"' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    # Comment text goes in through textContent and text nodes only, never parsed as HTML.
    assert not re.search(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write", script.text)
    styles = client.get("/static/style.css")
    assert styles.status_code == 200 and styles.headers["content-type"].startswith("text/css")


def test_unexpected_error_is_a_logged_500_without_details(models_dir, model, caplog):
    def broken_assess(texts, explain=True):
        raise RuntimeError("secret internals")

    stub = SimpleNamespace(check_text=model.check_text, assess=broken_assess, version="stub",
                           policy=model.policy)
    app = create_app(Settings(model_dir=str(models_dir)), model=model)
    app.dependency_overrides[get_model] = lambda: stub
    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="service"):
        response = client.post("/v1/score", json={"text": "hello"})
    error = assert_error(response, 500, "internal", None)
    assert "secret" not in response.text
    assert "secret internals" in caplog.text


def test_model_holder_swaps_the_served_model(models_dir, model):
    app = create_app(Settings(model_dir=str(models_dir)), model=model)
    with TestClient(app) as client:
        assert client.get("/healthz").json()["model"] == model.version
        previous = app.state.models.swap(SimpleNamespace(version="next"))
        assert previous is model
        assert client.get("/healthz").json()["model"] == "next"


def test_no_model_before_startup_is_503(models_dir):
    client = TestClient(create_app(Settings(model_dir=str(models_dir))))  # no `with`: lifespan not run
    assert_error(client.get("/healthz"), 503, "model_unavailable", None)


# ------------------------------------------------------------ API keys


@pytest.fixture(scope="module")
def keyed_client(models_dir, model):
    app = create_app(Settings(model_dir=str(models_dir), api_keys={"s3cret-key", "other-key"}), model=model)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("path, body", [("/v1/score", {"text": "hello"}),
                                        ("/v1/score/batch", {"comments": [{"text": "hello"}]})])
def test_api_key_required_wrong_and_right(keyed_client, path, body):
    assert_error(keyed_client.post(path, json=body), 401, "unauthorized", "X-API-Key")
    assert_error(keyed_client.post(path, json=body, headers={"X-API-Key": "wrong"}), 401, "unauthorized", "X-API-Key")
    assert_error(keyed_client.post(path, json=body, params={"key": "s3cret-keyX"}), 401, "unauthorized", "X-API-Key")
    assert keyed_client.post(path, json=body, headers={"X-API-Key": "s3cret-key"}).status_code == 200
    assert keyed_client.post(path, json=body, params={"key": "other-key"}).status_code == 200


def test_healthz_needs_no_key(keyed_client):
    assert keyed_client.get("/healthz").status_code == 200


# ------------------------------------------------------------ the fast path of POST /v1/score

SCORE_REQUESTS = [  # (body bytes, headers, query string): requests the fast path takes, and some it must not
    (b'{"text": "you are an idiot and a disgrace", "id": "c-1"}', {}, ""),
    (b'{"id": null, "text": "Thank you for the balanced report \\u00e9 \\ud83d\\ude00"}', {}, ""),
    (b'{"text": "lone surrogate \\ud800 here"}', {}, ""),
    (b'{"text": "sh1t", "text": "f u c k you"}', {}, ""),  # a repeated field: the last one counts
    (b'{"text": "hello", "id": 7}', {}, ""),
    (b'{"text": "hello", "extra": 1}', {}, ""),
    (b'{"text": "   "}', {}, ""),
    (b'{"id": "x"}', {}, ""),
    (b'["hello"]', {}, ""),
    (b'{"text": "hello"', {}, ""),
    (b'', {}, ""),
    (b'{"text": "hello"}', {"content-type": "text/plain"}, ""),
    (b'{"text": "hello"}', {"content-type": "application/json; charset=utf-8"}, ""),
    (b'{"text": "hello"}', {"X-API-Key": "s3cret-key"}, ""),
    (b'{"text": "hello"}', {"X-API-Key": "wrong"}, ""),
    (b'{"text": "hello"}', {}, "key=other-key"),
    (b'{"text": "hello"}', {"X-API-Key": ""}, "key=s3cret-key"),
    (b'{"text": 1}', {"X-API-Key": "s3cret-key"}, ""),
    (b'{"text": "hello"', {}, "key=other-key"),
]


@pytest.mark.parametrize("keyed", [False, True])
def test_score_fast_path_answers_as_the_declared_handler(models_dir, model, keyed):
    # Any dependency override sends every request through FastAPI's declared handler: with one
    # that changes nothing, the two paths must give the same status and the same bytes.
    settings = Settings(model_dir=str(models_dir), api_keys={"s3cret-key", "other-key"} if keyed else set())
    app = create_app(settings, model=model)
    headers = {"content-type": "application/json"}
    with TestClient(app) as client:
        def answers() -> list[tuple[int, bytes]]:
            return [(r.status_code, r.content) for r in (
                client.post("/v1/score?" + query, content=body, headers=headers | extra)
                for body, extra, query in SCORE_REQUESTS)]

        fast = answers()
        app.dependency_overrides[get_settings] = lambda: settings
        declared = answers()
    assert fast == declared
    assert {status for status, _ in fast} >= ({200, 400, 401, 422} if keyed else {200, 400, 415, 422})


async def _request(app, body: bytes, headers: dict, query: str = "") -> Request:
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/v1/score", "query_string": query.encode(), "app": app,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    return Request(scope, receive)


@pytest.mark.parametrize("body, headers, query, taken", [
    (b'{"text": "hello", "id": "c-1"}', {"content-type": "application/json", "X-API-Key": "other-key"}, "", True),
    (b'{"text": "hello"}', {"content-type": "application/json", "X-API-Key": "s3cret-key"}, "", True),
    (b'{"text": "hello"}', {"content-type": "application/json"}, "key=other-key", True),
    (b'{"text": "hello"}', {"content-type": "application/json"}, "", False),  # no key
    (b'{"text": "hello"}', {"content-type": "application/json", "X-API-Key": "wrong"}, "", False),
    (b'{"text": "hello"}', {"content-type": "text/plain", "X-API-Key": "s3cret-key"}, "", False),
    (b'{"text": ""}', {"content-type": "application/json", "X-API-Key": "s3cret-key"}, "", False),
    (b'{"text": 1}', {"content-type": "application/json", "X-API-Key": "s3cret-key"}, "", False),
    (b'{"text": "a", "id": 1}', {"content-type": "application/json", "X-API-Key": "s3cret-key"}, "", False),
    (b'{"text": "a", "b": 1}', {"content-type": "application/json", "X-API-Key": "s3cret-key"}, "", False),
    (b'{"text": "a"', {"content-type": "application/json", "X-API-Key": "s3cret-key"}, "", False),
])
def test_score_fast_path_takes_only_requests_the_declared_handler_would_score(keyed_client, body, headers,
                                                                              query, taken):
    ready = asyncio.run(_well_formed(asyncio.run(_request(keyed_client.app, body, headers, query))))
    assert (ready is not None) == taken
    if taken:
        comment_id, model, text = ready
        assert model is keyed_client.app.state.models.model and text == "hello"


def test_score_fast_path_is_not_taken_without_a_model(models_dir):
    app = create_app(Settings(model_dir=str(models_dir)))  # lifespan not run: no model
    request = asyncio.run(_request(app, b'{"text": "hello"}', {"content-type": "application/json"}))
    assert asyncio.run(_well_formed(request)) is None


# ------------------------------------------------------------ settings and start-up


def test_settings_from_env():
    env = {"MODERATION_MODEL_DIR": "/m", "MODERATION_API_KEYS": " a1, b2 ,,", "MODERATION_MAX_BODY_BYTES": "65536"}
    settings = Settings.from_env(env)
    assert settings == Settings(model_dir="/m", api_keys=frozenset({"a1", "b2"}), max_body_bytes=65536)
    assert Settings.from_env(env, model_dir="/other").model_dir == "/other"
    assert Settings.from_env({"MODERATION_MODEL_DIR": "/m"}).api_keys == frozenset()
    assert Settings.from_env({"MODERATION_MODEL_DIR": "/m"}).max_body_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize("env, overrides, names", [
    ({}, {}, "MODERATION_MODEL_DIR"),
    ({"MODERATION_MODEL_DIR": "/m", "MODERATION_MAX_BODY_BYTES": "lots"}, {}, "MODERATION_MAX_BODY_BYTES"),
    ({"MODERATION_MODEL_DIR": "/m"}, {"max_body_bytes": 0}, "max_body_bytes"),
    ({"MODERATION_MODEL_DIR": "/m", "MODERATION_API_KEYS": "has space"}, {}, "api_keys"),
    ({}, {"model_dir": "  "}, "model_dir"),
])
def test_settings_errors_name_the_setting(env, overrides, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env, **overrides)


def test_startup_fails_on_a_missing_model_dir(tmp_path):
    missing = tmp_path / "no-models-here"
    with pytest.raises(ModelError, match=re.escape(str(missing))):
        with TestClient(create_app(Settings(model_dir=str(missing)))):
            pass


def test_startup_fails_on_a_corrupt_model(tmp_path, models_dir):
    copy = tmp_path / "model"
    shutil.copytree(models_dir / "current", copy)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelError, match="checksum"):
        with TestClient(create_app(Settings(model_dir=str(copy)))):
            pass


# ------------------------------------------------------------ a real server


def test_real_uvicorn_server(models_dir):
    with live_server(models_dir, MODERATION_API_KEYS="live-key") as server:
        base = server.base
        health = httpx.get(f"{base}/healthz", timeout=2)
        assert health.json()["status"] == "ok"
        response = httpx.post(f"{base}/v1/score", json={"text": "you are an idiot", "id": "live"},
                              headers={"X-API-Key": "live-key"}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == "live" and response.json()["decision"] in {"allow", "review", "reject"}
        assert httpx.post(f"{base}/v1/score", json={"text": "x"}, timeout=30).status_code == 401
    assert server.shut_down_on_sigint, f"server did not shut down on SIGINT:\n{server.output}"
    assert server.returncode == 0, server.output
    assert "Traceback" not in server.output, server.output
