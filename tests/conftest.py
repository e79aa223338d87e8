"""Shared fixtures: the repository's policy and one small model trained once per session."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from moderation.labels import load_labels
from moderation.model import Model, load_model
from moderation.policy import Policy
from moderation.training import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent
POLICY_PATH = ROOT / "labels" / "policy.toml"
CATEGORIES = ["profanity", "personal_attack", "identity_attack", "threat"]

# (text, profanity, personal_attack, identity_attack, threat): a tiny but learnable corpus.
TINY = [
    ("what the fuck is this shit", 1, 0, 0, 0),
    ("this is fucking ridiculous", 1, 0, 0, 0),
    ("holy shit that is a lot of oil", 1, 0, 0, 0),
    ("damn crap and bullshit everywhere", 1, 0, 0, 0),
    ("you are an idiot and a disgrace", 0, 1, 0, 0),
    ("you stupid loser, nobody reads you", 0, 1, 0, 0),
    ("he is a senseless thief and a moron", 0, 1, 0, 0),
    ("what an idiot, shut up you fool", 0, 1, 0, 0),
    ("these barbaric people have no identity", 0, 0, 1, 0),
    ("go back to mongolia you filthy tribe", 0, 0, 1, 0),
    ("that whole race is subhuman vermin", 0, 0, 1, 0),
    ("those people are savages, all of them", 0, 0, 1, 0),
    ("i will kill you and burn your house", 0, 0, 0, 1),
    ("we will hunt him down and hang him", 0, 0, 0, 1),
    ("someone should shoot him in the head", 0, 0, 0, 1),
    ("you will die soon, watch your back", 0, 0, 0, 1),
    ("the talks in vienna resumed on monday", 0, 0, 0, 0),
    ("armenia and azerbaijan discussed the border", 0, 0, 0, 0),
    ("the minister said progress was slow", 0, 0, 0, 0),
    ("i disagree with the government policy on oil", 0, 0, 0, 0),
    ("my neighbours are azerbaijani and very kind", 0, 0, 0, 0),
    ("i am a proud armenian and love my country", 0, 0, 0, 0),
    ("turkish coffee is the best in the world", 0, 0, 0, 0),
    ("the peace process needs international support", 0, 0, 0, 0),
    ("thank you for this balanced article", 0, 0, 0, 0),
    ("the referendum should decide the status", 0, 0, 0, 0),
    ("the president visited istanbul on wednesday", 0, 0, 0, 0),
    ("great reporting, keep it up", 0, 0, 0, 0),
]


def write_label_csv(path: Path, rows: list[tuple], source: str = "outlet") -> Path:
    """Write rows of TINY's shape as a label file in the documented CSV schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", *CATEGORIES, "source", "annotator", "note"])
        for i, (text, *values) in enumerate(rows, start=1):
            writer.writerow([f"t{i}", text, *values, source, "", ""])
    return path


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The repository's policy."""
    return Policy.load(POLICY_PATH)


@pytest.fixture(scope="session")
def tiny_labels_dir(tmp_path_factory) -> Path:
    """A labels directory holding the tiny corpus (three copies in different wordings of the source)."""
    root = tmp_path_factory.mktemp("labels")
    write_label_csv(root / "outlet" / "tiny.csv", TINY)
    return root


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory, tiny_labels_dir, policy) -> Path:
    """A models directory with one trained, saved, current model."""
    out = tmp_path_factory.mktemp("models")
    labels = load_labels([tiny_labels_dir], policy)
    config = TrainConfig(folds=2, n_jobs=1, alpha=1e-4)
    model = train(labels, policy, POLICY_PATH.read_text(encoding="utf-8"), config)
    model.save(out)
    return out


@pytest.fixture(scope="session")
def model(models_dir) -> Model:
    """The session's trained model, loaded back from disk (checksums verified)."""
    return load_model(models_dir / "current")


class LiveServer:
    """A `moderation serve` subprocess: its base URL, then (after the block) its output and exit code."""

    def __init__(self, base: str, proc) -> None:
        self.base = base
        self.proc = proc
        self.output = ""
        self.returncode: int | None = None
        self.shut_down_on_sigint = True


@contextlib.contextmanager
def live_server(models_dir: Path, **env: str) -> Iterator[LiveServer]:
    """Start `moderation serve` on a free 127.0.0.1 port with `env` (and no other MODERATION_* variable),
    wait up to 60 s for /healthz, yield it, then stop it with SIGINT (killed after 20 s)."""
    import httpx

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    environ.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moderation.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--model", str(models_dir)],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited early:\n{proc.stdout.read()}"
            try:
                if httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not answer /healthz within 60 s"
            time.sleep(0.2)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            server.output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            server.output, _ = proc.communicate()
            server.shut_down_on_sigint = False
        server.returncode = proc.returncode


def counting_app(models_dir: Path, model) -> tuple[object, list[list[str]]]:
    """The service on `model`, with every `Model.assess` call's texts recorded in the returned list."""
    from service.app import create_app
    from service.dependencies import get_model
    from service.settings import Settings

    calls: list[list[str]] = []

    class Counting:
        def __getattr__(self, name):
            return getattr(model, name)

        def assess(self, texts, explain=True):
            calls.append(list(texts))
            return model.assess(texts, explain)

    app = create_app(Settings(model_dir=str(models_dir)), model=model)
    app.dependency_overrides[get_model] = Counting
    return app, calls
