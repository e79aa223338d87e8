"""Whether the model can judge a comment: it learnt English written in Latin letters.

`assess_support` measures two things and says "unsupported" when either is far off:

- the script of the letters, after look-alike letters are folded as `normalize` folds them for
  the model: more than half of them in scripts other than Latin (Armenian, Cyrillic, Arabic, …)
  -> "unsupported language: mostly <the most frequent of them> script";
- the share of the distinct words that are common English words (`_COMMON_WORDS`, also when
  inflected, elongated or two of them glued together): below `MIN_ENGLISH_SHARE` over at least
  `MIN_JUDGED_WORDS` words -> "unsupported language: few English words" (transliterated
  Armenian, Turkish, Azerbaijani). Names, places and acronyms must not count against a comment,
  so a word that is not a common English word counts only when it is written in lower case (or
  most of the comment shouts in capitals); single letters, numbers, URLs, e-mail addresses and
  @mentions do not count at all. Foreign comments score 0-0.17, English ones with typos and
  slang rarely fall below 0.25.

A comment with fewer than two words (only emoji, punctuation, a number or a URL) is "too little text
to judge".

`_COMMON_WORDS` are the 2,000 words (lower case, apostrophes kept) found in the most comments of
the Jigsaw and Civil Comments samples in the team's shared data (English Wikipedia talk pages and
news-site comments, about 41,500 comments), skipping a word that another, more frequent one already
covers through the endings stripped by `_variants`, and words of one repeated letter. They include
profanity on purpose: an abusive English comment is English.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import not_
from typing import Iterator

import numpy as np

from moderation.normalize import _fold as _fold_script
from moderation.normalize import normalize, normalize_batch, script_of

__all__ = [
    "Support",
    "assess_support",
    "assess_support_many",
    "supported_many",
    "MAX_OTHER_SCRIPT_SHARE",
    "MIN_ENGLISH_SHARE",
    "MIN_JUDGED_WORDS",
    "MIN_WORDS",
]

MIN_WORDS = 2
MIN_JUDGED_WORDS = 4
MIN_ENGLISH_SHARE = 0.2
MAX_OTHER_SCRIPT_SHARE = 0.5

_IGNORED = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_REPEATS = re.compile(r"(.)\1\1+")
_ENDINGS = (
    "'s", "'ll", "'re", "'ve", "'d", "'m", "s", "es", "ed", "d", "ing", "ly", "er", "ers", "est",
    "ness", "ment", "ments", "ful", "less", "ism", "ist", "ists", "ity", "ation", "ations", "ian",
    "ians", "ese",
)  # fmt: skip


@dataclass(frozen=True)
class Support:
    """Whether the model can judge a comment, why not, and the measures behind the answer."""

    supported: bool
    reason: str  # "" when supported
    latin_share: float  # share of the letters that are Latin (0.0 without letters)
    english_share: float  # share of the judged words that are common English words (1.0 if none)
    words: int  # word tokens, in any script


def assess_support(text: str) -> Support:
    """Whether the model, trained on English comments, can judge `text`.

    >>> assess_support("You are all liars, Aliyev and Sarkisian alike").supported
    True
    >>> assess_support("Hayer miyatsek hayrenikoom amenorya kasharakerootyan dem").reason
    'unsupported language: few English words'
    >>> assess_support("Россия и Армения").reason
    'unsupported language: mostly Cyrillic script'
    >>> assess_support("👍👍 https://example.com").reason
    'too little text to judge'
    """
    return assess_support_many([text])[0]


def assess_support_many(texts: list[str]) -> list[Support]:
    """`[assess_support(t) for t in texts]`, quicker: the texts that need the model's view of their
    letters are normalised together.

    >>> [s.supported for s in assess_support_many(["You are all liars", "Россия и Армения"])]
    [True, False]
    """
    cleaned = [_without_links(t) for t in texts]
    return _assess_cleaned(cleaned, [_mostly_common(t) if t.isascii() else None for t in cleaned],
                           [t.isascii() or _latin_only(t) for t in cleaned])


def _assess_cleaned(cleaned: list[str], out: list[Support | None], latin: list[bool]) -> list[Support]:
    """`assess_support_many` of texts whose links are blanked (`cleaned`), given `_mostly_common` of
    the ASCII ones (or None where it is known to be None) and which of them are ASCII or `_latin_only`."""
    words = [None if support else _ascii_words(t) if t.isascii() else _WORD.findall(t)
             for t, support in zip(cleaned, out)]
    out = [support or (_common_english(t, w) if t.isascii() else None) for t, w, support in zip(cleaned, words, out)]
    pending = [i for i, t in enumerate(cleaned) if out[i] is None and not latin[i]]
    # the letters the model sees: "уоu аrе" in Cyrillic look-alikes is Latin to it
    normalized = dict(zip(pending, normalize_batch([cleaned[i] for i in pending])))
    for i, support in enumerate(out):
        if support is None:
            text = cleaned[i]
            if text.isascii():
                scripts = Counter({"L": sum(map(len, words[i]))})
            elif i in normalized:
                scripts = Counter("".join(_WORD.findall(normalized[i])).translate(_SCRIPT_CODES))
            else:  # `_latin_only`: its normalised letters are all Latin, and there is one at least
                scripts = Counter({"L": 1})
            out[i] = _assess(text, words[i], scripts)
    return out


def _latin_only(text: str) -> bool:
    """True if `normalize(text)` has a letter and all its letters are Latin, as told without
    normalising: `text` has an ASCII letter and none of its characters folds to a letter of
    another script.

    Proof from `normalize`'s steps: step 1 folds each character on its own (`_fold`, the table
    `_fold_script` reads); steps 2-5 keep a letter, delete a separator, shorten a run of one letter
    to one or two, or write ASCII letters (look-alikes' targets, leetspeak and the vocabulary's
    words are ASCII). So the letters of other scripts in the normalised text are among those step 1
    makes, and an ASCII letter of `text` leaves at least one letter.
    """
    if not _HAS_ASCII_LETTER.search(text):
        return False
    odd = set(_NON_ASCII.findall(text)) - _LATIN_FOLDS
    if not odd:
        return True
    for char in odd:
        if not _folds_to_latin(char):
            return False
        _LATIN_FOLDS.add(char)
    return True


def _folds_to_latin(char: str) -> bool:
    """Whether step 1 of normalisation turns `char` into no letter of a script other than Latin."""
    return all(_SCRIPT_CODES[ord(c)] in ("", "L") for c in _fold_script(char))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_HAS_ASCII_LETTER = re.compile(r"[A-Za-z]")
_LATIN_FOLDS: set[str] = set()  # non-ASCII characters seen that `_folds_to_latin`


def _without_links(text: str) -> str:
    """`text` with its URLs, e-mail addresses and @mentions blanked: they are no words of a language.

    Only the pieces between spaces that hold "@", "://" or "www." are searched: a link or an
    address holds no white space and one of those, and the pattern looks at nothing around a match.
    """
    if "@" not in text and "://" not in text and "www." not in text:
        return text
    pieces, at = [], 0
    for start, end in _link_pieces(text):
        pieces += [text[at:start], _IGNORED.sub(" ", text[start:end])]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def _link_pieces(text: str) -> list[tuple[int, int]]:
    """The (start, end) of the pieces between spaces of `text` that hold "@", "://" or "www.", in
    order, found by `str.find` (a regular expression of the marks tries every position)."""
    spans = set()
    for mark in ("@", "://", "www."):
        at = text.find(mark)
        while at >= 0:
            end = text.find(" ", at)
            end = len(text) if end < 0 else end
            spans.add((text.rfind(" ", 0, at) + 1, end))
            at = text.find(mark, end)
    return sorted(spans)


def _ascii_links_blanked(texts: list[str]) -> list[str]:
    """`_without_links` of each ASCII text, but each match blanked with as many spaces as it has
    characters (the same words, at the same places), by `_nb_blank_links` over all the texts at once."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(bytearray("".join(texts).encode("ascii")), dtype=np.uint8)
    if len(texts):
        _blank_kernel()(data, offsets, _LINK_CLASSES)
    blanked = data.tobytes().decode("ascii")
    bounds = offsets.tolist()
    return [blanked[a:b] for a, b in zip(bounds, bounds[1:])]


@lru_cache(maxsize=1)
def _blank_kernel():  # noqa: ANN202 - a numba dispatcher
    """`_nb_blank_links` compiled (numba is imported only when a batch is blanked)."""
    from moderation.kernels import _jit

    return _jit(_nb_blank_links)


def _nb_blank_links(data, offsets, classes):  # noqa: ANN001, ANN201
    r"""Blank with spaces, in each ASCII text `data[offsets[i]:offsets[i + 1]]`, what `_IGNORED.sub`
    replaces: scanning left to right, at each position the first of its branches that matches there
    (a URL: "http://", "https://" or "www." and no white space; an address:
    `[\w.+-]+@[\w-]+(?:\.[\w-]+)+`; a mention: "@" and word characters), and on after it.

    `classes[c]` has bit 1 for a word character, 2 for one of an address's user part, 4 for one of
    its domain, 8 for white space (as the pattern reads ASCII). An address's parts are the longest
    runs of their characters: none of its "@" or "." is one, so a shorter run cannot be followed
    by them; and the run of the user part is the same from each of its positions (kept in `run`).
    """
    for i in range(len(offsets) - 1):
        lo, hi = offsets[i], offsets[i + 1]
        p = lo
        run = lo  # where the run of user-part characters holding p ends, if p < run
        while p < hi:
            c = data[p]
            end = -1
            if c == 104 or c == 119:  # "h", "w"
                q = -1
                if c == 104 and p + 4 <= hi and data[p + 1] == 116 and data[p + 2] == 116 and data[p + 3] == 112:
                    r = p + 4 + (1 if p + 4 < hi and data[p + 4] == 115 else 0)  # "http", "https"
                    if r + 3 <= hi and data[r] == 58 and data[r + 1] == 47 and data[r + 2] == 47:  # "://"
                        q = r + 3
                elif c == 119 and p + 4 <= hi and data[p + 1] == 119 and data[p + 2] == 119 and data[p + 3] == 46:
                    q = p + 4  # "www."
                if q >= 0 and q < hi and not classes[data[q]] & 8:
                    end = q
                    while end < hi and not classes[data[end]] & 8:
                        end += 1
            if end < 0 and classes[c] & 2:
                if p >= run:
                    run = p
                    while run < hi and classes[data[run]] & 2:
                        run += 1
                if run < hi and data[run] == 64:  # "@"
                    d = run + 1
                    while d < hi and classes[data[d]] & 4:
                        d += 1
                    if d > run + 1:
                        while d < hi and data[d] == 46:  # "."
                            f = d + 1
                            while f < hi and classes[data[f]] & 4:
                                f += 1
                            if f == d + 1:
                                break
                            end = d = f
            if end < 0 and c == 64:
                e = p + 1
                while e < hi and classes[data[e]] & 1:
                    e += 1
                if e > p + 1:
                    end = e
            if end >= 0:
                for q in range(p, end):
                    data[q] = 32
                p = end
            else:
                p += 1


def _link_classes() -> np.ndarray:
    """`_nb_blank_links`' character classes, as `_IGNORED` reads ASCII."""
    classes = np.zeros(256, dtype=np.uint8)
    for c in range(128):
        char = chr(c)
        if re.fullmatch(r"\w", char):
            classes[c] |= 1 | 2 | 4
        if char in ".+-":
            classes[c] |= 2
        if char == "-":
            classes[c] |= 4
        if re.fullmatch(r"\s", char):
            classes[c] |= 8
    return classes


_LINK_CLASSES = _link_classes()


def _mostly_common(text: str) -> Support | None:
    """Supported, if the common English words among the distinct words of an ASCII `text` make at
    least the required share of all its words (repeats and single letters included); else None.

    The quickest test, as no word keeps its case: the distinct words are never more than all the
    words, so this implies `_common_english`'s test.
    """
    counts = _mostly_common_counts(text)
    if counts is None:
        return None
    n, common = counts
    return Support(True, "", latin_share=1.0, english_share=round(common / n, 4), words=n)


def _mostly_common_counts(text: str) -> tuple[int, int] | None:
    """`_mostly_common`'s test without building the `Support`: (words, distinct common words) if it passes."""
    n, common = _common_counts(text)
    return (n, common) if n >= MIN_WORDS and common >= MIN_ENGLISH_SHARE * n else None


def _common_counts(text: str) -> tuple[int, int]:
    """(words, distinct common English words) of an ASCII `text`, lower-cased: `_ascii_words(text.lower())`
    counted on bytes, where translating and splitting take a fraction of the time they take on a str."""
    raw = text.encode("ascii").translate(_LOWER_SEPARATORS)
    if b"'" in raw and (b" '" in raw or b"' " in raw or b"''" in raw or raw[:1] == b"'" or raw[-1:] == b"'"):
        raw = _LOOSE_APOSTROPHE_BYTES.sub(b" ", raw)  # else every apostrophe joins two letters
    words = raw.split()
    return len(words), len(_COMMON_LONGER_BYTES.intersection(words))


def _common_counts_many(texts: list[str], marked: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`_common_counts` of each ASCII text, as two int64 arrays (words, distinct common words),
    counted by a compiled kernel over all the texts' bytes at once; `marked=True` takes texts
    outside ASCII too, their characters outside ASCII read as `_kernel_marks` marks them."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(texts)
    if marked:
        if "\x01" in joined or "\x02" in joined:  # the marks' bytes: spaces, as `_LOWER_SEPARATORS` makes them
            joined = joined.replace("\x01", " ").replace("\x02", " ")
        raw = joined.encode("ascii", _MARKS).translate(_MARKED_SEPARATORS)
    else:
        raw = joined.encode("ascii").translate(_LOWER_SEPARATORS)
    data = np.frombuffer(raw, dtype=np.uint8)
    words, common = np.zeros(len(texts), np.int64), np.zeros(len(texts), np.int64)
    if len(texts):
        slots, chars, starts = _common_table()
        _count_kernel()(data, offsets, slots, chars, starts, words, common)
    return words, common


@lru_cache(maxsize=1)
def _common_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_COMMON_LONGER_BYTES` as an open-addressing hash table for `_nb_common_counts`: the slots
    (word index or -1), the words' bytes end to end and where each starts (and the last ends)."""
    words = sorted(_COMMON_LONGER_BYTES)
    starts = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=starts[1:])
    chars = np.frombuffer(b"".join(words), dtype=np.uint8)
    size = 1 << (2 * len(words) - 1).bit_length()  # at most half full
    slots = np.full(size, -1, dtype=np.int64)
    for k, word in enumerate(words):
        at = _fnv1a(word) & (size - 1)
        while slots[at] >= 0:
            at = (at + 1) & (size - 1)
        slots[at] = k
    return slots, chars, starts


def _fnv1a(word: bytes) -> int:
    """The 64-bit FNV-1a hash of `word`, as `_nb_common_counts` computes it."""
    h = 0xCBF29CE484222325
    for byte in word:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


@lru_cache(maxsize=1)
def _count_kernel():  # noqa: ANN202 - a numba dispatcher
    """`_nb_common_counts` compiled (numba is imported only when a batch is counted)."""
    from moderation.kernels import _jit

    return _jit(_nb_common_counts)


def _nb_common_counts(data, offsets, slots, chars, starts, words, common):  # noqa: ANN001, ANN201
    """For each text `data[offsets[i]:offsets[i + 1]]` (bytes translated by `_LOWER_SEPARATORS`:
    letters a-z, apostrophes, spaces; or by `_MARKED_SEPARATORS`, which also keeps the marks of
    `_kernel_marks`): its words (runs of letters, with each apostrophe that has a letter on both
    sides) into `words[i]`, and how many distinct ones are in the table into `common[i]`.

    Every byte but a space (32), an apostrophe (39) and the mark of "’" (1), which joins as an
    apostrophe does, is a letter."""
    mask = np.uint64(len(slots) - 1)
    stamp = np.full(len(starts) - 1, -1, np.int64)  # the last text each common word was counted for
    for i in range(len(offsets) - 1):
        lo, hi = offsets[i], offsets[i + 1]
        p = lo
        while p < hi:
            c = data[p]
            if c == 32 or ((c == 39 or c == 1) and not (
                    p > lo and data[p - 1] != 32 and data[p - 1] != 39 and data[p - 1] != 1
                    and p + 1 < hi and data[p + 1] != 32 and data[p + 1] != 39 and data[p + 1] != 1)):
                p += 1
                continue
            start = p
            h = np.uint64(0xCBF29CE484222325)
            while p < hi:
                c = data[p]
                if c == 32:
                    break
                if (c == 39 or c == 1) and not (data[p - 1] != 32 and data[p - 1] != 39 and data[p - 1] != 1
                                                and p + 1 < hi and data[p + 1] != 32 and data[p + 1] != 39
                                                and data[p + 1] != 1):
                    break
                h = (h ^ np.uint64(c)) * np.uint64(0x100000001B3)
                p += 1
            words[i] += 1
            at = h & mask
            while slots[at] >= 0:
                k = slots[at]
                a, b = starts[k], starts[k + 1]
                if b - a == p - start:
                    same = True
                    for j in range(p - start):
                        if chars[a + j] != data[start + j]:
                            same = False
                            break
                    if same:
                        if stamp[k] != i:
                            stamp[k] = i
                            common[i] += 1
                        break
                at = (at + np.uint64(1)) & mask


def supported_many(texts: list[str]) -> list[bool]:
    """`[assess_support(t).supported for t in texts]`, quicker: most texts are settled by counting
    common words, without the measures of a `Support`.

    >>> supported_many(["You are all liars", "Россия и Армения"])
    [True, False]

    The count settles a text, URLs and addresses blanked, that is ASCII (`_mostly_common_counts`'
    test), or whose letters are all Latin to the model (`_latin_only`): then the full check's
    `_common_english` counts as many words and the same common ones, the words with a letter
    outside ASCII or a "’" never being common (`_kernel_marks` marks them so).
    """
    out: list[bool | None] = [None] * len(texts)
    ascii_texts = list(map(str.isascii, texts))
    others = list(compress(range(len(texts)), map(not_, ascii_texts)))
    ascii = list(compress(range(len(texts)), ascii_texts))
    cleaned = list(texts)
    linked = [i for i in ascii if "@" in texts[i] or "://" in texts[i] or "www." in texts[i]]
    for i, text in zip(linked, _ascii_links_blanked([texts[i] for i in linked])):
        cleaned[i] = text  # blanked with as many spaces as a link has characters: the same words
    for i in others:
        cleaned[i] = _without_links(texts[i])
    ascii += [i for i in others if cleaned[i].isascii()]  # outside ASCII only in a link
    latin = [i for i in others if not cleaned[i].isascii() and _latin_only(cleaned[i])]
    for group, counts in ((ascii, _common_counts_many([cleaned[i] for i in ascii])),
                          (latin, _common_counts_many([cleaned[i] for i in latin], marked=True))):
        words, common = counts
        passes = (words >= MIN_WORDS) & (common >= MIN_ENGLISH_SHARE * words)  # `_mostly_common_counts`' test
        for i in np.asarray(group, dtype=np.int64)[passes].tolist():
            out[i] = True
    rest = [i for i, supported in enumerate(out) if supported is None]
    # the texts left failed `_mostly_common` if ASCII; `_latin_only` was told for the others
    latin_only = set(ascii).union(latin)
    for i, support in zip(rest, _assess_cleaned([_without_links(texts[i]) for i in rest], [None] * len(rest),
                                                [i in latin_only for i in rest])):
        out[i] = support.supported
    return out


def _kernel_marks(error: UnicodeEncodeError) -> tuple[str, int]:
    """The encoding error handler that makes a text ASCII for `_nb_common_counts` without moving
    its words: "’" (which joins letters as an apostrophe does) becomes the mark \\x01, any other
    letter outside ASCII (as `_WORD` reads letters) the mark \\x02, any other character a space."""
    return error.object[error.start : error.end].translate(_KERNEL_MARKS), error.end


class _KernelMarks(dict):
    """`_kernel_marks`' `str.translate` table, filled as characters come."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        code = "\x01" if char == "’" else "\x02" if _WORD.fullmatch(char) else " "
        self[codepoint] = code
        return code


_KERNEL_MARKS = _KernelMarks()
_MARKS = "moderation.language.kernel_marks"
codecs.register_error(_MARKS, _kernel_marks)


def _common_english(text: str, words: list[str], latin_share: float = 1.0) -> Support | None:
    """Supported, if enough of the distinct words are common English words as written; else None.

    The fast path for the common case, with the outcome of the full check (`_assess`) when the
    letters' scripts pass: the full English share can only be higher, as it also counts inflected
    and glued words and leaves names out. Only ASCII words are looked up, as written (lower-cased).
    """
    if len(words) < MIN_WORDS:
        return None
    distinct = set(words)
    if text.isascii():  # lower-casing keeps an ASCII word's length
        distinct -= _SINGLE_LETTERS  # words of one letter are not judged
        judged = len(distinct)
        common = len(set(map(str.lower, distinct)) & _COMMON_LONGER_WORDS)
    else:  # the common words are ASCII and longer than one letter: the rest need no filter
        judged = len(distinct) - list(map(len, distinct)).count(1)
        common = len(_COMMON_LONGER_WORDS.intersection(map(str.lower, filter(str.isascii, distinct))))
    if not judged:
        return None
    if common >= MIN_ENGLISH_SHARE * judged:
        return Support(True, "", latin_share=latin_share, english_share=round(common / judged, 4), words=len(words))
    return None


def _assess(text: str, words: list[str], scripts: Counter[str]) -> Support:
    """The full check of `text` (URLs and addresses blanked), given its words and the scripts of
    the letters of its normalised words (`_SCRIPT_CODES`' codes, counted)."""
    total = sum(scripts.values())
    latin_share = scripts["L"] / total if total else 0.0
    if total and 1 - latin_share > MAX_OTHER_SCRIPT_SHARE:
        english_share, _ = _english_share(words)
        name = _SCRIPT_CODES.name(max((n, code) for code, n in scripts.items() if code != "L")[1])
        return Support(False, f"unsupported language: mostly {name} script", latin_share=round(latin_share, 4),
                       english_share=round(english_share, 4), words=len(words))
    if not text.isascii():  # an ASCII text's fast path was tried first
        fast = _common_english(text, words, round(latin_share, 4))
        if fast is not None:
            return fast
    english_share, judged = _english_share(words)
    measures = dict(latin_share=round(latin_share, 4), english_share=round(english_share, 4), words=len(words))
    if len(words) < MIN_WORDS:
        return Support(False, "too little text to judge", **measures)
    if judged >= MIN_JUDGED_WORDS and english_share < MIN_ENGLISH_SHARE:
        return Support(False, "unsupported language: few English words", **measures)
    return Support(True, "", **measures)


# ASCII characters other than letters and the apostrophe, as spaces: splitting an ASCII text
# translated with it gives `_WORD`'s words, except around apostrophes (see `_ascii_words`).
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalpha() and chr(c) != "'"})


def _ascii_words(text: str) -> list[str]:
    """`_WORD.findall(text)` for an ASCII `text`, several times faster: words are runs of letters,
    joined by an apostrophe between two letters, so the other apostrophes are separators too."""
    pieces = text.translate(_ASCII_SEPARATORS)
    if "'" in pieces and (" '" in pieces or "' " in pieces or "''" in pieces or pieces[0] == "'" or pieces[-1] == "'"):
        pieces = _LOOSE_APOSTROPHE.sub(" ", pieces)
    return pieces.split()


# An apostrophe that does not join two ASCII letters (in a text already translated with the tables above).
_LOOSE_APOSTROPHE = re.compile(r"'(?:(?<![A-Za-z]')|(?![A-Za-z]))")
_LOOSE_APOSTROPHE_BYTES = re.compile(rb"'(?:(?<![a-z]')|(?![a-z]))")
# `_ASCII_SEPARATORS` and lower-casing in one table, for ASCII bytes.
_LOWER_SEPARATORS = bytes(ord(chr(c).lower()) if c < 128 and (chr(c).isalpha() or chr(c) == "'") else ord(" ")
                          for c in range(256))
# `_LOWER_SEPARATORS` keeping `_kernel_marks`' marks (\x01 for "’", \x02 for another letter outside ASCII).
_MARKED_SEPARATORS = bytes(c if c in (1, 2) else _LOWER_SEPARATORS[c] for c in range(256))


def _english_share(words: list[str]) -> tuple[float, int]:
    """The share of judged distinct words that are common English words, and how many were judged.

    Distinct words, so that spam repeating one word ("poop poop poop …") weighs as one word.
    """
    shouting = sum(map(str.isupper, words)) * 2 > len(words)
    hits = judged = 0
    for word in set(words):
        if len(word) < 2:
            continue
        if _is_english(word):
            hits += 1
            judged += 1
        elif word.islower() or (shouting and word.isupper()):
            judged += 1
    return (hits / judged if judged else 1.0), judged


@lru_cache(maxsize=1 << 16)
def _is_english(word: str) -> bool:
    """A common English word, maybe capitalised, inflected ("parties"), elongated ("fuuuck") or
    two glued together ("fuckface")."""
    word = word.lower() if word.isascii() else normalize(word).replace("’", "'")
    if word in _COMMON_WORDS:
        return True
    word = _REPEATS.sub(r"\1", word)
    if any(v in _COMMON_WORDS for v in _variants(word)):
        return True
    return any(
        word[:i] in _COMMON_WORDS and any(v in _COMMON_WORDS for v in _variants(word[i:]))
        for i in range(3, len(word) - 2)
    )


def _variants(word: str) -> Iterator[str]:
    """`word` and the stems it may have: "parties" -> "party", "stopped" -> "stop", "making" -> "make"."""
    yield word
    if len(word) > 4 and word.endswith(("ies", "ied", "ily")):
        yield word[:-3] + "y"
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            stem = word[: -len(ending)]
            yield stem
            yield stem + "e"
            if stem[-1] == stem[-2]:
                yield stem[:-1]


class _ScriptCodes(dict):
    """A `str.translate` table: a letter becomes "L" if Latin, else one private-use character per
    script; other characters (and letters of no particular script) vanish."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        script = script_of(char) if char.isalpha() else "COMMON"
        if script in ("COMMON", "INHERITED", "Unknown"):
            code = ""
        elif script == "LATIN":
            code = "L"
        else:
            code = next((c for c, s in self._names.items() if s == script), None)
            if code is None:
                code = chr(0xE000 + len(self._names))
                self._names[code] = script
        self[codepoint] = code
        return code

    def name(self, code: str) -> str:
        """The readable name of a script code: "Armenian", "Canadian Aboriginal"."""
        return self._names[code].replace("_", " ").title()


_SCRIPT_CODES = _ScriptCodes()

_COMMON_WORDS = frozenset(
    """
    the to a and of is you i that in it for this not are on be have with as your if but or an was
    what so do from at all about by my just no like can will article me they has there one talk
    would page who don't wikipedia he more we should people been please out up any how some his
    think other see know get because it's when which only here why their now also time them then
    being i'm than did stupid even make am good well were these edit want does go way right thanks
    very could use need had trump really such say again much may those its too our into him over
    where many first take look made going back same most own user thank another stop information us
    still before after said new never someone find idiot read work something i've since can't off
    help better name doesn't nothing point two fact anything without sources put actually source
    thing wp little believe done sure section keep didn't years add comment discussion s anyone
    while her utc person world might blocked reason hope every problem yourself feel history place
    come both let already trying free give deleted i'll against wrong down seems under using got
    left case long last removed best life she ever change part man try isn't however understand real
    great doing link yes enough sorry personal must question content hi wiki mean day agree probably
    yet few ask else editors post though block list least around maybe note either far country
    called continue deletion state rather thought he's always remove fuck show http ignorant bad
    issue through vandalism above tell welcome support policy oh leave old matter simply once
    instead call white word etc non lot check clearly found com perhaps different care quite example
    true year seem given re until away delete opinion e government kind idea course u big guy less
    cannot write president war hello reference editor start correct t between reliable contributions
    i'd further based bit whole important end original crap everyone account hey site subject next
    mind created dumb image number ip clear american message view pathetic evidence top seen money
    ass whether encyclopedia c shit ok text each media full everything hard public hate self request
    consider consensus sense stuff reverted guess job dont three claim second following several
    racist party admin won't fool written attack love exactly revert possible mention pretty english
    live notice political move term group anyway ago vote god create nice able including address
    truth law research certainly moron wasn't completely power today known current obviously damn
    black material fair happy themselves high school book website general order learn provide
    explain ridiculous remember especially during myself anti past himself tag nonsense include
    regarding hell review liberal wish line main notable loser pov unless version date head canada
    redirect answer interest suggest language stay wouldn't rules style f america human org whatever
    run single although itself yeah pay become topic according taken common related came relevant
    took per position discuss rest future sign template family story complete system piece appears
    contribs entire nor seriously mr report appropriate recent kill soon false lol four poor aren't
    argument g info response attention wrote community house p d later similar within obama title
    warning sentence haven't fine picture side sort alone city deal fix specific silly business
    along sandbox often cause hand en speedy guidelines game b goes almost project lost suck th
    vandalize criteria troll women face due went liar happened lead m simple death copyright process
    below bunch therefore play watch major lies home quote told saw involved set united cheers
    office neutral regards appreciate form faith act follow obvious sick indeed wonder national
    small actual level lying together otherwise official particular actions allowed wow open ban
    serious summary rule wait short wing decide civil except internet respect enjoy five certain
    contributing children present reply bring disagree absolutely none dead sad shouldn't week speak
    friends garbage action control company behind idiotic doubt class knowledge heard avoid men tax
    disgusting half proof attempt google third shut hillary bitch gave large stand months gay
    various situation supposed election thus valid notability published type allow search multiple
    hear close cut upon happen special couple im appear lack gone result we're members ignorance
    aware test police legal finally exist entry sounds difference friend total status accept area
    paragraph addition prove clinton million expect die apparently necessary cited easy period jerk
    funny dispute file administrator contact dick behavior web nobody online hours record lie ignore
    available society proper trudeau john n copy definition previous explanation born turn jpg
    realize improve ahead citation woman chance biased muslim category fake donald couldn't team
    science bill worth debate description bias decision cite joke low child across sound assume okay
    worse context fun huge meant standard author military social figure automatically trash usa
    definitely outside v boy r stick npov folks o manual save july contribute email middle sometimes
    specifically violation knew accurate purpose beyond clown despite btw member conflict tv waste k
    break kids elected historical directly hit earth wikiproject british refer among russian
    republicans sex north abuse asshole quality tildes campaign w usually mine illegal unfortunately
    irrelevant red republican gun evil proposed nation service unblock earlier pro hopefully music
    race light video advice fight crazy series mistake produce hypocrite typical username listen
    sock neither south criticism amount field release corrupt direct university possibly age crime
    merely politics religious respond young separate sent film paid excuse canadian fire external
    russia culture uploaded front anymore failed bs agenda uk force box trouble glad experience
    described background fat religion meet incorrect send reasonable admit late population
    individual protect effort press brain space education worst somebody forward mouth dear
    basically inappropriate march character theory shown towards son win land criminal mother
    removal january propaganda details early local christian international body wikipedian speech
    events x primary cover private health scum concerns concerned nature brought usual gonna ill
    french basis regardless night hold democrats dog rid afd pillars straight plain access anybody
    august de blame bullshit choice april table computer cant acceptable somewhere significant court
    won clean pass immediately disruptive june shot century air required argue buy vandal error
    moment nazi co al proven basic jews difficult modern minor conservative inclusion king song
    contest contribution independent value st november indicate luck october alaska fit east deserve
    defend western quit html bottom step belong share oil tired month german tutorial photo december
    strong spend dude water negative whose shame fan paper china college join board repeatedly
    building logic count zero detail mess remain mark chinese europe archive effect popular
    verifiable experiment missing episode federal incompetent imagine judge plus somehow forget held
    quick spam february suspect apply data plan shoot terrorist bet violence fully thousands program
    factual sexual practice cool surprised hypocrisy suppose street economy final arrogant
    responsible received limited flag freedom near september extremely india charge west trust eyes
    creation security church pure hasn't anywhere return event suggestion throw prefer lose insult y
    concern smart honest prevent prior describe legitimate worry familiar whom concept citizens grow
    focus kept beginning academic ya pig eat foreign size choose sir raised importance double fall
    busy perfect fail lazy besides unsigned politicians accusations accused controversial mental
    ugly threat we'll elsewhere scientific favor eye candidate father became congress shall un dr
    foolish l organization additional damage rich normal requires fellow replace drive push parents
    david coward afraid dangerous mail nominated fascist format sockpuppet destroy solution army
    pussy confused log study update id behaviour tone positive nomination forum established room
    hole youtube spent via plenty newspaper club protection benefit jewish preceding infobox islam
    ad unsourced intended drop encyclopedic apologize wife hide approach index everybody refrain
    incident album base featured battle ha missed h angry murder road ground hence kid constructive
    justin hour opposed rock town cost contributors j numerous ready israel season european beat
    bush product weak bot bear somewhat bold faggot felt expert bully justice ethnic introduction
    forgot ps map key license weren't minutes hurt property thread unnecessary net jesus build click
    pm pick guideline fear rude car twice verify indian conversation george cunt ability upload hot
    york exact regard eventually chief justify germany traitor merge food islamic instance fox
    buffoon rfc movie vs color paul alternative insert hawaii intelligence art input reached blood
    laugh green professional girl helpme climate administration opportunity fault constantly blind
    male unlike controversy range planet harassment throughout republic promote broken peace
    advertising frankly village touch conspiracy hesitate proposal offensive greek guide border
    refuse require attitude conclusion blatant semi compared we've critical biographies dark caught
    hundreds star heart coverage mass confirm african wall solid sit phrase market kick role
    economic innocent cock track global educated sake medical php baby associated industry object
    anonymous stub oppose rd biography weight resources defense democratic code korea ah carry
    rationale extreme sheep huh secondary active usage nasty voice dirty furthermore existence
    handle hitler birth butt union threatening impact begin native equal excellent jail morning
    serve easier warned insane spelling blog fast impossible express nd degree dollars ga clue gop
    fill nut dare rate development carefully investigation spread represent natural magazine
    influence burn match credit met brief misleading wide communist famous utter hypocritical rape
    repeat drug failure amazing reflect childish football whatsoever fraud unable contains chat
    analysis literally michael opposite six hatred democracy contrary demand barnstar perspective
    massive washington restored students built safe yo didnt rs defined arbitration potential
    whoever develop sell strange mainstream reach average guilty treated victim complain energy wake
    pot ani tool pre blue puppet terrible compromise latter toward deep constitution understood
    sufficient england beliefs cross library bank regular promise inside random proud recognize cold
    penis identity risk noticeboard intelligent origin bc responsibility central nuclear center
    moral participate protest userpage peer forever diff prime verifiability visit stuck cultural
    informed db horrible cry tend onto interpretation decades park county democrat harm worthy
    progress blank disambiguation prison cat belief iran female absolute violate council contain
    location lunatic annoying brown logical intention door load idiocy raise walk connection
    confusion engage yep eh tomorrow ran ur ie james balls confusing accusing miss label alt
    resolution kingdom australia objective committed spanish led balance structure putin don hero
    brother feedback gas france tom located permission method apart island debt ancient network
    trade con irish ten heck weapons moronic petty draft billion empire eastern reaction minister
    disgrace button carbon everywhere japanese conduct goal delay restore consistent yesterday
    intellectual terrorism aside immigration department determined grammar japan domain ensure ought
    phone gotten region option fly complaint lock blp animal northern apology commercial mad darn
    citizen em screw clarify criterion significance cops credible intent wtf questionable expand
    absurd sub propose frequently violent drunk retarded bastard committee talkpage advance
    treatment la holy length mar jack imbecile richard leadership identify chris increase draw
    london upset radio sports isnt began lord seven orange metal uncivil aka vast integrity constant
    capital registered recall blow till catch round ontario incredibly assertion immigrants rfa bag
    contributor arbcom catholic cnn income deny opposition mate league bloody mere determine hang
    unacceptable treat inaccurate core dishonest undo dictionary chose model partisan resolve
    complex essentially allegations suit involvement physical bigot impression rewrite wales
    congratulations politician super wont wanna managed ms bio interview globe buddy ref lady gold
    ongoing translation recommend desire successful robert trial rise hair forth exposed bands alive
    designed slightly seek encourage limit odd sold enemy cast tough ireland pull target corruption
    pretend jump mexico financial relationship whining harper software peter satisfy arms nowhere
    stage joe speculation speed fringe overall unique master racial commentary q remarks compare
    decent presidency assistance dec split minimum student rubbish credibility fa technically
    substantial gang genre gain appeal environment accuse rail production publish surprise ex
    disaster piss relation pop husband jew sincerely feelings apparent merit era minute extra
    progressive empty enter editorial kinda receive haha wise specified facebook ed journal
    association dedicated jun explicitly arab jimbo foot price latin weird lame display direction
    charles technical spoken censorship dems whenever decline demonstrate challenge ball profile
    california mom scale scientists literature uneducated
    """.split()
)

_COMMON_LONGER_WORDS = frozenset(w for w in _COMMON_WORDS if len(w) >= 2)
_COMMON_LONGER_BYTES = frozenset(w.encode("ascii") for w in _COMMON_LONGER_WORDS)
# The words of one character an ASCII text can have (`_WORD` matches letters only).
_SINGLE_LETTERS = frozenset(chr(c) for c in range(128) if chr(c).isalpha())
