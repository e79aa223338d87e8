"""The compiled step 1 and pre-check (`moderation.folding`) against the Python code they replace:
`str.translate` with step 1's table, `_step_conditions`, and every step run on every text."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from moderation import folding, normalize as N
from moderation.normalize import normalize_batch, normalize_encoded
from tests.test_normalize import ADVERSARIAL, DISGUISES, OTHER_SCRIPTS, SENSIBLE, _random_strings

CURATED = [t for t, _ in DISGUISES + SENSIBLE + OTHER_SCRIPTS] + ADVERSARIAL + [
    "a b", "a b c", "x a b c y", "I am a b c", "aaa", "aa", "zzz top", "f.u.c.k", "f-u-c", "a$", "a$$", "@s",
    "@$", "a1", "a1b", "ᏸᏸ cherokee", "ꭰ", "ΣΑΣ", "ǅungla", "Ⅻ ½", "x\u0301\u0301", "\ud800", "ab\udfffcd",
]


def reference_normalize(text: str) -> str:
    """Step 1 by `str.translate`, then every one of steps 2-5, without any pre-check (step 4 on every
    run of stand-ins, not only those its compiled check picks; step 5 by its regular expressions)."""
    text = text.translate(N._TABLE)
    for step in N._STEPS:
        if step is N._unleet:
            step = N._unleet_python
        elif step is N._collapse_repeats:
            step = N._collapse_repeats_python
        text = step(text).replace(N._DELETED, "")
    return text


def corpus(seed: int) -> list[str]:
    return _random_strings(seed, 1500) + CURATED


@pytest.mark.parametrize("seed", [10, 11])
def test_the_compiled_path_normalises_as_every_step_would(seed: int) -> None:
    texts = corpus(seed)
    assert normalize_batch(texts) == [reference_normalize(t) for t in texts]


@pytest.mark.parametrize("seed", [12, 13])
def test_compiled_fold_and_pre_check_equal_translate_and_step_conditions(seed: int) -> None:
    texts = corpus(seed)
    N._fold_batch(texts, finish=False)  # the first pass learns the code points the table did not know
    cp, offsets, status = N._fold_batch(texts, finish=False)
    folded = [t.translate(N._TABLE) for t in texts]
    expected = N._step_conditions(folded)
    fast = status & folding.PYTHON == 0
    assert fast.mean() > 0.3  # the random strings are full of astral and multi-character folds
    for i in np.flatnonzero(fast):
        assert "".join(map(chr, cp[offsets[i] : offsets[i + 1]])) == folded[i], repr(texts[i])
        assert status[i] == expected[i], repr(texts[i])
    for i in range(len(texts)):  # the pre-check of one comment, astral characters included
        assert N._step_mask(folded[i]) == expected[i], repr(texts[i])
    for i in np.flatnonzero(~fast):  # the Python path: a character the table leaves to str.translate
        assert any(ord(c) > 0xFFFF or N._fold_codes()[ord(c)] == folding.SLOW for c in texts[i]), repr(texts[i])


def test_the_pre_check_looks_past_neither_end_of_a_comment() -> None:
    texts = ["a b", "a c", "aa", "a", "a", "a", "$", "@", "s", "x", "$", "b"]
    cp, offsets, status = N._fold_batch(texts, finish=False)
    assert status.tolist() == N._step_conditions(texts).tolist() == [0] * len(texts)
    # a stand-in at either end of a word may be a disguise when the word then may read as a word of
    # the vocabulary of four letters or more: the check is necessary, not sufficient
    texts = ["boob$", "$hit", "shi7", "3scort", "a$", "$a", "4am", "1st", "5"]
    cp, offsets, status = N._fold_batch(texts, finish=False)
    assert status.tolist() == N._step_conditions(texts).tolist() == [4, 4, 4, 4, 0, 0, 0, 0, 0]
    cp, offsets, status = N._fold_batch(["a b a", "baaad", "a$$", "@ss"], finish=False)
    assert status.tolist() == [2, 8, 4, 4]


def test_code_points_are_learned_once_and_change_nothing() -> None:
    texts = ["\u0a80\u0a81 new letters \u0a85", "Ünïcödé"]
    codes = N._fold_codes()
    codes[[0x0A81, 0x0A85, ord("Ü")]] = folding.UNKNOWN
    first = normalize_batch(texts)
    assert codes[0x0A85] != folding.UNKNOWN and codes[ord("Ü")] == ord("u")
    assert normalize_batch(texts) == first == [reference_normalize(t) for t in texts]


@pytest.mark.parametrize("lower", [True, False])
def test_normalize_encoded_is_the_code_points_of_normalize_batch(lower: bool) -> None:
    texts = corpus(14)
    expected = [t.lower() if lower else t for t in normalize_batch(texts)]
    cp, offsets = normalize_encoded(texts, lower=lower)
    assert cp.dtype == np.uint32 and offsets.dtype == np.int64
    assert np.diff(offsets).tolist() == [len(t) for t in expected]
    assert cp.tobytes().decode("utf-32-le") == "".join(expected)
    cp, offsets = normalize_encoded([], lower=lower)
    assert len(cp) == 0 and offsets.tolist() == [0]


def test_lower_casing_what_case_folding_left_in_capitals() -> None:
    # Cherokee letters fold to capitals, which str.lower turns back: those texts take the Python path
    cp, offsets = normalize_encoded(["ᏸᏸ", "ok"], lower=True)
    assert cp.tobytes().decode("utf-32-le") == "ᏸᏸ".casefold().lower() + "ok"
    assert normalize_batch(["ᏸᏸ"]) == ["ᏸᏸ".casefold()]


def test_the_pre_check_leaves_out_links_punctuation_and_whole_word_runs() -> None:
    texts = ["www.sh1t.com", "see http://x.y/f*ck?a=1_2", "mail jo_hn@ex-ample.com", "wow!! really?!", "user__",
             "zzz www", "http://wooow.com", "a@b.com sh1t", "sooo", "a_b"]
    cp, offsets, status = N._fold_batch(texts, finish=False)
    assert status.tolist() == N._step_conditions(texts).tolist() == [0, 0, 0, 0, 0, 0, 0, 4, 8, 4]
    assert normalize_batch(texts) == [reference_normalize(t) for t in texts]


def test_normalising_on_several_threads_at_once_while_the_table_learns() -> None:
    texts = corpus(15) + ["\u0a80\u0a81 new letters \u0a85 sh1t", "Ünïcödé fuuuck"] * 50
    expected = [reference_normalize(t) for t in texts]
    codes = N._fold_codes()
    codes[[0x0A81, 0x0A85, ord("Ü"), ord("ï"), ord("ö")]] = folding.UNKNOWN  # to be learned again, concurrently
    chunks = [texts[i : i + 97] for i in range(0, len(texts), 97)] * 3
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(normalize_batch, chunks))
        encoded = list(pool.map(lambda chunk: normalize_encoded(chunk, lower=True), chunks))
    assert sum(batches, []) == expected * 3
    assert "".join(cp.tobytes().decode("utf-32-le") for cp, _ in encoded) == "".join(t.lower() for t in expected) * 3


def test_the_compiled_link_finder_finds_what_the_links_regex_finds() -> None:
    rng = random.Random(16)
    pieces = ["http://", "https://", "www.", "@", ".", "-", "+", "_", "a", "b1", " ", "\u3000", "x.y", "é", "$", "/", "h"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for text in texts + ["mail john.doe1@example.com now", "see http://www.example.com/a?x=1 and a@b.c.d."]:
        cp = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        classes = N._classes()[cp]
        kept, kept_classes = cp.copy(), classes.copy()
        folding._nb_blank_links(cp, classes, kept, kept_classes, len(cp))
        outside = np.ones(len(text), bool)
        for m in N._LINKS.finditer(text):
            outside[m.start() : m.end()] = False
        assert ((kept != 0) == outside).all() and ((kept_classes != 0) <= outside).all(), repr(text)


REPEATS = ["fuuuuck", "sooo", "goood", "killl", "www", "KKK", "zzz top", "asss", "aaa bbb", "baaad", "cooool guyyy",
           "hellooo http://wooow.com/aaab", "mail fuuu@exaaample.com sooo", "ꭰꭰꭰa", "ééée", "xxxyyyzzz",
           "aaabbbcccdddeeefffggghhhiiijjj", "aaabbbcccdddeeefffggghhhiii", "\U0001d41a\U0001d41a\U0001d41ab",
           "nooo!!! yesss", "ssss", "a" * 40 + "b", "shiiit_fuuuck", "1aaa2", "loool", "meeeeeen"]


@pytest.mark.parametrize("seed", [17, 18])
def test_the_compiled_step_5_deletes_what_its_regular_expressions_delete(seed: int) -> None:
    texts = [t.translate(N._TABLE) for t in _random_strings(seed, 1500) + CURATED + REPEATS]
    rng = random.Random(seed)
    texts += ["".join(rng.choice("aaooe xs.@w:/") * rng.randint(1, 4) for _ in range(rng.randint(0, 12)))
              for _ in range(2000)]
    changed = 0
    for text in texts:
        assert N._collapse_repeats(text) == N._collapse_repeats_python(text), repr(text)
        changed += N._collapse_repeats(text) != text
    assert changed > 300


def test_step_5_alone_is_done_in_the_compiled_pass() -> None:
    texts = ["fuuuuck you", "sooo good", "sh1t sooo", "www zzz", "aaabbbcccdddeeefffggghhhiii"]
    cp, offsets, status = N._fold_batch(texts)
    assert status.tolist() == [0, 0, 12, 0, 8]  # step 4 first; nine runs in one word: the Python code
    assert [cp[a:b].tobytes().decode("utf-32-le") for a, b in zip(offsets[:-1], offsets[1:])][:4] == [
        "fuck you", "so good", "sh1t sooo", "www zzz"]
    assert normalize_batch(texts) == [reference_normalize(t) for t in texts]
