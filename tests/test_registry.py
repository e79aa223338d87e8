"""Safe retraining: the promotion gate, `moderation models`, `moderation rollback` and the history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from moderation.cli import main
from moderation.registry import (
    HELD_OUT,
    HISTORY,
    MIN_POSITIVES,
    Gate,
    compare,
    current_version,
    list_versions,
    promoted_stack,
)
from moderation.training import evaluation_key, evaluation_split
from tests.conftest import POLICY_PATH, TINY, write_label_csv

POLICY = ["--policy", str(POLICY_PATH)]
FAST = ["--folds", "2", "--jobs", "1"]


def corpus(n_per_class: int = 120, seed: int = 0) -> list[tuple]:
    """Learnable rows in TINY's shape: every comment starts differently, so the split hashes each one."""
    rng = np.random.default_rng(seed)
    cues = {1: ["fuck", "shit", "bullshit", "crap", "damn"], 2: ["idiot", "moron", "loser", "disgrace", "fool"],
            3: ["savages", "vermin", "subhuman", "barbaric", "filthy tribe"],
            4: ["kill you", "hang him", "shoot him", "burn your house", "hunt you down"]}
    neutral = ["talks", "border", "minister", "coffee", "article", "referendum", "peace", "vienna", "monday",
               "policy", "oil", "support", "country", "status", "president", "reporting", "process", "road",
               "school", "weather", "market", "river", "music", "history", "village", "train", "garden"]
    rows = []
    for label in (0, 1, 2, 3, 4):
        for i in range(n_per_class):
            words = [f"w{seed}n{label}x{i}", *rng.choice(neutral, 5)]
            if label:
                words.insert(int(rng.integers(1, 4)), str(rng.choice(cues[label])))
            rows.append((" ".join(words), *[int(label == k) for k in (1, 2, 3, 4)]))
    return rows


@pytest.fixture(scope="module")
def good_labels(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("good")
    write_label_csv(root / "outlet" / "corpus.csv", corpus())
    return root


@pytest.fixture(scope="module")
def bad_labels(tmp_path_factory) -> Path:
    """The same comments, but outside the evaluation split every label is scrambled: a worse model."""
    rows = corpus()
    split = evaluation_split([r[0] for r in rows])
    rng = np.random.default_rng(1)
    scrambled = [r if split[i] else (r[0], *rng.permutation(r[1:])) if i % 2 else (r[0], 0, 0, 0, 0)
                 for i, r in enumerate(rows)]
    root = tmp_path_factory.mktemp("bad")
    write_label_csv(root / "outlet" / "corpus.csv", scrambled)
    return root


@pytest.fixture(scope="module")
def first(tmp_path_factory, good_labels) -> Path:
    """A models directory after one training (the first always becomes current)."""
    models = tmp_path_factory.mktemp("first") / "models"
    assert main([*POLICY, "train", "--labels", str(good_labels), "--out", str(models), *FAST]) == 0
    return models


@pytest.fixture
def models(first, tmp_path) -> Path:
    """A private copy of `first` for a test that changes it."""
    copy = tmp_path / "models"
    shutil.copytree(first, copy, symlinks=True)
    return copy


def train(labels: Path, models: Path, *extra: str) -> int:
    return main([*POLICY, "train", "--labels", str(labels), "--out", str(models), *FAST, *extra])


def card(models: Path, version: str) -> dict:
    return json.loads((models / version / "card.json").read_text())


def history(models: Path) -> list[dict]:
    return [json.loads(line) for line in (models / HISTORY).read_text().splitlines()]


# ------------------------------------------------------------------------- the fixed split


def test_the_split_is_fixed_by_each_comments_own_text():
    texts = [r[0] for r in corpus()]
    split = evaluation_split(texts)
    assert 0.05 < split.mean() < 0.15
    # independent of order and of the other comments: a growing label file keeps its split
    order = np.random.default_rng(0).permutation(len(texts))
    assert (evaluation_split([texts[i] for i in order]) == split[order]).all()
    assert (evaluation_split(texts[:50]) == split[:50]).all()
    # near-duplicates sharing their first 48 letters and digits fall on the same side
    long = [f"comment {i} about the border talks in vienna and the minister's remarks" for i in range(40)]
    text = long[int(np.flatnonzero(evaluation_split(long))[0])]
    assert evaluation_split([text.upper() + " !!", "  " + text + " and more words at the end"]).all()
    assert evaluation_key("Ｗhat  THE fuck") == evaluation_key("what the fuck")


def test_compare_flags_a_category_worse_beyond_its_tolerance():
    y = np.array([1.0, 0.0] * 10)[:, None].repeat(2, axis=1)
    good = np.linspace(0, 1, 20)[:, None].repeat(2, axis=1) * 0.1 + y * 0.9
    worse = good.copy()
    worse[0, 1], worse[1, 1] = 0.0, 1.0  # one positive and one negative swapped in the second category
    rows = compare(y, worse, good, ["profanity", "threat"], {"default": 0.005, "threat": 0.5})
    assert [r.difference for r in rows][0] == 0.0 and rows[1].difference < -0.005
    assert not any(r.worse for r in rows)  # threat's tolerance allows it
    rows = compare(y, worse, good, ["profanity", "threat"], {"default": 0.005})
    assert [r.worse for r in rows] == [False, True]
    assert not Gate("v1", rows).passed
    few = compare(y[:2 * MIN_POSITIVES - 2], worse[:2 * MIN_POSITIVES - 2], good[:2 * MIN_POSITIVES - 2],
                  ["profanity", "threat"], {"default": 0.005})
    assert not any(r.gated for r in few) and Gate("v1", few).passed


# ------------------------------------------------------------------------------ train


def test_first_train_is_promoted_and_recorded(first):
    version = current_version(first)
    promotion = card(first, version)["promotion"]
    assert promotion["promoted"] and not promotion["forced"] and promotion["previous"] is None
    assert (first / version / HELD_OUT).is_file()
    assert card(first, version)["evaluation_split"]["share"] == 0.1
    assert [(e["action"], e["version"]) for e in history(first)] == [("promote", version)]


def test_identical_retrain_passes_the_gate_with_no_difference(models, good_labels, capsys):
    before = current_version(models)
    assert train(good_labels, models) == 0
    after = current_version(models)
    assert after != before
    gate = card(models, after)["promotion"]["gate"]
    assert gate["passed"] and gate["current"] == before
    gated = [c for c in gate["categories"].values() if c["gated"]]
    assert len(gated) == 4 and all(c["difference"] == 0.0 for c in gated)  # like for like: OOF vs stored OOF
    assert "promotion gate: candidate vs current" in capsys.readouterr().out


def test_worse_candidate_is_saved_but_not_promoted(models, bad_labels, capsys):
    before = current_version(models)
    assert train(bad_labels, models) == 3
    out, err = capsys.readouterr()
    assert current_version(models) == before
    assert "WORSE" in out and "ROC-AUC cur" in out
    assert "NOT promoted" in err and "--force" in err and "rollback --to" in err
    refused = [v for v in list_versions(models) if v.name != before]
    assert len(refused) == 1 and refused[0].status == "refused"
    assert not refused[0].card["promotion"]["promoted"]
    assert len(history(models)) == 1


def test_force_promotes_a_worse_candidate_and_says_so(models, bad_labels, capsys):
    before = current_version(models)
    assert train(bad_labels, models, "--force") == 0
    after = current_version(models)
    promotion = card(models, after)["promotion"]
    assert after != before and promotion["forced"] and promotion["promoted"]
    assert not promotion["gate"]["passed"]  # the gate's verdict is still recorded
    assert history(models)[-1] | {"time": None} == {"time": None, "action": "promote", "version": after,
                                                    "previous": before, "forced": True}
    assert "(forced)" in capsys.readouterr().err


def test_without_cross_validation_the_gate_refuses_unless_forced(models, good_labels, capsys):
    before = current_version(models)
    assert train(good_labels, models, "--no-cv") == 3
    assert "cross-validation" in capsys.readouterr().err
    assert current_version(models) == before


def test_first_train_without_cross_validation_is_promoted(tmp_path):
    labels = write_label_csv(tmp_path / "labels" / "tiny.csv", TINY).parent
    assert train(labels, tmp_path / "models", "--no-cv") == 0
    assert current_version(tmp_path / "models") is not None


def test_a_candidate_is_not_promoted_if_current_changed_while_it_trained(models, good_labels, policy):
    from moderation.labels import load_labels
    from moderation.model import point_current
    from moderation.registry import decide, register
    from moderation.training import TrainConfig, training_run

    run = training_run(load_labels([good_labels], policy), policy, POLICY_PATH.read_text(), TrainConfig(folds=2, n_jobs=1))
    promotion = decide(run, models, policy)
    assert promotion.promoted
    other = "20000101-000000-beef"  # meanwhile, another training promoted its model
    shutil.copytree(models / current_version(models), models / other)
    point_current(models, other)
    path, final = register(run, models, promotion)
    assert not final.promoted and "changed" in final.reason
    assert current_version(models) == other and path.is_dir()
    assert card(models, path.name)["promotion"]["promoted"] is False


# ------------------------------------------------------------------ models and rollback


def test_models_lists_versions_newest_first_and_marks_current(models, good_labels, bad_labels, capsys):
    assert train(bad_labels, models) == 3
    capsys.readouterr()
    assert main(["models", "--models", str(models)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["version", "created", "rows"] and "personal_attack" in lines[0]
    rows = lines[2:-1]
    assert len(rows) == 2
    assert rows[0].endswith("refused") and rows[1].startswith("*") and rows[1].endswith("first")
    assert current_version(models) in rows[1]


def test_rollback_walks_back_through_promotions_and_to_a_named_version(models, good_labels, capsys):
    a = current_version(models)
    assert train(good_labels, models) == 0
    b = current_version(models)
    capsys.readouterr()
    assert main(["rollback", "--models", str(models)]) == 0
    assert current_version(models) == a
    assert f"→ {a} (was {b})" in capsys.readouterr().out
    assert main(["rollback", "--models", str(models)]) == 1  # a was the first: nothing before it
    assert "nothing to roll back to" in capsys.readouterr().err
    assert main(["rollback", "--models", str(models), "--to", b]) == 0
    assert current_version(models) == b
    assert [(e["action"], e["version"]) for e in history(models)] == [
        ("promote", a), ("promote", b), ("rollback", a), ("rollback", b)]
    assert main(["rollback", "--models", str(models)]) == 0  # --to b put b on top of a again
    assert current_version(models) == a


def test_rollback_errors_are_clear(models, capsys):
    a = current_version(models)
    assert main(["rollback", "--models", str(models), "--to", a[:-1]]) == 1
    err = capsys.readouterr().err
    assert "unknown version" in err and f"did you mean {a}" in err
    assert main(["rollback", "--models", str(models), "--to", a]) == 1
    assert "already current" in capsys.readouterr().err

    broken = models / "20000101-000000-dead"
    shutil.copytree(models / a, broken)
    (broken / "card.json").write_text("{not json", encoding="utf-8")
    assert main(["rollback", "--models", str(models), "--to", broken.name]) == 1
    assert "unreadable model card" in capsys.readouterr().err
    assert current_version(models) == a
    assert main(["models", "--models", str(models)]) == 1
    out, err = capsys.readouterr()
    assert "corrupt card" in out and "unreadable model card" in err

    assert main(["rollback", "--models", str(models / "nowhere")]) == 1
    assert "no models directory" in capsys.readouterr().err


def test_a_corrupt_history_line_is_named(models, capsys):
    with open(models / HISTORY, "a") as fh:
        fh.write("{oops\n")
    assert main(["rollback", "--models", str(models)]) == 1
    assert f"{HISTORY}:2: not valid JSON" in capsys.readouterr().err


def test_promoted_stack_replays_promotions_and_rollbacks():
    events = [{"action": "promote", "version": v} for v in "abc"]
    assert promoted_stack(events, "c") == ["a", "b", "c"]
    events.append({"action": "rollback", "version": "a"})
    assert promoted_stack(events, "a") == ["a"]
    events.append({"action": "rollback", "version": "c"})  # forward again, by name
    assert promoted_stack(events, "c") == ["a", "c"]
    assert promoted_stack([], "x") == ["x"]  # current set by hand or by an older `train`


@pytest.mark.parametrize("command", [["models"], ["rollback"], ["suggest"]], ids=" ".join)
def test_new_commands_have_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "example: moderation" in capsys.readouterr().out
