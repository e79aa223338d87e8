"""The policy file: categories, thresholds, word lists, decisions, and its errors."""

from __future__ import annotations

import pytest

from moderation.errors import PolicyError
from moderation.policy import Policy

BASE = """
[categories.profanity]
clause = "profanity"
reject = 0.8
review = 0.5
[categories.threat]
clause = "other inappropriate material"
reject = 0.9
review = 0.4
"""


def load(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return Policy.load(path)


def test_repository_policy_names_the_four_categories(policy):
    assert policy.names == ["profanity", "personal_attack", "identity_attack", "threat"]
    assert "personal attacks" in policy.text
    assert policy.max_chars == 20000


def test_decide_follows_thresholds(tmp_path):
    policy = load(tmp_path, BASE)
    assert policy.decide({"profanity": 0.1, "threat": 0.1}).decision == "allow"
    review = policy.decide({"profanity": 0.6, "threat": 0.1})
    assert (review.decision, review.review, review.violations) == ("review", ["profanity"], [])
    reject = policy.decide({"profanity": 0.6, "threat": 0.95})
    assert (reject.decision, reject.violations, reject.review) == ("reject", ["threat"], ["profanity"])
    assert any("threat score 0.95" in r for r in reject.reasons)


def test_model_thresholds_override_policy_ones(tmp_path):
    policy = load(tmp_path, BASE)
    scores = {"profanity": 0.7, "threat": 0.0}
    assert policy.decide(scores).decision == "review"
    overridden = {"profanity": {"reject": 0.65, "review": 0.5}, "threat": {"reject": 0.9, "review": 0.4}}
    assert policy.decide(scores, overridden).decision == "reject"


def test_lexicon_hits_are_whole_words_and_force_their_action(tmp_path):
    policy = load(tmp_path, BASE + '[[lexicon]]\nterm = "bad word"\ncategory = "profanity"\naction = "reject"\n')
    hits = policy.lexicon_hits("A BAD   word here, not badword")
    assert [(h.start, h.end, h.quoted) for h in hits] == [(2, 12, False)]
    decision = policy.decide({"profanity": 0.0, "threat": 0.0}, lexicon_hits=hits)
    assert decision.decision == "reject" and decision.violations == ["profanity"]
    assert policy.lexicon_hits("Scunthorpe badwords") == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "at least one category"),
        (BASE.replace("review = 0.5", "review = 0.95"), "must not exceed reject"),
        (BASE.replace("reject = 0.8", 'reject = "high"'), "categories.profanity.reject"),
        (BASE.replace("[categories.threat]", "[categories.Threat]"), "lower-case"),
        (BASE + '[[lexicon]]\nterm = "x"\ncategory = "spam"\n', "category 'spam' is not one of"),
        (BASE + '[[lexicon]]\nterm = "x"\ncategory = "threat"\naction = "ban"\n', "action 'ban'"),
        (BASE + "[limits]\nmax_chars = -3\n", "limits.max_chars"),
        ("[categories\n", "not valid TOML"),
    ],
)
def test_bad_policies_say_what_and_where(tmp_path, text, message):
    with pytest.raises(PolicyError, match=message) as info:
        load(tmp_path, text)
    assert "policy.toml" in str(info.value)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        Policy.load(tmp_path / "nope.toml")


def test_unknown_category_lookup_lists_known_ones(policy):
    with pytest.raises(PolicyError, match="profanity, personal_attack"):
        policy.category("spam")


def test_quoted_lexicon_terms_go_to_review_not_reject(tmp_path):
    policy = load(tmp_path, BASE + '[[lexicon]]\nterm = "slur"\ncategory = "profanity"\naction = "reject"\n')
    for text in ("Calling them 'slur' is wrong", 'He wrote "a slur" here', "the word “slur” hurts"):
        hits = policy.lexicon_hits(text)
        assert hits and hits[0].quoted, text
        decision = policy.decide({"profanity": 0.0, "threat": 0.0}, lexicon_hits=hits)
        assert decision.decision == "review" and "quoted" in decision.reasons[-1]
    assert not policy.lexicon_hits("you slur, don't")[0].quoted


def test_lexicon_hits_of_many_texts(policy):
    texts = ["nothing here", "those tatarmongrilstan people", "", 'a "Mongolian  Azeris" quote', "TATARMONGRILSTAN"]
    assert policy.lexicon_hits_many(texts) == [policy.lexicon_hits(t) for t in texts]
    assert [bool(h) for h in policy.lexicon_hits_many(texts)] == [False, True, False, True, True]
    assert policy.lexicon_hits_many(["clean", "texts only"]) == [[], []]


def test_lexicon_hits_of_ascii_and_other_texts_together(policy):
    texts = ["café talk", "those tatarmongrilstan people", "Россия: MONGOLİAN AZERIS", "plain", "“Mongolian azeris”",
             "ok", "naïve tatarmongrilstan", "mongolian  azeris here"]
    assert policy.lexicon_hits_many(texts) == [policy.lexicon_hits(t) for t in texts]
    assert [bool(h) for h in policy.lexicon_hits_many(texts)] == [False, True, False, False, True, False, True, True]
    assert policy.lexicon_hits_many(["café", "naïve"]) == [[], []]


def test_lexicon_hits_found_holds_every_text_with_a_hit_and_no_list_for_the_others(policy):
    texts = ["café talk", "those tatarmongrilstan people", "plain", "ok", "naïve tatarmongrilstan", "clean"] * 2
    found = policy.lexicon_hits_found(texts)
    assert {i: hits for i, hits in found.items() if hits} == {i: policy.lexicon_hits(t) for i, t in enumerate(texts)
                                                              if policy.lexicon_hits(t)}
    assert policy.lexicon_hits_found(["clean", "texts only", "ça va"]) == {}
    assert policy.lexicon_hits_found([]) == {}


def test_quoted_passages_are_those_of_the_look_behind_first_pattern():
    import random
    import re

    from moderation.policy import _QUOTED

    pattern = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|«[^»\n]*»|(?<!\w)'[^'\n]*'(?!\w)")
    rng = random.Random(3)
    pieces = ["'", '"', "“", "”", "‘", "’", "«", "»", "a", "é", "_", "1", " ", "\n", "x'", "'y"]
    texts = ["'a' b", "don't 'x'", "x'y' 'z'", "('q')", "'", "''", "é'x'"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    assert [[m.span() for m in _QUOTED.finditer(t)] for t in texts] == \
        [[m.span() for m in pattern.finditer(t)] for t in texts]
