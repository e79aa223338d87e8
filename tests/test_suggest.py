"""Active learning: uncertain comments first, near-duplicates once, labelled comments never."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from moderation.archive import Comment
from moderation.cli import main
from moderation.labels import text_key
from moderation.suggest import suggest, suggest_comments, uncertainty
from tests.conftest import POLICY_PATH, TINY


class Scripted:
    """A model whose threat probability is given per text; features come from the session model."""

    categories = ["threat"]
    thresholds = {"threat": {"review": 0.4, "reject": 0.85}}
    policy = SimpleNamespace(max_chars=20000)

    def __init__(self, model, scores: dict[str, float]) -> None:
        self.featurizer = model.featurizer
        self.scores = scores

    def predict_proba(self, texts):
        return np.array([[self.scores[t]] for t in texts])


SCORES = {
    "the talks in vienna resumed on monday": 0.01,
    "someone should be stopped before it is too late": 0.41,  # on the review threshold
    "i will kill you and burn your house": 0.99,
    "you will regret this, watch your back": 0.83,  # near the reject threshold
    "the minister said progress was slow": 0.10,
}


def test_uncertainty_is_one_on_a_threshold_and_falls_with_log_odds_distance():
    u, which = uncertainty(np.array([[0.4], [0.6], [0.85], [0.99], [0.01]]), np.array([[0.4, 0.85]]))
    u = u.ravel()
    assert u[0] == pytest.approx(1.0) and u[2] == pytest.approx(1.0)
    assert u[1] < 1 and u[3] < u[1] and u[4] < u[1]
    assert which.ravel().tolist() == [0, 0, 1, 1, 0]


def test_most_uncertain_comments_come_first(model):
    texts = list(SCORES)
    picked = suggest(texts, Scripted(model, SCORES), n=5, diversity=0.0)
    assert [s.text for s in picked[:2]] == ["someone should be stopped before it is too late",
                                            "you will regret this, watch your back"]
    assert [s.uncertainty for s in picked] == sorted((s.uncertainty for s in picked), reverse=True)
    assert picked[0].category == "threat" and "threat 0.41 (review threshold 0.40)" in picked[0].reason
    assert "reject threshold 0.85" in picked[1].reason
    assert picked[0].scores == {"threat": 0.41}


def test_near_duplicates_are_not_both_picked(model):
    scores = dict(SCORES)
    scores["Someone should be stopped before it is too late!!"] = 0.42  # the same comment, retyped
    scores["someone should be stopped before it is too late"] = 0.40
    picked = suggest(list(scores), Scripted(model, scores), n=3)
    texts = [s.text.lower() for s in picked]
    assert sum("someone should be stopped" in t for t in texts) == 1
    assert "you will regret this, watch your back" in texts


def test_labelled_comments_and_exact_repeats_are_left_out(model):
    texts = list(SCORES) + ["Someone  should be stopped before it is TOO late"]  # same text key as the 2nd
    scores = SCORES | {texts[-1]: 0.41}
    picked = suggest(texts, Scripted(model, scores), n=10, labelled={text_key("you will regret this, watch your back")})
    kept = [s.text for s in picked]
    assert "you will regret this, watch your back" not in kept
    assert sum(text_key(t) == text_key(texts[1]) for t in kept) == 1
    assert len(kept) == 4 and [s.index for s in picked][0] == 1


def test_streaming_over_comments_agrees_with_the_list_version(model):
    texts = [t for t, *_ in TINY] + ["you are a bit of an idiot sometimes", "kill the noise in the office", "   "]
    comments = [Comment(f"c{i}", None, None, i, None, None, t, False) for i, t in enumerate(texts)]
    streamed = suggest_comments(comments, model, n=6, chunk=4, pool=100)
    direct = suggest(texts[:-1], model, n=6)
    assert len(streamed) == 6
    assert [s.text for s in streamed] == [s.text for s in direct]
    assert [s.id for s in streamed] == [f"c{texts.index(s.text)}" for s in streamed]
    # a small pool keeps only the most uncertain comments, and still fills the list
    pooled = suggest_comments(comments, model, n=6, chunk=4, pool=8)
    top = sorted(s.uncertainty for s in suggest(texts[:-1], model, n=len(texts), diversity=0, duplicate=2))[-8:]
    assert len(pooled) == 6 and min(s.uncertainty for s in pooled) >= top[0]


def test_suggest_command_prints_a_table_and_writes_jsonl(tmp_path, models_dir, tiny_labels_dir, capsys):
    inputs = tmp_path / "archive.jsonl"
    rows = [{"id": f"a{i}", "text": t} for i, t in enumerate(
        ["what the fuck is this shit",  # labelled in the tiny corpus: never suggested
         "you are kind of a clown, honestly", "those people again, always the same",
         "he should be careful on that road", "a calm and fair article", "damn, what a match"])]
    inputs.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "suggested.jsonl"
    assert main(["--policy", str(POLICY_PATH), "suggest", str(inputs), "--n", "3", "--model", str(models_dir),
                 "--labels", str(tiny_labels_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "unc" in printed and "profanit" in printed
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    assert all(set(r) == {"id", "text", "scores", "uncertainty", "category", "reason"} for r in records)
    assert "a0" not in {r["id"] for r in records}
    assert all(r["id"] in printed for r in records)
    assert main(["suggest", str(inputs), "--n", "0", "--model", str(models_dir), "--labels", str(tiny_labels_dir)]) == 1
