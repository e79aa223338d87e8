"""Moderators' feedback: label rows, durable concurrent appends, torn-tail repair, and `POST /v1/labels`."""

from __future__ import annotations

import hmac
import json
import logging
import multiprocessing
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moderation import feedback
from moderation.feedback import FeedbackError, append_line, append_record, build_record, encode_record
from moderation.labels import check_labels, load_labels
from service.app import create_app
from service.settings import ModeratorToken, Settings, SettingsError

MARIA = "maria-token-0123456789"
ANON = "anonymous-token-0123456789"
OTHER = "other-token-0123456789ab"
TOKENS = f"maria:{MARIA},{ANON},{OTHER}"
WHEN = datetime(2026, 11, 23, 9, 15, 2, 123456, tzinfo=timezone.utc)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read_lines(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1]]


# ------------------------------------------------------------ the label row


def test_record_is_a_label_row(policy):
    row = build_record(policy, comment_id="c-1", text="You idiot 🙂", labels={"personal_attack": 1, "threat": 0},
                       annotator="maria", model="v1", note=None, when=WHEN)
    assert row == {"id": "c-1", "text": "You idiot 🙂", "profanity": None, "personal_attack": 1,
                   "identity_attack": None, "threat": 0, "source": "feedback", "annotator": "maria", "note": "",
                   "time": "2026-11-23T09:15:02.123456Z", "model": "v1"}
    line = encode_record(row)
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and "🙂".encode() in line


def test_newlines_in_text_stay_inside_one_line(policy):
    row = build_record(policy, comment_id="c-2", text="line one\nline two\r\n\u2028end", labels={"profanity": 0},
                       annotator="maria")
    line = encode_record(row)
    assert line.count(b"\n") == 1
    assert json.loads(line)["text"] == "line one\nline two\r\n\u2028end"


@pytest.mark.parametrize("kwargs, field", [
    ({"labels": {"toxic": 1}}, "labels.toxic"),
    ({"labels": {"threat": 2}}, "labels.threat"),
    ({"labels": {"threat": True}}, "labels.threat"),
    ({"labels": {"threat": None}}, "labels"),
    ({"labels": {}}, "labels"),
    ({"text": "   "}, "text"),
    ({"text": "x" * 20001}, "text"),
    ({"text": "bad \ud800 surrogate"}, "text"),
    ({"comment_id": " "}, "comment_id"),
    ({"annotator": ""}, "moderator"),
])
def test_unusable_decisions_name_the_field(policy, kwargs, field):
    args = {"comment_id": "c-1", "text": "hello", "labels": {"profanity": 0}, "annotator": "maria", **kwargs}
    with pytest.raises(FeedbackError) as info:
        build_record(policy, **args)
    assert info.value.field == field


def test_file_per_month_and_loadable(policy, tmp_path):
    first = build_record(policy, comment_id="c-1", text="You idiot", labels={"personal_attack": 1},
                         annotator="maria", when=WHEN)
    path = append_record(tmp_path / "feedback", first)
    assert path == tmp_path / "feedback" / "2026-11.jsonl"
    december = build_record(policy, comment_id="c-2", text="Thanks", labels={"personal_attack": 0},
                            annotator="maria", when=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert append_record(tmp_path / "feedback", december).name == "2026-12.jsonl"
    assert check_labels([tmp_path / "feedback"], policy) == (2, [])


def test_a_later_decision_supersedes_the_earlier_one(policy, tmp_path):
    for when, value in ((WHEN, 1), (WHEN.replace(microsecond=123457), 0)):
        append_record(tmp_path, build_record(policy, comment_id="c-1", text="You  idiot", labels={"profanity": value},
                                             annotator="maria", when=when))
    labels = load_labels([tmp_path], policy)
    assert len(labels) == 1 and labels.values[0, 0] == 0


# ------------------------------------------------------------ concurrent, durable appends


def _text(writer: str, i: int) -> str:
    """A few hundred bytes to a few KB of mixed scripts, unique per (writer, i)."""
    chunk = "Ünïcödé — Ελληνικά, Հայերեն, 中文, emoji 🙂🚀, \"quotes\" and \\ backslashes. "
    return f"{writer}/{i}: " + chunk * (2 + (i * 7919) % 40)


def _write_many(path: str, policy_path: str, writer: str, count: int) -> None:
    from moderation.policy import Policy

    policy = Policy.load(policy_path)
    for i in range(count):
        row = build_record(policy, comment_id=f"{writer}-{i}", text=_text(writer, i),
                           labels={"profanity": i % 2, "threat": 0}, annotator=writer, note=f"n{i}")
        append_line(path, encode_record(row))


def test_concurrent_appends_from_threads_and_processes(policy, tmp_path):
    from tests.conftest import POLICY_PATH

    path = tmp_path / "feedback" / "2026-11.jsonl"
    per_writer = 500
    threads = [f"thread{k}" for k in range(4)]
    processes = [f"process{k}" for k in range(3)]
    # Fork the processes before any thread of ours starts, then let all seven write at once.
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_write_many, args=(str(path), str(POLICY_PATH), w, per_writer))
             for w in processes]
    for p in procs:
        p.start()
    errors: list[BaseException] = []

    def run(writer: str) -> None:
        try:
            _write_many(str(path), str(POLICY_PATH), writer, per_writer)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(w,)) for w in threads]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    assert not errors

    rows = read_lines(path)  # every line is valid JSON; the file ends with a newline
    assert len(rows) == per_writer * 7
    ids = [r["id"] for r in rows]
    expected = {f"{w}-{i}" for w in threads + processes for i in range(per_writer)}
    assert len(set(ids)) == len(ids) and set(ids) == expected
    for r in rows:
        writer, i = r["id"].rsplit("-", 1)
        assert r["text"] == _text(writer, int(i))
        assert r["source"] == "feedback" and r["annotator"] == writer
        assert set(r) == {"id", "text", *policy.names, "source", "annotator", "note", "time", "model"}
    sizes = [len(encode_record(r)) for r in rows]
    assert min(sizes) < 600 and max(sizes) > 3000
    # Each writer's own lines keep their order.
    for w in threads + processes:
        mine = [int(r["id"].rsplit("-", 1)[1]) for r in rows if r["annotator"] == w]
        assert mine == sorted(mine)
    labels = load_labels([path.parent], policy)
    assert len(labels) == per_writer * 7


def test_torn_last_line_is_truncated_and_kept_aside(policy, tmp_path, caplog):
    path = tmp_path / "2026-11.jsonl"
    for i in range(3):
        append_line(path, encode_record(build_record(policy, comment_id=f"c-{i}", text=f"text {i} é",
                                                     labels={"threat": 0}, annotator="maria")))
    intact = path.read_bytes()
    fragment = encode_record(build_record(policy, comment_id="torn", text="cut short 🙂", labels={"threat": 1},
                                          annotator="maria"))[:-9]
    with open(path, "ab") as fh:  # what a crash in the middle of a write leaves behind
        fh.write(fragment)
    caplog.set_level(logging.WARNING, logger="moderation.feedback")
    new = encode_record(build_record(policy, comment_id="c-3", text="after the crash", labels={"threat": 0},
                                     annotator="maria"))
    append_line(path, new)
    assert path.read_bytes() == intact + new  # earlier lines untouched, fragment gone
    assert (tmp_path / "2026-11.jsonl.torn").read_bytes() == fragment + b"\n"
    assert "torn" in caplog.text
    assert check_labels([tmp_path], policy) == (4, [])  # the .torn file is not a label file


def test_a_complete_line_that_lost_only_its_newline_is_kept(policy, tmp_path):
    path = tmp_path / "2026-11.jsonl"
    first = encode_record(build_record(policy, comment_id="c-1", text="one", labels={"threat": 0}, annotator="m"))
    path.write_bytes(first[:-1])
    second = encode_record(build_record(policy, comment_id="c-2", text="two", labels={"threat": 0}, annotator="m"))
    append_line(path, second)
    assert path.read_bytes() == first + second
    assert not (tmp_path / "2026-11.jsonl.torn").exists()


def test_a_file_that_is_all_fragment_is_emptied_first(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"id": "half')
    append_line(path, b'{"id": "whole"}\n')
    assert path.read_bytes() == b'{"id": "whole"}\n'


def test_a_short_write_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "f.jsonl"
    append_line(path, b'{"id": "a"}\n')
    real_write = os.write
    monkeypatch.setattr(feedback.os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    with pytest.raises(OSError, match="short write"):
        append_line(path, b'{"id": "b", "text": "long enough to be cut"}\n')
    assert path.read_bytes() == b'{"id": "a"}\n'


def test_append_line_takes_exactly_one_line(tmp_path):
    for bad in (b'{"a": 1}', b'{"a": 1}\n{"b": 2}\n'):
        with pytest.raises(ValueError):
            append_line(tmp_path / "f.jsonl", bad)


# ------------------------------------------------------------ POST /v1/labels


@pytest.fixture()
def feedback_dir(tmp_path) -> Path:
    return tmp_path / "labels" / "feedback"


@pytest.fixture()
def client(models_dir, model, feedback_dir):
    settings = Settings(model_dir=str(models_dir), feedback_dir=str(feedback_dir), moderator_tokens=TOKENS)
    with TestClient(create_app(settings, model=model)) as client:
        yield client


DECISION = {"comment_id": "c-1042", "text": "You are a disgrace and a senseless thief. ✊",
            "labels": {"profanity": 0, "personal_attack": 1, "identity_attack": None},
            "moderator": "maria", "model": "20260101-120000-ab12", "note": "aimed at another reader"}


def assert_error(response, status: int, code: str, field: str | None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error
    return error


def test_label_is_stored_as_a_label_row(client, feedback_dir, policy):
    response = client.post("/v1/labels", json=DECISION, headers=bearer(MARIA))
    assert response.status_code == 201, response.text
    body = response.json()
    month = body["time"][:7]
    assert body["stored"] == str(feedback_dir / f"{month}.jsonl")
    assert body["moderator"] == "maria"
    (row,) = read_lines(Path(body["stored"]))
    assert row == {"id": "c-1042", "text": DECISION["text"], "profanity": 0, "personal_attack": 1,
                   "identity_attack": None, "threat": None, "source": "feedback", "annotator": "maria",
                   "note": "aimed at another reader", "time": body["time"], "model": "20260101-120000-ab12"}
    assert datetime.fromisoformat(body["time"].replace("Z", "+00:00")).tzinfo is not None
    assert check_labels([feedback_dir], policy) == (1, [])


def test_named_token_records_its_name(client, feedback_dir):
    decision = {k: v for k, v in DECISION.items() if k != "moderator"}
    response = client.post("/v1/labels", json=decision, headers=bearer(MARIA))
    assert response.status_code == 201 and response.json()["moderator"] == "maria"
    assert_error(client.post("/v1/labels", json={**DECISION, "moderator": "boris"}, headers=bearer(MARIA)),
                 403, "forbidden", "moderator")


def test_unnamed_token_needs_a_moderator(client):
    decision = {k: v for k, v in DECISION.items() if k != "moderator"}
    assert_error(client.post("/v1/labels", json=decision, headers=bearer(ANON)), 422, "missing_field", "moderator")
    response = client.post("/v1/labels", json={**DECISION, "moderator": "boris"}, headers=bearer(ANON))
    assert response.status_code == 201 and response.json()["moderator"] == "boris"


@pytest.mark.parametrize("change, status, code, field", [
    ({"labels": {"toxic": 1}}, 422, "unknown_field", "labels.toxic"),
    ({"labels": {"threat": 2}}, 422, "invalid_value", "labels.threat"),
    ({"labels": {"threat": "1"}}, 422, "invalid_type", "labels.threat"),
    ({"labels": {}}, 422, "invalid_value", "labels"),
    ({"labels": {"threat": None}}, 422, "invalid_value", "labels"),
    ({"text": ""}, 422, "invalid_text", "text"),
    ({"text": "x" * 20001}, 413, "text_too_long", "text"),
    ({"comment_id": ""}, 422, "invalid_value", "comment_id"),
    ({"extra": 1}, 422, "unknown_field", "extra"),
])
def test_bad_decisions_are_refused_and_nothing_is_written(client, feedback_dir, change, status, code, field):
    assert_error(client.post("/v1/labels", json={**DECISION, **change}, headers=bearer(MARIA)), status, code, field)
    assert not list(feedback_dir.glob("*.jsonl"))


def test_token_missing_wrong_and_right(client, feedback_dir):
    error = assert_error(client.post("/v1/labels", json=DECISION), 401, "unauthorized", "Authorization")
    assert "Bearer" in error["message"]
    for headers in (bearer("wrong-token-0123456789"), bearer(MARIA + "x"), {"Authorization": MARIA},
                    {"Authorization": f"Basic {MARIA}"}, {"X-API-Key": MARIA}):
        response = client.post("/v1/labels", json=DECISION, headers=headers)
        assert_error(response, 401, "unauthorized", "Authorization")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert not list(feedback_dir.glob("*.jsonl"))
    assert client.post("/v1/labels", json=DECISION, headers=bearer(OTHER)).status_code == 201
    assert client.post("/v1/labels", json=DECISION, headers={"Authorization": f"bearer {MARIA}"}).status_code == 201


def test_every_token_is_compared_in_constant_time(client, monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    for token, status in ((MARIA, 201), ("wrong-token-0123456789", 401)):
        calls.clear()
        assert client.post("/v1/labels", json=DECISION, headers=bearer(token)).status_code == status
        assert len(calls) == 3  # one per configured token, no early exit
        assert {b for _, b in calls} == {MARIA.encode(), ANON.encode(), OTHER.encode()}


def test_no_token_configured_disables_feedback_not_scoring(models_dir, model, feedback_dir):
    settings = Settings(model_dir=str(models_dir), feedback_dir=str(feedback_dir))
    with TestClient(create_app(settings, model=model)) as client:
        error = assert_error(client.post("/v1/labels", json=DECISION, headers=bearer(MARIA)),
                             503, "feedback_disabled", None)
        assert error["message"] == "feedback is disabled: no moderator token configured"
        suggest = client.post("/v1alpha1/comments:suggestscore", headers=bearer(MARIA), json={
            "comment": {"text": "hello"}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.0}}}})
        assert suggest.status_code == 503 and suggest.json()["error"]["status"] == "UNAVAILABLE"
        assert client.post("/v1/score", json={"text": "hello"}).status_code == 200
    assert not feedback_dir.exists()


def test_suggestscore_writes_a_line(client, feedback_dir, policy):
    response = client.post("/v1alpha1/comments:suggestscore", headers=bearer(MARIA), json={
        "comment": {"text": "You stupid loser"}, "attributeScores": {"INSULT": {"summaryScore": {"value": 0.9}}},
        "clientToken": "tok-1", "communityId": "asbarez"})
    assert response.status_code == 200 and response.json() == {"clientToken": "tok-1"}
    (path,) = feedback_dir.glob("*.jsonl")
    (row,) = read_lines(path)
    assert row["annotator"] == "maria" and row["personal_attack"] == 1 and row["profanity"] is None
    assert row["id"].startswith("perspective:text-") and "asbarez" in row["note"]
    assert check_labels([feedback_dir], policy) == (1, [])


def test_startup_fails_when_the_feedback_dir_cannot_be_created(models_dir, model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = Settings(model_dir=str(models_dir), feedback_dir=str(blocker / "feedback"), moderator_tokens=TOKENS)
    with pytest.raises(SettingsError, match="feedback_dir"):
        with TestClient(create_app(settings, model=model)):
            pass


# ------------------------------------------------------------ settings


def test_moderator_tokens_from_env():
    env = {"MODERATION_MODEL_DIR": "/m", "MODERATION_MODERATOR_TOKENS": f" maria:{MARIA} , {ANON},,",
           "MODERATION_FEEDBACK_DIR": "/srv/feedback"}
    settings = Settings.from_env(env)
    assert settings.moderator_tokens == frozenset({ModeratorToken("maria", MARIA), ModeratorToken(None, ANON)})
    assert settings.feedback_dir == "/srv/feedback"
    assert MARIA not in repr(settings) and ANON not in repr(settings)
    defaults = Settings.from_env({"MODERATION_MODEL_DIR": "/m"})
    assert defaults.moderator_tokens == frozenset() and defaults.feedback_dir == "labels/feedback"


@pytest.mark.parametrize("tokens, api_keys, match", [
    ("short", "", "at least 16"),
    ("maria:", "", "printable ASCII"),
    (f"bad name:{MARIA}", "", "name"),
    (f"has space {MARIA}", "", "printable ASCII"),
    (f"a:{MARIA},b:{MARIA}", "", "two names"),
    (MARIA, MARIA, "also an API key"),
])
def test_bad_moderator_tokens_fail_at_start_up(tokens, api_keys, match):
    with pytest.raises(SettingsError, match=match):
        Settings(model_dir="/m", moderator_tokens=tokens, api_keys=api_keys)
