"""The normalisation word list: ranked by frequency and by how much more often words come in
violations, searched by pattern, shipped with the package."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.vocabulary import PATH, best_word, build_vocabulary, is_violation_word, rank


def test_violation_words_outrank_more_frequent_innocent_ones():
    texts = ["where is the door"] * 60 + ["you whore"] * 10 + ["the talks resumed"] * 130
    labels = np.array([[0.0]] * 60 + [[1.0]] * 10 + [[0.0]] * 130)
    ranked = build_vocabulary(texts, labels)
    words = [w for w, _ in ranked]
    assert words.index("whore") < words.index("where")
    assert dict(ranked)["whore"] and not dict(ranked)["where"]


def test_rare_words_are_left_out_and_unknown_labels_ignored():
    texts = ["once", "twice twice", "twice thrice", "thrice", "thrice"]
    labels = np.array([[np.nan, 1.0], [0.0, np.nan], [0.0, 0.0], [np.nan, np.nan], [0.0, 0.0]])
    assert sorted(w for w, _ in build_vocabulary(texts, labels, min_count=2)) == ["thrice", "twice"]


def test_labels_must_match_the_texts():
    with pytest.raises(ValueError, match="labels: expected shape"):
        build_vocabulary(["a b", "c"], np.zeros((3, 1)))


def test_the_shipped_list_answers_patterns_by_rank():
    assert PATH.is_file()
    assert best_word("wh[a-z]re") == "whore"
    assert best_word("sh[a-z]t") == "shit"
    assert best_word("zq[a-z]xv") is None
    assert rank("the") is not None and rank("zqxv") is None
    assert rank(best_word("go(?:o|oo)d|go(?:o|oo)d")) <= rank("good")
    assert is_violation_word("idiot") and not is_violation_word("house") and not is_violation_word("zqxv")


def test_best_fit_agrees_with_the_pattern_search() -> None:
    from moderation import vocabulary

    every = "abcdefghijklmnopqrstuvwxyz"
    cases = [("s", "h", every, "t"), ("w", "h", every, "r", "e"), ("a", "s", "s"), ("i", "d", "io", "o", "t"),
             (every,) * 3, ("q", "x", "z"), ("k", "il", "il", "l"), ("x",) * 31, ("s", "", "t")]
    for letters in cases:
        pattern = "".join(f"[{a}]" if a else "[^\\s\\S]" for a in letters)
        assert vocabulary.best_fit(letters) == vocabulary.best_word(pattern, len(letters)), letters
