"""Quoting and counter-speech: a model's rejection of a comment that quotes or condemns an attack
becomes a review, never an allow; an attack outside quotes stays rejected."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.policy import Decision
from moderation.quoting import counter_speech, review_quoted, without_quotes


class WordModel:
    """A stand-in model: identity_attack is certain when "vermin" or "savages" is in the text."""

    def __init__(self, policy) -> None:
        self.policy = policy
        self.categories = policy.names
        self.thresholds = policy.thresholds()

    def predict_proba(self, texts):
        out = np.zeros((len(texts), len(self.categories)))
        for i, text in enumerate(texts):
            if "vermin" in text.lower() or "savages" in text.lower():
                out[i, self.categories.index("identity_attack")] = 0.99
        return out

    def decide(self, text: str) -> Decision:
        scores = dict(zip(self.categories, self.predict_proba([text])[0]))
        decision = self.policy.decide(scores, self.thresholds, self.policy.lexicon_hits(text))
        return review_quoted(self, text, decision)


@pytest.fixture()
def word_model(policy) -> WordModel:
    return WordModel(policy)


@pytest.mark.parametrize("text", [
    "He wrote 'Kurds are vermin' under the article, and nobody removed it.",
    "Calling Georgians \"savages\" is what the commenter did last week.",
    "“Armenians are vermin”, she said; the crowd went quiet.",
])
def test_reported_quotes_go_to_review(word_model, text):
    decision = word_model.decide(text)
    assert decision.decision == "review"
    assert "identity_attack" in decision.review and not decision.violations
    assert "quotation marks" in decision.reasons[-1]


@pytest.mark.parametrize("text", [
    "Kurds are vermin.",
    "Kurds are vermin, and 'peace' is a joke.",  # the attack is outside the quotes
    "Your 'friends' are vermin.",  # scare quotes around a neutral word
    "'Kurds are vermin and savages, every one of them, all of them'",  # a whole comment in quotes
])
def test_attacks_outside_reported_quotes_stay_rejected(word_model, text):
    assert word_model.decide(text).decision == "reject"


@pytest.mark.parametrize("text, frame", [
    ("Those who call Jews vermin should be ashamed, and I condemn them.", "I condemn"),
    ("Saying Azeris are savages is racism, plain and simple.", "Saying Azeris are savages is racism"),
    ("Talk of Turks as vermin has no place in this newspaper.", "has no place"),
    ("Stop calling Kurds vermin.", "Stop calling"),
])
def test_counter_speech_goes_to_review(word_model, text, frame):
    assert counter_speech(text) == frame
    decision = word_model.decide(text)
    assert decision.decision == "review" and "counter-speech" in decision.reasons[-1]


@pytest.mark.parametrize("text", [
    "You are wrong, and your people are vermin.",
    "You should be ashamed, savages.",
    "That is true: they are vermin.",
])
def test_judgements_that_open_insults_are_not_counter_speech(word_model, text):
    assert counter_speech(text) is None
    assert word_model.decide(text).decision == "reject"


def test_word_list_rejections_are_left_to_the_policy(word_model):
    text = "Tatarmongrilstan vermin"  # an unquoted reject term: the word list decides
    assert word_model.decide(text).decision == "reject"
    assert word_model.decide("Stop calling it Tatarmongrilstan").decision == "reject"


def test_without_quotes_empties_reported_passages_only():
    assert without_quotes("He said 'go home' twice.") == "He said '' twice."
    assert without_quotes("Your 'friends' left.") is None
    assert without_quotes("No quotes here.") is None


@pytest.mark.parametrize("text", [
    "Calling them 'dogs' is wrong", 'He said "idiots" twice', "Saying so is hateful", "Stop calling people names",
    "That has no place here", "I condemn anyone who says it", "The man who wrote it should be banned",
    "Ѕtop calling people names",  # a Cyrillic capital: matched without the ASCII shortcut
])
def test_may_review_is_true_whenever_review_quoted_can_move(text):
    from moderation.quoting import may_review

    assert may_review(text)
    assert without_quotes(text) is not None or counter_speech(text) is not None or not text.isascii()


def test_may_review_is_false_without_quotes_or_a_frame():
    from moderation.quoting import may_review

    assert not may_review("You are an idiot and everyone knows it.")
    assert counter_speech("You are an idiot and everyone knows it.") is None


@pytest.mark.parametrize("text", [
    "Calling them dogs is racist.", "That was just a hate crime", "Hatred has no place here", "It is never OK",
    "We strongly condemn this", "STOP CALLING people names", "He was fined for it", "A man who said so should be banned",
    "Stop it. You never listen, that should be obvious", "You are an idiot.", "That is shameful, but, well", "",
    "Sagen ist rassistisch: calling Armenians dogs is RACIST", "never… is never okay", "Ѕtop calling me that",
])
def test_the_quick_frame_test_answers_as_the_frame_search(text):
    from moderation.quoting import _FRAME, _has_frame

    assert _has_frame(text) == (_FRAME.search(text) is not None)


@pytest.mark.parametrize("text", ["Don't you dare, idiot.", "It's the idiots' fault", "rock'n'roll isn't dead",
                                  "I won't, you moron"])
def test_may_review_is_false_for_apostrophes_that_open_no_passage(text):
    from moderation.quoting import may_review

    assert not may_review(text)
    assert without_quotes(text) is None and counter_speech(text) is None


@pytest.mark.parametrize("text", ["'Dogs', he said, you idiots", "You are 'so' dumb", "x 'y' z", "'", "a ('b')"])
def test_may_review_is_true_for_an_apostrophe_after_no_word_character(text):
    from moderation.quoting import may_review

    assert may_review(text)


def test_may_review_is_true_wherever_a_quoted_passage_is_found(label_and_seed_quotes):
    from moderation.policy import _QUOTED
    from moderation.quoting import may_review

    assert all(may_review(text) for text in label_and_seed_quotes if _QUOTED.search(text))


@pytest.fixture(scope="module")
def label_and_seed_quotes() -> list[str]:
    from pathlib import Path

    from moderation.inputs import iter_comments
    from moderation.labels import load_labels
    from moderation.policy import Policy

    root = Path(__file__).resolve().parents[1]
    texts = list(load_labels([root / "labels"], Policy.load(root / "labels" / "policy.toml")).texts)
    texts += [c.text for c in iter_comments([root / "seeds"])]
    return [t for t in texts if "'" in t or '"' in t or not t.isascii()]


def _reported_passages_emptied(text: str) -> str | None:
    """`without_quotes` as the patterns alone say it, every passage and window searched."""
    from moderation.policy import _QUOTED
    from moderation.quoting import _REPORTING_AFTER, _REPORTING_BEFORE

    pieces, at = [], 0
    for m in _QUOTED.finditer(text):
        if 2 * (m.end() - m.start()) > len(text.strip()):
            continue
        if not (_REPORTING_BEFORE.search(text, max(0, m.start() - 60), m.start()) or _REPORTING_AFTER.match(text, m.end())):
            continue
        pieces += [text[at : m.start() + 1], text[m.end() - 1 : m.end()]]
        at = m.end()
    return "".join(pieces) + text[at:] if pieces else None


def test_every_reporting_word_holds_a_reporting_stem():
    from moderation.quoting import _REPORTING, _REPORTING_STEMS

    words = _REPORTING.replace("(?:s|ed)?", "ed").replace(r"\w*", "ing").split("|")
    words += ["said", "says", "wrote", "writes", "shouted", "tweeted"]  # `_REPORTING_AFTER`'s verbs
    assert all(any(stem in word for stem in _REPORTING_STEMS) for word in words)


def test_without_quotes_skips_only_what_the_patterns_cannot_match():
    import random

    rng = random.Random(9)
    pieces = ["'", '"', "“", "”", "a", " ", "said ", "SAYS", "he wrote", "Calls", ".", ";", "\n", "word", "x" * 30,
              "é", "ſay", "“dogs”", ", she said", "'fool'", "Quoting"]
    texts = ["He said 'go home' twice.", "Your 'friends' left.", "'x', they said", "The WORD 'y' again",
             "ſaid 'x' here", "x" * 70 + " said " + "y" * 50 + " 'z' w"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(20_000)]
    assert [without_quotes(t) for t in texts] == [_reported_passages_emptied(t) for t in texts]
