"""Counterfactual augmentation: group names swapped, labels kept, copies never evaluated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moderation.augment import IdentityTerms, NameFinder, augment, swap_groups
from moderation.errors import PolicyError
from moderation.labels import LabelSet
from moderation.training import aggregate

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def terms() -> IdentityTerms:
    return IdentityTerms.load(ROOT / "labels" / "identity_terms.toml")


def test_swap_keeps_form_and_capitals(terms):
    rng = np.random.default_rng(1)
    out = swap_groups("Azeris and Turks met; a Turk spoke. turkish tea", terms, rng)
    assert out is not None and "Azeris" not in out and "Turk" not in out and "turkish" not in out.lower()
    # the same group maps to the same replacement within one comment
    again = swap_groups("Turks and Turks", terms, np.random.default_rng(3))
    first, _, second = again.partition(" and ")
    assert first == second


def test_words_that_merely_contain_a_group_name_are_left_alone(terms):
    rng = np.random.default_rng(0)
    assert swap_groups("Turkey and the turkeys; Jewelry; a mangay", terms, rng) is None
    assert swap_groups("whitewash on the blackboard", terms, rng) is None


def test_colour_words_that_name_groups_are_swapped(terms):
    out = swap_groups("I am Black and my wife is white", terms, np.random.default_rng(0))
    assert out is not None and "Black" not in out and "white" not in out


def test_copies_keep_labels_groups_and_stay_out_of_evaluation(terms, policy):
    labels = LabelSet(categories=policy.names, texts=["I am a gay man", "Kurds are vermin", "the talks failed"],
                      sources=["jigsaw", "outlet", "jigsaw"], annotators=["", "", ""], ids=["a", "b", "c"],
                      files=["f"] * 3, lines=[2, 3, 4],
                      values=np.array([[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=np.float32))
    base = aggregate(labels, policy)
    out = augment(base, terms, {"default": 2, "outlet": 3})
    assert out.copies == 5 and len(out.texts) == 8
    copies = slice(3, None)
    assert not out.evaluable[copies].any()
    assert (out.groups[3:5] == base.groups[0]).all() and (out.groups[5:] == base.groups[1]).all()
    assert (out.soft[5:, 2] == 1).all() and (out.soft[3:5, 2] == 0).all()
    assert all("gay" not in t for t in out.texts[3:5])


def test_bad_terms_file(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('groups = [["a", "b"]]\n')
    with pytest.raises(PolicyError, match="entry 1: expected three strings"):
        IdentityTerms.load(path)
    with pytest.raises(PolicyError, match="not found"):
        IdentityTerms.load(tmp_path / "none.toml")


def test_places_are_swapped_for_other_places(terms):
    terms = IdentityTerms(terms.groups, ("Sumgait", "Baku", "Gyumri", "Tbilisi"))
    out = swap_groups("The pogrom in Sumgait, then Baku; Sumgait again", terms, np.random.default_rng(2))
    words = out.replace(",", "").replace(";", "").split()
    first, baku, second = words[3], words[5], words[6]
    assert first == second and first != "Sumgait" and first in terms.places  # one replacement per place
    assert baku != "Baku" and baku in terms.places
    assert swap_groups("Vancouver and the vanguard", terms, np.random.default_rng(0)) is None


def test_bad_places(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('groups = [["a", "b", "c"], ["d", "e", "f"]]\nplaces = ["Baku", 3]\n')
    with pytest.raises(PolicyError, match="places must be a list of non-empty strings"):
        IdentityTerms.load(path)


def test_a_name_matched_through_a_special_capital_is_left_alone(terms):
    terms = IdentityTerms(terms.groups, ("Istanbul", "Kars"))
    assert swap_groups("İstanbul and Kars", terms, np.random.default_rng(0)).startswith("İstanbul and ")


TRICKY = [
    "Turks_ and _Turks and Turks", "TURKISH, turkish and TuRkS", "İstanbul and ıranians; IRANIAN",
    "Kurds with a Kelvin sign: \u212aurds", "Rusſians and RUSSIANS", "gay people, gay  people, Gay People",
    "gay-people and gay_people and gay person", "Երևան and ԵՐԵՎԱՆ, Ереван and ЕРЕВАНА", "nothing to see here",
    "Θεσσαλονίκη and ΘΕΣΣΑΛΟΝΊΚΗ", "an Armenian's view", "the ArmenianArmenians", "",
]


def test_the_name_finder_finds_what_the_pattern_finds(terms):
    terms = IdentityTerms(terms.groups, ("İstanbul", "Ереван", "Երևան", "Θεσσαλονίκη", "Kars"))
    finder = NameFinder(terms)
    assert finder.exact  # the quick path is taken with these forms
    pattern = terms.pattern()
    for text in TRICKY * 2:  # twice: the second time every word has been looked up already
        assert [m.span() for m in finder.find(text)] == [m.span() for m in pattern.finditer(text)], text
    assert [m.group(0) for m in finder.find("İstanbul and ıranians; IRANIAN")] == ["İstanbul", "ıranians", "IRANIAN"]


@pytest.mark.parametrize("forms", [("'Ndrangheta", "Camorra"), ("Ιθάκη", "Κέρκυρα")])
def test_the_name_finder_falls_back_to_the_pattern_when_word_boundaries_would_differ(forms):
    # a form starting with a non-word character; a Greek iota, which matches U+0345, a non-word character
    terms = IdentityTerms((("Kurdish", "Kurds", "Kurd"), ("Greek", "Greeks", "Greek")), forms)
    finder = NameFinder(terms)
    assert not finder.exact
    for text in ["the 'Ndrangheta and the Camorra", "ΙΘΆΚΗ, Ιθάκη and \u0345θάκη", "Kurds"]:
        assert [m.span() for m in finder.find(text)] == [m.span() for m in terms.pattern().finditer(text)]


def test_augment_copies_are_the_pattern_substitutions_with_the_same_draws(terms, policy):
    terms = IdentityTerms(terms.groups, ("Istanbul", "Kars", "Baku"))
    texts = TRICKY + ["istanbul again", "Kars, then Baku", "Turks " * 3]
    labels = LabelSet(categories=policy.names, texts=texts, sources=["jigsaw"] * len(texts),
                      annotators=[""] * len(texts), ids=[str(i) for i in range(len(texts))],
                      files=["f"] * len(texts), lines=list(range(2, 2 + len(texts))),
                      values=np.zeros((len(texts), 4), dtype=np.float32))
    base = aggregate(labels, policy)
    out = augment(base, terms, {"default": 3}, seed=5)

    # the reference: `pattern.subn` with a replacement drawing from the same generator
    rng, pattern, table, expected = np.random.default_rng(5), terms.pattern(), terms.lookup(), []
    for text in base.texts:
        for _ in range(3):
            mapping = {}

            def replace(match):
                word = match.group(0)
                if word.lower() not in table:
                    return word
                g, k = table[word.lower()]
                if g not in mapping:
                    mapping[g] = int(rng.choice(terms.others(g, k)))
                new = terms.form(mapping[g], k)
                return new[:1].upper() + new[1:] if word[:1].isupper() and not new[:1].isupper() else new

            swapped, n = pattern.subn(replace, text)
            if not n:
                break
            expected.append(swapped)
    assert out.texts[len(base.texts):] == expected and out.copies == len(expected) > 0
    # matched through case rules that lower() does not invert, "İstanbul" and "ıranians" are kept as written
    kept = [t for t in expected if t.startswith("İstanbul and ıranians; ")]
    assert len(kept) == 3 and not any(t.endswith("IRANIAN") for t in kept)


def test_written_self_identification_rows_name_a_group_and_are_neutral(terms):
    # Short comments in which a reader says who they are: each must name a group of the terms file,
    # or it gets no counterfactual copies and teaches nothing about the other groups.
    import csv

    with open(ROOT / "labels" / "outlet" / "written.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["note"] == "neutral self-identification"]
    assert len(rows) >= 50
    pattern = terms.pattern()
    unnamed = [r["text"] for r in rows if not pattern.search(r["text"])]
    assert unnamed == []
    labelled = [r["text"] for r in rows if any(r[c] != "0" for c in ("profanity", "personal_attack",
                                                                    "identity_attack", "threat"))]
    assert labelled == []
    copies = {swap_groups(r["text"], terms, np.random.default_rng(0)) for r in rows}
    assert None not in copies and not copies & {r["text"] for r in rows}
