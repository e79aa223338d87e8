"""The `moderation` command: every command has help; errors become messages and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderation.cli import build_parser, main
from tests.conftest import POLICY_PATH, write_label_csv, TINY

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [["train"], ["score"], ["evaluate"], ["serve"], ["labels"], ["labels", "check"], ["labels", "import"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: moderation" in out
    if command != ["labels"]:
        assert "example: moderation" in out


def test_parser_lists_all_commands():
    text = build_parser().format_help()
    for name in ("train", "score", "evaluate", "serve", "labels"):
        assert name in text


def test_train_score_evaluate_end_to_end(tmp_path, capsys):
    labels = tmp_path / "labels"
    write_label_csv(labels / "outlet" / "tiny.csv", TINY)
    models = tmp_path / "models"
    policy = ["--policy", str(POLICY_PATH)]
    assert main([*policy, "train", "--labels", str(labels), "--out", str(models), "--folds", "2", "--jobs", "1"]) == 0
    assert (models / "current" / "card.json").is_file()
    out = tmp_path / "scores.jsonl"
    assert main([*policy, "score", str(ROOT / "seeds"), "--out", str(out), "--model", str(models),
                 "--workers", "1", "--quiet"]) == 0
    assert len(out.read_text().splitlines()) == 49
    assert "scored 48 of 49" in capsys.readouterr().out
    reports = tmp_path / "reports"
    assert main([*policy, "evaluate", "--labels", str(labels), "--out", str(reports), "--folds", "2",
                 "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "ROC-AUC" in printed and "personal_attack" in printed
    report = json.loads((reports / "evaluation.json").read_text())
    assert set(report["metrics"]) == {"profanity", "personal_attack", "identity_attack", "threat", "any_violation"}
    assert sorted(p.name for p in reports.glob("*.png")) == [
        "pr_identity_attack.png", "pr_personal_attack.png", "pr_profanity.png", "pr_threat.png"]


def test_errors_are_messages_with_exit_code_1(tmp_path, capsys):
    assert main(["--policy", str(POLICY_PATH), "score", str(ROOT / "seeds"), "--out", str(tmp_path / "s.jsonl"),
                 "--model", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nothing" in err and "moderation train" in err
    assert not (tmp_path / "s.jsonl").exists()

    assert main(["--policy", str(tmp_path / "missing.toml"), "labels", "check"]) == 1
    assert "missing.toml: policy file not found" in capsys.readouterr().err

    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,threat,source\na,hi,7,outlet\n", encoding="utf-8")
    assert main(["--policy", str(POLICY_PATH), "labels", "check", str(bad)]) == 1
    assert f"{bad}:2: threat: value '7'" in capsys.readouterr().err


def test_labels_check_passes_on_the_shipped_labels(capsys):
    assert main(["--policy", str(POLICY_PATH), "labels", "check", str(ROOT / "labels")]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_module_runs_as_a_command():
    done = subprocess.run([sys.executable, "-m", "moderation.cli", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0 and "train" in done.stdout


def test_score_starts_up_with_the_cycle_collector_paused_then_frozen(tmp_path, models_dir, monkeypatch, capsys):
    """`moderation score` loads the model with the cyclic collector paused and freezes what the
    start-up allocated (numba's modules, the kernels), so that neither the collections of the run
    nor the interpreter's exit walk it; the scoring itself runs with the collector on."""
    import gc

    import moderation.batch
    import moderation.model

    enabled = {}

    def spy(name, real):
        def call(*args, **kwargs):
            enabled[name] = gc.isenabled()
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(moderation.model, "load_model", spy("load_model", moderation.model.load_model))
    monkeypatch.setattr(moderation.batch, "score_files", spy("score_files", moderation.batch.score_files))
    gc.unfreeze()
    try:
        assert main(["score", str(ROOT / "seeds"), "--out", str(tmp_path / "s.jsonl"), "--model", str(models_dir),
                     "--workers", "1", "--quiet"]) == 0
        assert enabled == {"load_model": False, "score_files": True}
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert "scored 48 of 49" in capsys.readouterr().out
