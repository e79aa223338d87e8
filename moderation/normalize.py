"""Text normalisation applied identically before training and scoring, with a map back to the original.

Each character of the original is replaced independently: compatibility decomposition (NFKD:
full-width letters, ligatures, superscripts), accents and other combining marks dropped, case
folded, zero-width and control characters removed (tabs and line breaks become spaces). Because
the replacement is per character, every output character comes from exactly one input character,
which is what `normalize_with_offsets` records so that evidence spans point at what the commenter
wrote.
"""

from __future__ import annotations

import unicodedata

import numpy as np

_SPACE_LIKE = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}


def _fold(char: str) -> str:
    """The normalised form of one character (possibly empty, possibly several characters)."""
    if char in _SPACE_LIKE:
        return " "
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn") and not char.isprintable():
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.combining(part) or unicodedata.category(part) in ("Mn", "Me", "Cf", "Cc"):
            continue
        out.append(part)
    return "".join(out).casefold()


class _FoldTable(dict):
    """A `str.translate` table that computes and caches each character's folded form on first use."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold(chr(codepoint))
        self[codepoint] = folded
        return folded


_TABLE = _FoldTable()


def normalize(text: str) -> str:
    """Normalise one comment.

    >>> normalize("Ｆｕｌｌ-width ÇAFÉ\\u200b\\n")
    'full-width cafe '
    """
    return text.translate(_TABLE)


def normalize_batch(texts: list[str]) -> list[str]:
    """Normalise many comments (same result as `normalize` on each)."""
    table = _TABLE
    return [t.translate(table) for t in texts]


def normalize_with_offsets(text: str) -> tuple[str, np.ndarray]:
    """Normalise and map back: `origin[i]` is the index in `text` of normalised character `i`.

    `origin` has one extra final entry, `len(text)`, so that a normalised span `[a, b)` maps to the
    original span `[origin[a], origin[b - 1] + 1)`.

    >>> norm, origin = normalize_with_offsets("Ä\\u200bb")
    >>> norm, origin.tolist()
    ('ab', [0, 2, 3])
    """
    table = _TABLE
    pieces = []
    origin = []
    for i, char in enumerate(text):
        folded = table[ord(char)]
        if folded:
            pieces.append(folded)
            origin.extend([i] * len(folded))
    origin.append(len(text))
    return "".join(pieces), np.asarray(origin, dtype=np.int64)


def original_span(origin: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Map a normalised span `[start, end)` back to the original text's span."""
    if end <= start:
        at = int(origin[start])
        return at, at
    return int(origin[start]), int(origin[end - 1]) + 1
