"""Hot reload: the service follows `models/current` without a restart and without failing a request."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from moderation.model import load_model, point_current
from service.app import create_app
from service.settings import Settings, SettingsError

TEXT = {"text": "you stupid loser, nobody reads you"}


@pytest.fixture
def versions(tmp_path, models_dir) -> Path:
    """A models directory holding the session model twice, as versions "a" (current) and "b"."""
    out = tmp_path / "models"
    for name in ("a", "b"):
        load_model(models_dir / "current").save(out, version=name, make_current=name == "a")
    return out


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Run `app` on a real uvicorn server in a thread, on a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started, 30), "the server did not start within 30 s"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_new_current_is_picked_up_under_load_without_a_failed_request(versions):
    app = create_app(Settings(model_dir=str(versions), reload_interval=0.1))
    results: list[tuple[int, float, float, int | None, str]] = []  # thread, start, end, status, model or error
    stop = threading.Event()

    def hammer(worker: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                start = time.monotonic()
                try:
                    response = client.post("/v1/score", json=TEXT)
                    body = response.json()["model"] if response.status_code == 200 else response.text
                    results.append((worker, start, time.monotonic(), response.status_code, body))
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    results.append((worker, start, time.monotonic(), None, repr(exc)))

    with serving(app) as base:
        threads = [threading.Thread(target=hammer, args=(w, base)) for w in range(4)]
        for thread in threads:
            thread.start()
        try:
            assert wait_for(lambda: {r[0] for r in results if r[4] == "a"} == {0, 1, 2, 3}, 30)
            repointed = time.monotonic()
            point_current(versions, "b")
            switched = wait_for(lambda: all(any(r[0] == w and r[4] == "b" for r in results) for w in range(4)), 15)
            time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert switched, "not every client saw version b within 15 s"
        health = httpx.get(f"{base}/healthz").json()
        info = httpx.get(f"{base}/v1/model").json()

    failures = [r for r in results if r[3] != 200]
    assert not failures, failures[:5]
    assert {r[4] for r in results} == {"a", "b"}
    first_b = min(r[2] for r in results if r[4] == "b")
    assert first_b - repointed < 10, "the switch took longer than 10 s"
    # Before the repoint only a; once any client got b, every request started later gets b.
    assert all(r[4] == "a" for r in results if r[2] < repointed)
    assert all(r[4] == "b" for r in results if r[1] > first_b)
    for worker in range(4):  # each client sees a … a b … b, never back
        seen = [r[4] for r in sorted(results, key=lambda r: r[1]) if r[0] == worker]
        assert seen == sorted(seen), seen
    assert health == {"status": "ok", "model": "b"}
    assert info["version"] == "b"


def test_a_version_that_fails_to_load_is_logged_once_and_the_old_model_keeps_serving(versions, caplog):
    broken = versions / "broken"
    shutil.copytree(versions / "a", broken)
    with open(broken / "model.joblib", "ab") as fh:
        fh.write(b"tampered")
    app = create_app(Settings(model_dir=str(versions / "current"), reload_interval=0.05))
    with caplog.at_level(logging.INFO, logger="service"), TestClient(app) as client:
        assert client.get("/healthz").json()["model"] == "a"
        point_current(versions, "broken")
        assert wait_for(lambda: any("hot reload failed" in r.getMessage() for r in caplog.records), 10)
        time.sleep(0.3)  # several more polls: no retry of the same broken version, no second log line
        response = client.post("/v1/score", json=TEXT)
        assert response.status_code == 200 and response.json()["model"] == "a"
        failures = [r.getMessage() for r in caplog.records if "hot reload failed" in r.getMessage()]
        assert len(failures) == 1 and "still serving model a" in failures[0] and "checksum" in failures[0]

        point_current(versions, "b")
        assert wait_for(lambda: client.get("/healthz").json()["model"] == "b", 10)
        assert client.get("/v1/model").json()["version"] == "b"
        assert any("now serving model b" in r.getMessage() for r in caplog.records)


def test_reload_interval_zero_disables_hot_reload(versions):
    app = create_app(Settings(model_dir=str(versions), reload_interval=0))
    with TestClient(app) as client:
        point_current(versions, "b")
        time.sleep(0.3)
        assert client.get("/healthz").json()["model"] == "a"


def test_reload_interval_is_validated():
    assert Settings(model_dir="models").reload_interval == 5.0
    assert Settings.from_env({"MODERATION_MODEL_DIR": "m", "MODERATION_RELOAD_INTERVAL": "0"}).reload_interval == 0
    with pytest.raises(SettingsError, match="reload_interval"):
        Settings(model_dir="models", reload_interval=-1)
    with pytest.raises(SettingsError, match="MODERATION_RELOAD_INTERVAL"):
        Settings.from_env({"MODERATION_MODEL_DIR": "m", "MODERATION_RELOAD_INTERVAL": "soon"})
