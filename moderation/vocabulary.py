"""The word list that normalisation consults to undo an ambiguous disguise.

A mask hides a letter without saying which ("wh*re", "sh*t"), a one-letter word runs into the
spaced-out letters after it ("what a f u c k"), and a stretched letter may stand for one or two
("goood", "killl"). Normalisation picks the reading that is a word of this list, the best-ranked
one when several are. The list ships with the code (`moderation/vocabulary.txt`) so that training
and scoring always read the same one; `python -m moderation.vocabulary` rebuilds it from the label
files.

Ranking: the words that occur in at least `MIN_COUNT` distinct comments, by their number of
comments times the cube of their lift: how many times more often than average a comment with the
word is labelled as a violation, in the category where that ratio is highest (a commenter masks
the words he expects a filter to catch: "wh*re" reads "whore", not the far more frequent "where";
"sh*t" "shit", not "shut"). Each word's share is shrunk towards the average by `PRIOR` comments,
so that a rare word needs evidence to rank high. Words whose lift reaches
`VIOLATION_LIFT` are marked as violation words (`word +` in the file). Words are
the ASCII-letter runs of the normalised texts.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["best_fit", "best_word", "build_vocabulary", "is_violation_word", "rank"]

PATH = Path(__file__).with_name("vocabulary.txt")
MIN_COUNT = 3
PRIOR = 20  # pseudo-comments at the average violation share added to every word's counts
VIOLATION_LIFT = 3.0  # a word whose lift reaches this is a violation word
_WORD = re.compile(r"(?<![\w'])[a-z]+(?![\w'])")


def build_vocabulary(texts: Sequence[str], labels: np.ndarray,
                     min_count: int = MIN_COUNT) -> list[tuple[str, bool]]:
    """(word, is a violation word) for the words of normalised `texts`, best-ranked first.

    `labels` is (n texts, n categories): 1 violation, 0 not, NaN unknown.

    >>> y = np.array([[1.0]] * 30 + [[0.0]] * 270)
    >>> build_vocabulary(["shit happens"] * 30 + ["shut the door"] * 30 + ["the door is open"] * 240, y)[:4]
    [('happens', True), ('shit', True), ('shut', False), ('is', False)]
    """
    from scipy.sparse import csr_matrix  # here: scoring imports this module, and needs no scipy

    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 2 or labels.shape[0] != len(texts):
        raise ValueError(f"labels: expected shape ({len(texts)}, categories), found {labels.shape}")
    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, text in enumerate(texts):
        for word in set(_WORD.findall(text)):
            rows.append(i)
            cols.append(index.setdefault(word, len(index)))
    words = list(index)
    has = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(words)))
    known = ~np.isnan(labels)
    bad = has.T @ np.where(known, labels >= 0.5, 0.0)  # (words, categories)
    seen = has.T @ known.astype(np.float64)
    base = np.maximum((labels >= 0.5).sum(0), 1) / np.maximum(known.sum(0), 1)  # per category
    share = (bad + PRIOR * base) / (seen + PRIOR)
    lift = (share / base).max(axis=1)
    count = np.asarray(has.sum(0)).ravel()
    keep = [j for j in range(len(words)) if count[j] >= min_count]
    keep.sort(key=lambda j: (-count[j] * lift[j] ** 3, words[j]))
    return [(words[j], bool(lift[j] >= VIOLATION_LIFT)) for j in keep]


@cache
def _words() -> tuple[str, dict[str, int], frozenset[str]]:
    """The shipped list as one newline-separated string (for pattern search), word → rank, and
    the violation words."""
    try:
        lines = PATH.read_text(encoding="ascii").splitlines()
    except OSError as exc:  # part of the package: its absence is a broken installation
        raise RuntimeError(f"{PATH}: the normalisation word list is missing ({exc}); reinstall the package") from None
    words = [line.split()[0] for line in lines if line.strip()]
    marked = frozenset(line.split()[0] for line in lines if line.endswith(" +"))
    return "\n" + "\n".join(words) + "\n", {w: i for i, w in enumerate(words)}, marked


def rank(word: str) -> int | None:
    """The rank of `word` in the list (0 is the best), None if it is not in it."""
    return _words()[1].get(word)


def is_violation_word(word: str) -> bool:
    """Whether `word` is one of the list's words seen mostly in violations.

    >>> is_violation_word("idiot"), is_violation_word("house")
    (True, False)
    """
    return word in _words()[2]


@cache
def _by_length() -> dict[tuple[int, str], str]:
    """The list split by word length, and by length and first letter, each part in rank order."""
    parts: dict[tuple[int, str], list[str]] = {}
    for word in _words()[1]:  # dicts keep insertion order: rank order
        parts.setdefault((len(word), ""), []).append(word)
        parts.setdefault((len(word), word[0]), []).append(word)
    return {key: "\n" + "\n".join(words) + "\n" for key, words in parts.items()}


@cache
def best_word(pattern: str, length: int | None = None) -> str | None:
    """The best-ranked word matching `pattern` (a regular expression over `[a-z]`, anchored), or None;
    with `length`, among the words of that length only (much faster).

    >>> best_word("sh[a-z]t"), best_word("wh[a-z]re", 5)
    ('shit', 'whore')
    """
    if length is None:
        haystack = _words()[0]
    else:
        literal = pattern[:1].isalpha() and pattern[1:2] not in ("{", "*", "+", "?")
        haystack = _by_length().get((length, pattern[0] if literal else ""), "")
    found = re.search(rf"\n(?:{pattern})\n", haystack)
    return found.group()[1:-1] if found else None


@cache
def _position_sets(length: int) -> tuple[list[str], tuple[dict[str, int], ...]]:
    """The list's words of `length` letters in rank order and, for each position and letter, the
    set of those words with that letter there, as the bits of an int (bit i: the i-th word)."""
    words = [w for w in _words()[1] if len(w) == length]
    if not words:
        return [], ()
    codes = np.frombuffer("".join(words).encode("ascii"), np.uint8).reshape(len(words), length)
    return words, tuple(
        {chr(c): int.from_bytes(np.packbits(codes[:, k] == c, bitorder="little").tobytes(), "little")
         for c in np.unique(codes[:, k]).tolist()}
        for k in range(length)
    )


@cache
def best_fit(letters: tuple[str, ...]) -> str | None:
    """The best-ranked word whose k-th letter is one of `letters[k]`, for every k, or None.

    The same answer as `best_word` for a pattern of one character class per letter, without
    compiling a regular expression for each new pattern.

    >>> best_fit(("s", "h", "abcdefghijklmnopqrstuvwxyz", "t")), best_fit(("w", "h", "aeiou", "r", "e"))
    ('shit', 'whore')
    """
    words, sets = _position_sets(len(letters))
    if not words:
        return None
    fits = -1  # every word
    for at, allowed in zip(sets, letters):
        if len(allowed) < 26:  # a position that allows every letter narrows nothing
            fits &= sum(at.get(c, 0) for c in set(allowed))
            if not fits:
                return None
    best = (fits & -fits).bit_length() - 1  # the lowest bit: the best-ranked word
    return words[best] if best >= 0 else None


def _main() -> None:
    """Rebuild `vocabulary.txt` from every label file (`python -m moderation.vocabulary [LABELS_DIR]`)."""
    import sys

    from moderation.labels import load_labels
    from moderation.normalize import normalize_batch
    from moderation.policy import Policy, default_policy_path

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("labels")
    if not PATH.exists():  # the first build normalises without a list
        PATH.write_text("", encoding="ascii")
    labels = load_labels([root], Policy.load(default_policy_path(root)))
    merged: dict[str, np.ndarray] = {}  # a comment labelled by several raters: a violation if any says so
    for text, row in zip(labels.texts, labels.values):
        known = merged.setdefault(text, np.full(len(row), np.nan))
        merged[text] = np.where(np.isnan(known), row, np.fmax(known, row))
    words = build_vocabulary(normalize_batch(list(merged)), np.array(list(merged.values())))
    PATH.write_text("".join(f"{w} +\n" if bad else f"{w}\n" for w, bad in words), encoding="ascii")
    print(f"{PATH}: {len(words)} words from {len(merged)} comments")


if __name__ == "__main__":
    _main()
