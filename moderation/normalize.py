"""Text normalisation applied identically before training and scoring, with a map back to the original.

Five steps. Each one only replaces a character by others or deletes it, so every output character
comes from exactly one character of the original, which `normalize_with_offsets` records so that
evidence spans point at what the commenter wrote. Steps 2-5 are shared code between `normalize` and
`normalize_with_offsets`: a deleting step returns its text with NUL in place of each deleted
character (step 1 removes every NUL of the input), and the caller drops the NULs.

1. Per character, through a cached `str.translate` table: compatibility decomposition (NFKD:
   full-width letters, ligatures, mathematical letters), combining marks dropped, case folded,
   zero-width and control characters removed (tabs and line breaks become spaces). Non-ASCII
   *Latin* letters that Unicode's confusables data (UTS #39, from the `confusable-homoglyphs`
   package) lists as look-alikes of an ASCII letter become that letter ("ɑ", "ı", "ᴜ", "ꜱ").
2. Look-alike letters of other scripts (Cyrillic "а", Greek "ο", Armenian "օ", from the same
   data), decided per word (a run of `\\w`), to the Latin letters they imitate:
   - a word that mixes Latin letters with look-alikes and no other letter ("іdiot" with Cyrillic
     "і"; a lower-case letter also counts through its capital here, "т" as "Т" -> "t", since
     step 1 lower-cased "ІDІОТ");
   - a word made only of look-alikes in their own right ("аѕѕ" all Cyrillic), when the rest of
     the comment's letters are mostly Latin or there is no rest.
   A word with a letter that has no Latin look-alike ("Россия", "Հայաստան", "Ελλάδα") stays, and
   so does an all-look-alike word of a comment written mostly in another script ("сок и рак").
3. Spaced-out letters: three or more single letters separated by the same one of ` .-_*~`
   ("f u c k", "s-h-i-t", "f.u.c.k") are joined and the separators deleted. Only single letters are
   joined, never a longer word; the price is that "a b c" becomes "abc" and "u r a" "ura". A
   leading "a" or "i" stays a word of its own when the letters after it are the better word of
   the vocabulary ("what a f u c k" -> "what a fuck", "i h a t e" -> "i hate"; "a s s" -> "ass").
4. Leetspeak and masks in a word (`_unleet`): "sh1t", "a$$hole", "b!tch", "f*ck", "@ss" -> letters;
   a mask, or a stand-in of two letters ("1": i or l), reads as the best-ranked vocabulary word
   that fits ("wh*re" -> "whore", "sh*t" -> "shit", "bu11shit" -> "bullshit"). A word with
   leetspeak in two places or more is leetspeak throughout, its ends included ("7r@mp", "@r$e",
   "3r0t1c" -> "erotic"); a lone stand-in at a word's end or start counts when the word then
   reads as a vocabulary word ("boob$", "3scort"; not "top5", "1st").
5. Runs of three or more of the same letter become one letter, or two when that reads as the
   better word of the vocabulary: "fuuuuck" -> "fuck", "sooo" -> "so", "killl" -> "kill", while
   doubled letters ("good", "Mississippi") and a word that is nothing but the run ("www", "KKK",
   "zzz") stay. The vocabulary's ranking favours words seen in violations, so "goood" -> "god".

The vocabulary (`moderation/vocabulary.py`, `moderation/vocabulary.txt`) ships with the code, so
training and scoring read the same list.

URLs and e-mail addresses are left alone by steps 4 and 5. Glued words ("youfuckingidiot") are
left to the featuriser's character n-grams.

Speed: step 1 and a check for which of steps 2-5 could change each comment run compiled over the
batch's code points (`moderation.folding`, through `_fold_batch`); only the comments that a step
could change (about one in thirteen of the label texts) go on, and only through the steps whose
condition holds (`_step_conditions` is the Python specification of the check). For steps 4 and 5
the check looks closely enough that most comments it flags do change: it leaves links out, as
those steps do, and for step 4 it follows the rules of `_unleet_run` run by run, asking the
vocabulary only whether any word of the token's length has the token's letters where it has
letters; step 4 then reads only the runs the check picks, and its decisions are memoised by the
token and the run's place in it, which is all they read. Step 5 is compiled too
(`_collapse_repeats_python` is its specification) and, for a comment whose only step it is, done in
the same pass. Step 1's table covers characters outside the BMP and those folding to several
characters; a comment with a character it leaves to `str.translate` (one that `str.lower` would
change) takes the Python path. `normalize_encoded` hands a featuriser the normalised
code points without building strings. `normalize` is `normalize_batch` of one comment, and
`normalize_with_offsets` runs the same check and the same steps, so the three always agree. All
three may be called from several threads at once (see `_learn_folds`).
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Sequence

import numpy as np

from moderation import folding, kernels, vocabulary

__all__ = ["normalize", "normalize_batch", "normalize_encoded", "normalize_with_offsets", "original_span", "script_of"]

_CHUNK = 10_000  # comments per vectorised check, to bound its memory
_SPACE_LIKE = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}
_DELETED = "\0"


# --------------------------------------------------------------------- Unicode's confusables data


@dataclass(frozen=True)
class _Confusables:
    latin: dict[str, str]  # folded Latin letter -> ASCII letter: always applied (step 1)
    other: dict[int, str]  # folded letter of another script -> ASCII letter: per word (step 2)
    inherited: frozenset[int]  # keys of `other` whose look-alike is their capital's ("т" from "Т")
    other_re: re.Pattern  # finds any key of `other`


@cache
def script_of(char: str) -> str:
    """The Unicode script of a character, from the confusables package's data.

    >>> script_of("Ա"), script_of("a"), script_of("1")
    ('ARMENIAN', 'LATIN', 'COMMON')
    """
    from confusable_homoglyphs import categories

    return categories.alias(char)


def _base_fold(char: str) -> str:
    """Step 1 without look-alikes: NFKD, marks and controls dropped, case folded."""
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


@cache
def _confusables() -> _Confusables:
    """Letters that Unicode lists as look-alikes of an ASCII letter, keyed by their folded form."""
    from confusable_homoglyphs import confusables

    found: dict[str, tuple[bool, str]] = {}
    for source, homoglyphs in confusables.confusables_data.items():
        if len(source) != 1 or source.isascii():
            continue
        targets = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isalpha()]
        key = _base_fold(source)
        if not targets or len(key) != 1 or key.isascii() or not key.isalpha():
            continue
        own = source == key  # a letter's own entry beats one inherited from its other case
        if key not in found or (own and not found[key][0]):
            found[key] = (own, targets[0].lower())
    latin, other, inherited = {}, {}, set()
    for key, (own, target) in found.items():
        if script_of(key) in ("LATIN", "COMMON", "INHERITED"):
            latin[key] = target
        else:
            other[ord(key)] = target
            if not own:
                inherited.add(ord(key))
    other_re = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(other)) + "]")
    return _Confusables(latin, other, frozenset(inherited), other_re)


# --------------------------------------------------------------------- step 1: per character


def _fold(char: str) -> str:
    """The normalised form of one character (possibly empty, possibly several characters)."""
    folded = _base_fold(char)
    if folded.isascii():
        return folded
    latin = _confusables().latin
    return "".join(latin.get(c, c) for c in folded)


class _FoldTable(dict):
    """A `str.translate` table that computes and caches each character's folded form on first use."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold(chr(codepoint))
        self[codepoint] = folded
        return folded


class _ClassTable(dict):
    """A `str.translate` table for letters: L Latin, F look-alike of a Latin letter (f only through
    its capital), N other; other characters vanish."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        data = _confusables()
        if not char.isalpha():
            code = ""
        elif codepoint in data.other:
            code = "f" if codepoint in data.inherited else "F"
        else:
            code = {"LATIN": "L", "COMMON": "", "INHERITED": ""}.get(script_of(char), "N")
        self[codepoint] = code
        return code


_TABLE = _FoldTable()
_CLASSES = _ClassTable()


# --------------------------------------------------------------------- steps 2-5: per word

_WORD = re.compile(r"\w+")
_LETTER = r"[^\W\d_]"
_LINKS = re.compile(r"(?:https?://|www\.)\S+|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACED = re.compile(  # the last letter followed by neither a word nor another separated letter
    rf"(?<![\w.*~-]){_LETTER}(?P<sep>[ .*~_-]){_LETTER}(?:(?P=sep){_LETTER})+"
    rf"(?![\w*~-]|[ .*~_-]{_LETTER}(?!{_LETTER}))"
)
_REPEAT = re.compile(rf"({_LETTER})\1\1+")
_SYMBOLS = "$@!*#€©"  # with word characters, they make up a token for step 4
_STANDS_IN = "013457" + _SYMBOLS + "_"
_RUN = re.compile(f"[{re.escape(_STANDS_IN)}]+")
_TAIL = re.compile(r"\${2,}|[*#]{2,}")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i",
     "€": "e", "©": "c", "*": "u", "#": "u", "_": "u"}  # fmt: skip
)


def _is_letter(char: str) -> bool:
    """What `[^\\W\\d_]` matches."""
    return char.isalnum() and not char.isdecimal() and char != "_"


def _is_token(char: str) -> bool:
    """A word character or a symbol that may stand for a letter."""
    return char.isalnum() or char == "_" or char in _SYMBOLS


def _outside_links(edit, text: str) -> str:
    """`edit(piece, at)` applied to each piece `text[at:...]` between URLs and e-mail addresses, which
    stay as they are."""
    spans = _between_links(text)
    if len(spans) == 1:
        return edit(text, 0)
    pieces, at = [], 0
    for a, b in spans:  # text[at:a] is the link before the piece
        pieces += [text[at:a], edit(text[a:b], a)]
        at = b
    return "".join(pieces)


def _between_links(text: str) -> list[tuple[int, int]]:
    """The spans of `text` between its URLs and e-mail addresses: the whole text if it has none."""
    if "://" not in text and "www." not in text and "@" not in text:
        return [(0, len(text))]
    spans, at = [], 0
    for m in _LINKS.finditer(text):
        spans.append((at, m.start()))
        at = m.end()
    return spans + [(at, len(text))]


def _fold_lookalikes(text: str) -> str:
    """Step 2: fold look-alike letters of other scripts in the words that imitate Latin ones."""
    if text.isascii():
        return text
    data = _confusables()
    if not data.other_re.search(text):
        return text
    fold, pending, latin, other = [], [], 0, 0
    for m in _WORD.finditer(text):
        codes = m.group().translate(_CLASSES)
        if "L" in codes and "N" not in codes and ("F" in codes or "f" in codes):
            fold.append(m.span())
            latin += len(codes)
            continue
        if codes and codes.count("F") == len(codes):
            pending.append(m.span())
            continue
        n_latin = codes.count("L")
        latin += n_latin
        other += len(codes) - n_latin
    if pending and (latin > other or not other):  # mostly Latin, or nothing else to go by
        fold += pending
    if not fold:
        return text
    pieces, at = [], 0
    for start, end in sorted(fold):
        pieces += [text[at:start], text[start:end].translate(data.other)]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def _join_spaced(text: str) -> str:
    """Step 3: "f u c k" -> "f\\0u\\0c\\0k" (the separators marked as deleted)."""
    return _SPACED.sub(_joined, text)


def _joined(m: re.Match) -> str:
    """One run of spaced-out letters joined; a leading "a" or "i" stays a word of its own when the
    letters after it make a word of the vocabulary and the whole run does not, or ranks lower
    ("what a f u c k" -> "what a fuck", "i h a t e" -> "i hate", but "a s s" -> "ass"), or when
    neither is a word and a word comes before it ("what a b l o w j o b" -> "what a blowjob")."""
    letters = m.group()[::2]
    if m.group("sep") == " " and letters[0] in "ai" and len(letters) >= 3:
        whole, rest = vocabulary.rank(letters), vocabulary.rank(letters[1:])
        if whole is None and rest is None:  # neither: an article after a word ("what a b l o w j o b")
            split = m.start() >= 2 and m.string[m.start() - 1] == " " and _is_letter(m.string[m.start() - 2])
        else:
            split = rest is not None and (whole is None or rest < whole)
        if split:
            return letters[0] + " " + _DELETED.join(letters[1:])
    return _DELETED.join(letters)


def _unleet_run(m: re.Match) -> str:
    """Step 4 on one run of digits and symbols: the letters it stands for, or the run unchanged.

    Inside a word (letters on both sides) a run of `0 1 3 4 5 7 $ @ ! € © * # _` becomes letters
    ("sh1t", "a$$hole", "b@stard", "id10t"). Which letters, when the word then reads as a word of
    the vocabulary (`moderation.vocabulary`), is the best-ranked such word's: a mask `* # _` may
    hide any letter ("wh*re" -> "whore", "sh*t" -> "shit", "f**k" -> "fuck"), "1" and "!" an "i"
    or an "l" ("bu11shit"). Otherwise "1 !" are "i" and a mask "u", the letter that completed
    most masked words of the Jigsaw and Civil Comments samples. A token with stand-ins of
    `0 1 3 4 5 7 $ @ € ©` in two or more places is leetspeak throughout ("7r@mp", "3r0t1c", "@r$e",
    "gr0p3"): when it reads as a word of the vocabulary, every run reads as that word's letters,
    whatever the rules below say; when it reads as none but has three letters or more and no other
    digit, each of those stand-ins reads as its own letter ("3r0t1c" -> "erotic"; not in a mention,
    "@pr3ttyn33", nor "h1n1", "4x4", "b52s"). Otherwise digits stay when there are more than two
    ("mr3003nights") or the token starts or ends with a digit ("4x4", "h1n1", "mp3s").
    `_ ! #` more often join two words ("user_talk", "great!thanks", "Page#Section") than hide a
    letter, so they count only in a token of letters around them alone whose shorter side has at
    most two letters and longer side at most five ("sh_t", "b!tch", "f#cking"). At the end of a
    word only "$$" ("a$$"), two or more masks ("f***"; not the footnote in "word*" nor
    "**bold**") and a lone stand-in after two letters or more when the word then reads as a
    vocabulary word of four letters or more ("boob$", "nonc3"), for a digit only if the letters
    before it are no word ("top5", "win7" stay); at its start only an "@" spelling "ass" ("@ss";
    "@user" is a mention), a lone "$" when the word then reads as a vocabulary word of four
    letters or more ("$hit", "$cam"; not "$usd"), and a lone digit when it then does and the
    letters after it are no word ("3scort", "5tupid"; "1st", "5am", "0pen" stay). A run inside a word that reads as no word of
    the vocabulary is a mask when the word then reads as a violation word ("c1nt" -> "cunt").
    Whatever these rules say, a run becomes letters when the whole token then reads as one of the
    vocabulary's violation words ("5lut", "shi7", "@s$"; "5am" stays, "sam" is not one), except
    an "@" that starts a token (a mention).
    """
    text, (start, end) = m.string, m.span()
    if _alone(text, start, end):
        return m.group()
    first, last = _token_around(text, start, end)
    # Every rule reads the token alone (the characters on either side of it are no letters, no
    # stand-ins), so the token and the run's place in it decide, and a token seen before is looked up.
    return _unleet_token(text[first:last], start - first, end - first)


def _token_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the token (word characters and stand-ins) around `text[start:end]`."""
    first, last = start, end
    while first > 0 and _is_token(text[first - 1]):
        first -= 1
    while last < len(text) and _is_token(text[last]):
        last += 1
    return first, last


@lru_cache(maxsize=1 << 16)
def _unleet_token(text: str, start: int, end: int) -> str:
    """`_unleet_run` on the run `text[start:end]` of the token `text`."""
    run, first, last = text[start:end], 0, len(text)
    letter_before = start > 0 and _is_letter(text[start - 1])
    letter_after = end < len(text) and _is_letter(text[end])
    places = _leet_places(text, first, last)
    if places >= 2:  # "7r@mp", "3r0t1c", "@r$e"
        reading = _reading(text, first, last, start, end)
        if reading is not None:
            return reading
        if text[first] != "@" and _decodable(text[first:last]):  # not a mention ("@pr3ttyn33")
            return "".join(c.translate(_LEET) if c in _LEET_CHARS else c for c in run)
    by_rule = _unleet_by_rule(text, start, end, run, first, last, letter_before, letter_after)
    if by_rule != run or (start == first and run[0] == "@" and text[end : end + 1] not in ("s", "$")):  # "@name"
        return by_rule
    return _reading(text, first, last, start, end, violation=True) or run


def _letters_around(text: str, first: int, last: int, start: int, end: int) -> tuple[str, str]:
    """What stands between the token text[first:last] and its run text[start:end] on each side, the
    stand-ins at the token's ends left out."""
    a, b = first, last
    while text[a] in _STANDS_IN:
        a += 1
    while text[b - 1] in _STANDS_IN:
        b -= 1
    return text[a:start], text[end:b]


def _unleet_by_rule(text: str, start: int, end: int, run: str, first: int, last: int,
                    letter_before: bool, letter_after: bool) -> str:
    """`_unleet_run` without its violation-word fallback."""
    if letter_before and letter_after:
        digits = sum(c.isdigit() for c in run)
        if digits and (digits > 2 or text[first].isdigit() or text[last - 1].isdigit()):
            return run
        if any(c in "_!#" for c in run):  # the letters around, symbols at the token's ends aside
            before, after = _letters_around(text, first, last, start, end)
            if not all(map(_is_letter, before + after)):
                return run
            if min(len(before), len(after)) > 2 or max(len(before), len(after)) > 5:
                return run
        return _reading(text, first, last, start, end) or _reading(text, first, last, start, end, True, True) \
            or run.translate(_LEET)
    if letter_after:
        lead = run.translate(_LEET)
        if first == start and run[0] == "@" and set(run) <= {"@", "$"}:
            if (lead + text[end : end + 3]).startswith("ass"):
                return lead
        if first == start and run == "$":  # "$hit", "$cam"; not "$usd"
            reading = _reading(text, first, last, start, end)
            if reading and last - first >= 4:
                return reading
        if first == start and len(run) == 1 and run in _LEET_DIGITS:  # "3scort"; not "1st", "0pen"
            return _edge_reading(text, first, last, start, end, text[end:last]) or run
        return run
    core = run.rstrip(_PUNCTUATION)
    if len(core) == 1 and core in _EDGE_TAILS and start - first >= 2:  # "boob$", "nonc3"; not "top5"
        reading = _edge_reading(text, first, last, start, end, text[first:start] if core in _LEET_DIGITS else None)
        if reading is not None:
            return reading
    tail = _TAIL.match(run)
    if tail and not (run[0] in "*#" and text[first] in "*#"):
        return tail.group().translate(_LEET) + run[tail.end() :]
    return run


_LEET_DIGITS = "013457"
_EDGE_TAILS = "013457$@€©"  # stand-ins that may end a word alone (`_TRAILS` for the pre-check)
_LEET_CHARS = frozenset(_EDGE_TAILS)  # the stand-ins that are leetspeak, not masks or punctuation


def _leet_places(text: str, first: int, last: int) -> int:
    """In how many places (runs apart) the token `text[first:last]` has a stand-in of `_LEET_CHARS`."""
    places, inside = 0, False
    for char in text[first:last]:
        leet = char in _LEET_CHARS
        places += leet and not inside
        inside = leet or (inside and char in _STANDS_IN)
    return places


def _decodable(token: str) -> bool:
    """Whether a token of stand-ins in two places or more reads as letters without the vocabulary:
    ASCII letters and stand-ins only, three letters or more, no three digits in a row ("3r0t1c";
    not "h1n1", "4x4", "b52s", "k1bond007")."""
    return token.isascii() and sum(c.isalpha() for c in token) >= 3 and all(
        c.isalpha() or c in _STANDS_IN for c in token) and not _THREE_DIGITS.search(token)


_THREE_DIGITS = re.compile(r"\d{3}")


def _edge_reading(text: str, first: int, last: int, start: int, end: int, rest: str | None) -> str | None:
    """The reading of a lone stand-in at a token's start or end (`_reading`) when the token then
    reads as a vocabulary word of four letters or more and `rest`, the letters beside it, if
    given, is no word of the vocabulary ("3scort" -> "escort", "nonc3" -> "nonce"; "top5" stays)."""
    reading = _reading(text, first, last, start, end)
    if reading is None or len(text[first:last].strip(_PUNCTUATION)) < 4:
        return None
    if rest is not None and vocabulary.rank(rest.strip(_PUNCTUATION)) is not None:
        return None
    return reading


_LEADS = np.array([ord(c) for c in "013457$€©"])  # stand-ins that may start a word ("@" starts mentions)
_TRAILS = np.array([ord(c) for c in _EDGE_TAILS])  # and end one
_PUNCTUATION = "!*#_"  # stand-ins that, at a token's ends, are more often punctuation or markup
_READS_AS = {c: f"[{c.translate(_LEET)}]" for c in "03457$@€©"} | {"1": "[il]", "!": "[il]"}
_READS_AS |= {c: "[a-z]" for c in "*#_"}  # a mask may hide any letter
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_READS_AS_LETTERS = {c: _ALPHABET if r == "[a-z]" else r[1:-1] for c, r in _READS_AS.items()}  # the same, as letters


def _reading(text: str, first: int, last: int, start: int, end: int, violation: bool = False,
             masked: bool = False) -> str | None:
    """What the run of stand-ins `text[start:end]` reads as when the token `text[first:last]` is a
    word of the vocabulary, the best-ranked of those that fit ("wh*re" -> "whore"), or None.

    `! * # _` at the token's ends are punctuation, not part of the word ("sh*t!!"); the part of the
    run among them stays as it is. With `violation`, only a violation word counts; with `masked`,
    the run's characters are masks that may hide any letter ("c1nt" -> "cunt", "c0nt" too).
    """
    while first < last and text[first] in _PUNCTUATION:
        first += 1
    while last > first and text[last - 1] in _PUNCTUATION:
        last -= 1
    inside_start, inside_end = max(start, first), min(end, last)
    word = text[first:last]
    if inside_start >= inside_end or not word.isascii() or not 2 <= len(word) <= 30:
        return None
    letters = tuple(_ALPHABET if masked and start <= first + k < end else _READS_AS_LETTERS.get(c)
                    or (c if "a" <= c <= "z" else "") for k, c in enumerate(word))
    found = vocabulary.best_fit(letters)
    if found is None or (violation and not vocabulary.is_violation_word(found)):
        return None
    return text[start:inside_start] + found[inside_start - first : inside_end - first] + text[inside_end:end]


def _unleet(text: str) -> str:
    """Step 4: leetspeak and masks, links excepted; only the runs that the compiled pre-check says might
    change (`folding.leet_runs`, the run by run form of `_run_may_change`) go through `_unleet_token`,
    each with the token around it (what `_unleet_run` reads)."""
    cp = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    runs = folding.leet_runs(cp, _classes(), *_astral_classes(text, cp), *_word_table())
    if not len(runs):
        return text
    pieces, at = [], 0
    for start, end, first, last in runs.tolist():
        pieces += [text[at:start], _unleet_token(text[first:last], start - first, end - first)]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def _unleet_python(text: str) -> str:
    """Step 4 by regular expressions on every run of stand-ins, links excepted."""
    return _outside_links(lambda piece, at: _RUN.sub(_unleet_run, piece), text)


def _collapse_repeats(text: str) -> str:
    """Step 5: "fuuuuck" -> "fu\\0\\0\\0ck" (all but the first of a run of 3+ marked as deleted), compiled
    (`folding.collapse_repeats`; `_collapse_repeats_python` is its specification, and what a word of more
    than eight runs goes through)."""
    cp = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    keep = np.empty(len(cp), np.uint8)
    deleted = folding.collapse_repeats(cp, _classes(), *_astral_classes(text, cp), *_vocab_table(), keep)
    if deleted < 0:
        return _collapse_repeats_python(text)
    if not deleted:
        return text
    return np.where(keep != 0, cp, 0).astype(np.uint32).tobytes().decode("utf-32-le")


@cache
def _vocab_table() -> tuple[np.ndarray, np.ndarray]:
    """The vocabulary for `folding._nb_rank`: its words as rows of bytes padded with 0, sorted, and the
    rank of each row's word."""
    words = list(vocabulary._words()[1])  # in rank order
    width = max(map(len, words), default=1)
    rows = np.array([w.encode("ascii") for w in words], f"S{width}")
    order = np.argsort(rows, kind="stable")
    return np.ascontiguousarray(rows[order]).view(np.uint8).reshape(len(words), width), order.astype(np.int64)


def _collapse_repeats_python(text: str) -> str:
    """Step 5 by regular expressions, links left alone."""
    return _outside_links(lambda piece, at: _REPEAT.sub(_first_of_run, piece), text)


def _first_of_run(m: re.Match) -> str:
    """A run of one letter, all but its first marked as deleted; as it is if it is a whole word."""
    text, (start, end) = m.string, m.span()
    alone = (start == 0 or not _is_letter(text[start - 1])) and (end == len(text) or not _is_letter(text[end]))
    if alone:
        return m.group()  # "www", "KKK", "zzz", "xxx"
    keep = _kept_of_run(text, start, end)
    return m.group(1) * keep + _DELETED * (len(m.group()) - keep)


_ASCII_WORD = re.compile(r"[a-z]+")
_RUNS = re.compile(r"([a-z])\1\1+")


def _kept_of_run(text: str, start: int, end: int) -> int:
    """How many letters of the run `text[start:end]` stay: two when the word around it reads as a
    word of the vocabulary with two and ranks higher than with one ("goood" -> "good", "killl" ->
    "kill", "asss" -> "ass"), else one ("fuuuck" -> "fuck", "sooo" -> "so")."""
    first, last = start, end
    while first > 0 and _is_letter(text[first - 1]):
        first -= 1
    while last < len(text) and _is_letter(text[last]):
        last += 1
    return _kept_in_word(text[first:last], start - first)


@lru_cache(maxsize=1 << 14)
def _kept_in_word(word: str, at: int) -> int:
    """`_kept_of_run` for the run that starts at `word[at]`, in the word of letters `word`."""
    first, start = 0, at
    if len(word) > 30 or not _ASCII_WORD.fullmatch(word):
        return 1
    runs = list(_RUNS.finditer(word))
    if len(runs) <= 8:  # each run read with one letter or two: the best-ranked word among those readings
        pieces = [word[r_end:r.start()] for r_end, r in zip([0] + [r.end() for r in runs], runs)]
        best, kept = None, 1
        for choice in itertools.product((1, 2), repeat=len(runs)):
            reading = "".join(p + r.group(1) * n for p, r, n in zip(pieces, runs, choice)) + word[runs[-1].end():]
            found = vocabulary.rank(reading)
            if found is not None and (best is None or found < best):
                best, kept = found, choice[next(k for k, r in enumerate(runs) if r.start() == start - first)]
        return kept
    pattern = "".join(
        word[r_end:r.start()] + f"({r.group(1)}{{1,2}})" for r_end, r in zip([0] + [r.end() for r in runs], runs)
    ) + word[runs[-1].end():]
    shortest = len(word) - sum(len(r.group()) - 1 for r in runs)
    found = None
    for length in range(shortest, shortest + len(runs) + 1):
        candidate = vocabulary.best_word(pattern, length)
        if candidate is not None and (found is None or vocabulary.rank(candidate) < vocabulary.rank(found)):
            found = candidate
    if found is None:
        return 1
    which = next(k for k, r in enumerate(runs) if r.start() == start - first)
    return len(re.fullmatch(pattern, found).group(which + 1))


_STEPS = (_fold_lookalikes, _join_spaced, _unleet, _collapse_repeats)


# --------------------------------------------------------------------- which texts need steps 2-5


@cache
def _bmp() -> np.ndarray:
    """Every code point below 0x10000, surrogates included, in order, as numpy strings of one
    character: numpy's string predicates (`np.char.isalnum` ...) judge them as `str`'s methods do
    (NUL, numpy's empty string, is none of them either), several times faster than a loop in Python."""
    return np.arange(0x10000, dtype="<u4").view("<U1")


@cache
def _char_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per BMP code point: is it a letter (`[^\\W\\d_]`, `_is_letter`), a stand-in, a separator, a look-alike."""
    letter = np.char.isalnum(_bmp()) & ~np.char.isdecimal(_bmp())  # "_" is not alphanumeric
    stand_in, separator, lookalike = (np.zeros(0x10000, bool) for _ in range(3))
    stand_in[[ord(c) for c in _STANDS_IN]] = True
    separator[[ord(c) for c in " .*~_-"]] = True
    lookalike[[c for c in _confusables().other if c < 0x10000]] = True
    return letter, stand_in, separator, lookalike


def _step_conditions(folded: list[str]) -> np.ndarray:
    """For each text after step 1, a bit mask of the steps 2-5 (bit k: `_STEPS[k]`) that might change it.

    Vectorised over the whole batch: each condition below is necessary for its step to change a
    text, so a step whose bit is clear would leave the text as it is and can be skipped. After a
    step has changed a text the conditions of the later steps are checked again (`_finish`): an
    earlier step can make work for a later one ("a$$$" -> "asss" -> "as"). A step with no condition
    here always runs. Characters outside the BMP (emoji …) are looked up one by one. This is the
    specification of the compiled pre-check (`moderation.folding`), which the tests hold to it.
    Where the vectorised conditions of steps 4 and 5 hold, a closer look per text follows, on the
    text between its links: a run of stand-ins that `_run_may_change`, and a run of one letter that
    has another letter beside it.
    """
    if not folded:
        return np.zeros(0, np.int64)
    # Step 1 removed every NUL, so NUL separates the texts, and pads both ends of the batch.
    cp = np.frombuffer(("\0" + "\0".join(folded) + "\0" * 6).encode("utf-32-le"), dtype="<u4")
    letter_t, stand_in_t, separator_t, lookalike_t = _char_tables()
    bmp = np.minimum(cp, 0xFFFF)  # U+FFFF is neither a letter nor a look-alike
    letter, stand_in, sep = letter_t[bmp], stand_in_t[bmp], separator_t[bmp]
    astral = np.flatnonzero(cp > 0xFFFF)
    astral_chars = [chr(c) for c in cp[astral].tolist()]
    letter[astral] = [_is_letter(c) for c in astral_chars]
    n = len(cp) - 6

    def at(array: np.ndarray, k: int) -> np.ndarray:  # array[i + k] for every position i
        return array[1 + k : 1 + k + n]

    high = np.flatnonzero(at(cp, 0) > 0x7F)
    lookalike = high[lookalike_t[at(bmp, 0)[high]]]  # "іdiot"
    if len(astral):
        other = _confusables().other
        lookalike = np.concatenate([lookalike, astral[[ord(c) in other for c in astral_chars]] - 1])
    spaced = (  # "f u c k": single letters, the same separator twice
        ~at(letter, -1) & at(letter, 0) & at(sep, 1) & at(letter, 2) & (at(cp, 1) == at(cp, 3))
        & at(letter, 4) & ~at(letter, 5)
    )  # fmt: skip
    leet = at(letter, 0) & at(stand_in, 1) & (at(letter, 2) | at(stand_in, 2))  # "sh1t", "a$$", "f**"
    leet |= (at(cp, 0) == ord("@")) & ((at(cp, 1) == ord("s")) | (at(cp, 1) == ord("$")))  # "@ss"
    digit = (cp >= ord("0")) & (cp <= ord("9"))
    leet |= np.isin(at(cp, 0), _LEADS) & ~at(letter, -1) & ~at(digit, -1) & (at(letter, 1) | at(stand_in, 1) & ~at(digit, 1))  # "$hit"
    leet |= at(letter, -1) & np.isin(at(cp, 0), _TRAILS) & ~at(letter, 1) & ~at(digit, 1)  # "shi7", "@s$"
    repeat = at(letter, 0) & (at(cp, 0) == at(cp, 1)) & (at(cp, 1) == at(cp, 2))  # "fuuuck"
    ends = np.cumsum([len(t) + 1 for t in folded])  # text k spans [ends[k-1], ends[k] - 1)
    conditions = [lookalike, spaced, leet, repeat]
    masks = np.zeros(len(folded), np.int64)
    for step, where in enumerate(conditions):
        positions = where if where.dtype != bool else np.flatnonzero(where)
        masks[np.unique(np.searchsorted(ends, positions, side="right"))] |= 1 << step
    for k in np.flatnonzero(masks & 12).tolist():  # steps 4 and 5: a closer look, links aside
        pieces = _pieces(folded[k])
        if masks[k] & 4 and not any(_run_may_change(p, *m.span()) for p in pieces for m in _RUN.finditer(p)):
            masks[k] &= ~4
        if masks[k] & 8 and not any(not _alone(p, *m.span()) for p in pieces for m in _REPEAT.finditer(p)):
            masks[k] &= ~8
    for step in range(len(conditions), len(_STEPS)):
        masks |= 1 << step
    return masks


def _pieces(text: str) -> list[str]:
    """The parts of `text` between URLs and e-mail addresses, what `_outside_links` edits."""
    return [text[a:b] for a, b in _between_links(text)]


def _alone(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` has no letter on either side."""
    return (start == 0 or not _is_letter(text[start - 1])) and (end == len(text) or not _is_letter(text[end]))


def _run_may_change(text: str, start: int, end: int) -> bool:
    """Whether `_unleet_run` could turn the run of stand-ins `text[start:end]` into letters: its rules,
    each loosened where it asks the vocabulary to whether any word of the token's length has the
    token's letters a-z where it has them (`_fits`). The specification of `folding._nb_run_may_change`."""
    run = text[start:end]
    letter_before = start > 0 and _is_letter(text[start - 1])
    letter_after = end < len(text) and _is_letter(text[end])
    if not (letter_before or letter_after):
        return False
    first, last = _token_around(text, start, end)
    word = text[first:last].strip(_PUNCTUATION)  # what `_reading` reads
    readable = 2 <= len(word) <= 30 and all("a" <= c <= "z" or c in _ASCII_STANDS_IN for c in word)
    fits = readable and _fits(word, False)
    if _leet_places(text, first, last) >= 2 and (fits or (
            text[first] != "@" and _decodable(text[first:last]) and any(c in _LEET_CHARS for c in run))):
        return True
    if letter_before and letter_after:
        digits = sum(c.isdigit() for c in run)
        if not (digits and (digits > 2 or text[first].isdigit() or text[last - 1].isdigit())):
            if not any(c in "_!#" for c in run):
                return True
            before, after = _letters_around(text, first, last, start, end)
            if all(map(_is_letter, before + after)) and min(len(before), len(after)) <= 2 \
                    and max(len(before), len(after)) <= 5:
                return True
    elif letter_after:
        if first == start and run[0] == "@" and set(run) <= {"@", "$"} \
                and (run.translate(_LEET) + text[end : end + 3]).startswith("ass"):
            return True
        if first == start and run == "$" and fits and last - first >= 4:
            return True
        if first == start and len(run) == 1 and run in _LEET_DIGITS and fits and len(word) >= 4:
            return True
    else:
        core = run.rstrip(_PUNCTUATION)
        if len(core) == 1 and core in _EDGE_TAILS and start - first >= 2 and fits and len(word) >= 4:
            return True
        if _TAIL.match(run) and not (run[0] in "*#" and text[first] in "*#"):
            return True
    if start == first and run[0] == "@" and text[end : end + 1] not in ("s", "$"):
        return False  # a mention
    return readable and _fits(word, True)


_ASCII_STANDS_IN = frozenset(c for c in _STANDS_IN if c.isascii())


def _fits(word: str, violation: bool) -> bool:
    """Whether a word of the vocabulary (a violation word if `violation`) of `word`'s length has its
    letters a-z where `word` has them, whatever letters where it has other characters."""
    pattern = "".join(c if "a" <= c <= "z" else "[a-z]" for c in word)
    return re.search(f"^{pattern}$", _word_lists().get((len(word), violation), ""), re.MULTILINE) is not None


@cache
def _word_lists() -> dict[tuple[int, bool], str]:
    """The vocabulary's words, and its violation words, one a line, by length."""
    lists: dict[tuple[int, bool], list[str]] = {}
    for w in vocabulary._words()[1]:
        lists.setdefault((len(w), False), []).append(w)
        if vocabulary.is_violation_word(w):
            lists.setdefault((len(w), True), []).append(w)
    return {key: "\n".join(words) for key, words in lists.items()}


def _recheck(text: str, mask: int, done: int) -> int:
    """`mask` with the bits of the steps after `_STEPS[done]` checked again on `text` (compiled)."""
    later = -1 << (done + 1)
    if len(_STEPS) != _CONDITIONS:
        return mask | later & ((1 << len(_STEPS)) - 1)
    return (mask & ~later) | (_step_mask(text) & later)


def _step_mask(text: str) -> int:
    """`_step_conditions([text])[0]` for a text after step 1, compiled."""
    if len(_STEPS) != _CONDITIONS:
        return (1 << len(_STEPS)) - 1
    cp = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    return int(folding.step_mask(cp, _classes(), *_astral_classes(text, cp), *_word_table()))


_NO_ASTRAL = (np.zeros(0, np.uint32), np.zeros(0, np.uint16))


def _astral_classes(text: str, cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The code points of `text` (`cp`) outside the BMP (sorted, unique) and their class bits (`_classes`)."""
    if text.isascii() or max(text) <= "\uffff":
        return _NO_ASTRAL
    astral = np.unique(cp[cp > 0xFFFF])
    return astral, np.array([_astral_bits(chr(c)) for c in astral.tolist()], np.uint16)


def _astral_bits(c: str) -> int:
    """The class bits (`_classes`) of a character outside the BMP."""
    return (_is_letter(c) * folding.LETTER | (ord(c) in _confusables().other) * folding.LOOKALIKE
            | (c.isalnum() or c == "_") * folding.WORD | c.isspace() * folding.SPACE | c.isdigit() * folding.NUMERIC)


@cache
def _word_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The vocabulary for the compiled pre-check (`folding._nb_fits`): its words, then its violation
    words, each as rows of bytes padded with 0, sorted by length and first letter, and where each
    length and first letter starts."""
    words = list(vocabulary._words()[1])
    return _rows(words) + _rows([w for w in words if vocabulary.is_violation_word(w)])


def _rows(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`words` as rows of bytes sorted by length and first letter, and the bounds of each (length, letter)."""
    longest = max(map(len, words), default=1)
    rows = np.array([w.encode("ascii") for w in words], f"S{longest}").view(np.uint8).reshape(len(words), longest)
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    keys = lengths * 26 + rows[:, 0] - ord("a") if len(words) else lengths
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    bounds = np.searchsorted(keys, np.arange(longest + 1)[:, None] * 26 + np.arange(27)[None, :]).astype(np.int64)
    return np.ascontiguousarray(rows[order]), bounds


def _finish(text: str, mask: int) -> str:
    """Steps 2-5 on one text that step 1 has folded, those whose bit is set in `mask` (`_step_conditions`)."""
    for k, step in enumerate(_STEPS):
        if not mask >> k & 1:
            continue
        marked = step(text)
        if _DELETED in marked:
            marked = marked.replace(_DELETED, "")
        if marked != text:
            text = marked
            if k + 1 < len(_STEPS):
                mask = _recheck(text, mask, k)
    return text


# --------------------------------------------------------------------- compiled step 1 and pre-check

_CONDITIONS = 4  # steps that `_step_conditions` and `moderation.folding` have a condition for


@cache
def _fold_codes() -> np.ndarray:
    """Step 1 as an int32 table per BMP code point for `folding.fold_chunk`: the folded character,
    or DELETE, or `folding.EXPAND - e` (several characters: expansion e of `_EXPANSIONS`), or SLOW
    (a character outside the BMP, or changed by `str.lower`: left to `str.translate`), or UNKNOWN
    (not computed yet: `_learn_folds` fills entries in as they occur)."""
    codes = np.full(0x10000, folding.UNKNOWN, np.int32)
    _learn_folds(codes, np.arange(0x80))
    return codes


class _Expansions:
    """The characters of the multi-character folds, end to end in `cp`, expansion e at
    cp[at[e]:at[e + 1]]: append-only, each written before the table entry that names it."""

    def __init__(self, capacity: int = 1 << 18, entries: int = 1 << 16) -> None:
        self.cp = np.zeros(capacity, np.uint32)
        self.at = np.zeros(entries + 1, np.int64)
        self.count = 0

    def add(self, folded: str) -> int:
        """The table entry for `folded` (all in the BMP) as a new expansion, SLOW when full."""
        e, a = self.count, int(self.at[self.count])
        if e + 1 >= len(self.at) or a + len(folded) > len(self.cp):
            return folding.SLOW
        self.cp[a : a + len(folded)] = [ord(c) for c in folded]
        self.at[e + 1] = a + len(folded)
        self.count = e + 1
        return folding.EXPAND - e


_EXPANSIONS = _Expansions()
# the code points outside the BMP met so far, sorted, their table entries, the class bits of the
# folded character: replaced whole (never changed in place) as code points are learned
_ASTRAL: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0, np.uint32), np.zeros(0, np.int32),
                                                       np.zeros(0, np.uint16))
_LEARNING = threading.Lock()


def _fold_tables() -> tuple[np.ndarray, ...]:
    """The tables `folding.fold_chunk` and `folding.fold_one` fold with: the BMP codes, the expansions,
    the code points outside the BMP met so far."""
    return (_fold_codes(), _EXPANSIONS.cp, _EXPANSIONS.at, *_ASTRAL)


def _entry(folded: str) -> int:
    """The table entry of a character that step 1 folds to `folded`."""
    if not folded:
        return folding.DELETE
    if folded.lower() != folded or max(folded) > "\uffff":  # (lower-casing a text of entries changes nothing)
        return folding.SLOW
    return ord(folded) if len(folded) == 1 else _EXPANSIONS.add(folded)


def _astral_entry(folded: str) -> tuple[int, int]:
    """The entry (`_entry`) and class bits of the folded form of a character outside the BMP."""
    if len(folded) == 1 and folded > "\uffff" and folded.lower() == folded:
        return ord(folded), _astral_bits(folded)
    entry = _entry(folded)
    return entry, int(_classes()[entry]) if entry >= 0 else 0


def _learn_folds(codes: np.ndarray, codepoints: np.ndarray) -> None:
    """Fill in the entries of `codes` (and of `_ASTRAL`) for `codepoints` from step 1's `str.translate` table.

    Safe while other threads fold with the tables (`folding.fold_chunk` runs without the GIL): each
    BMP entry changes once, from UNKNOWN to a value that depends on its code point alone, by one
    aligned 4-byte store after the expansion it may name is written, so a reader sees either UNKNOWN
    (and sends its comment to the Python path, which gives the same result) or the final value;
    `_ASTRAL` is replaced whole. The lock keeps two learners from computing the same entries twice.
    """
    global _ASTRAL
    with _LEARNING:
        codepoints = np.unique(codepoints)
        for c in codepoints[codepoints < 0x10000].tolist():
            if codes[c] == folding.UNKNOWN:
                codes[c] = _entry(_TABLE[c])
        astral_cp, astral_fold, astral_kind = _ASTRAL
        new = np.setdiff1d(codepoints[codepoints >= 0x10000], astral_cp).astype(np.uint32)
        if len(new):
            entries = [_astral_entry(_TABLE[c]) for c in new.tolist()]
            cp = np.concatenate([astral_cp, new])
            order = np.argsort(cp, kind="stable")
            fold = np.concatenate([astral_fold, np.array([e for e, _ in entries], np.int32)])
            kind = np.concatenate([astral_kind, np.array([k for _, k in entries], np.uint16)])
            _ASTRAL = (cp[order], fold[order], kind[order])


@cache
def _classes() -> np.ndarray:
    """`_char_tables` and the other classes the compiled pre-check reads, as uint16 bits per BMP code point."""
    letter, stand_in, separator, lookalike = _char_tables()
    lead, trail, digit = (np.zeros(0x10000, bool) for _ in range(3))
    lead[_LEADS], trail[_TRAILS], digit[ord("0") : ord("9") + 1] = True, True, True
    word = kernels._bmp_word_table()  # `\w` (isalnum or "_"), the table the featuriser's kernels read
    space, numeric = np.char.isspace(_bmp()), np.char.isdigit(_bmp())
    leet = np.zeros(0x10000, bool)
    leet[[ord(c) for c in _LEET_CHARS]] = True
    return (letter * folding.LETTER | stand_in * folding.STAND_IN | separator * folding.SEPARATOR
            | lookalike * folding.LOOKALIKE | lead * folding.LEAD | trail * folding.TRAIL
            | digit * folding.DIGIT | word * folding.WORD | space * folding.SPACE | numeric * folding.NUMERIC
            | leet * folding.LEET).astype(np.uint16)


def _fold_batch(texts: list[str], finish: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 1 and the pre-check of `texts`, compiled: the folded code points end to end (uint32), their
    offsets, and each text's status (bits: the steps to run; `folding.PYTHON`: for the Python path).
    With `finish`, a text whose only step to run is step 5 comes out of it, its status 0."""
    offsets = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)), out=offsets[1:])
    # the code points through numpy's UCS-4 strings: faster than encoding to UTF-32 (surrogates too)
    cp = np.array(["".join(texts)]).view(np.uint32)[: offsets[-1]]
    # room for the expansions of a few characters in each text ("…" -> "..."); a text that does not
    # fit takes the Python path
    out = np.empty(len(cp) + len(cp) // 8 + 64, np.uint32)
    out_offsets = np.empty(len(texts) + 1, np.int64)
    status, unknown = np.empty(len(texts), np.uint8), np.empty(4096, np.uint32)
    tables = _fold_tables()
    finish &= len(_STEPS) == _CONDITIONS
    learned = folding.fold_chunk(cp, offsets, *tables, _classes(), *_word_table(), *_vocab_table(), finish,
                                 out, out_offsets, status, unknown)
    if learned:
        _learn_folds(tables[0], unknown[:learned])
    if len(_STEPS) != _CONDITIONS:  # a step the compiled pre-check does not know: the Python path
        status[:] = folding.PYTHON
    return out[: out_offsets[-1]], out_offsets, status


def _decode(cp: np.ndarray, offsets: np.ndarray) -> list[str]:
    """The texts of code points `cp` (no surrogates) cut at `offsets`."""
    if not len(cp):
        return [""] * (len(offsets) - 1)
    top = int(cp.max())
    if top < 0x80:
        whole = cp.astype(np.uint8).tobytes().decode("ascii")
    elif top < 0x100:
        whole = cp.astype(np.uint8).tobytes().decode("latin-1")
    elif top < 0x10000:
        whole = cp.astype(np.uint16).tobytes().decode("utf-16-le")
    else:
        whole = cp.tobytes().decode("utf-32-le")
    bounds = offsets.tolist()
    return [whole[a:b] for a, b in zip(bounds, bounds[1:])]


def _finish_flagged(texts: list[str], folded: Sequence[str] | dict[int, str], status: np.ndarray) -> dict[int, str]:
    """The normalised form of each text whose status is not 0, by index: steps 2-5 where the
    pre-check says so on its folded form (`folded[i]`), and step 1 too (`str.translate`) for those
    sent to the Python path."""
    flagged = np.flatnonzero(status).tolist()
    python = [i for i in flagged if status[i] & folding.PYTHON]
    done = {i: _finish(text, _step_mask(text)) for i, text in ((i, texts[i].translate(_TABLE)) for i in python)}
    for i in flagged:
        if i not in done:
            done[i] = _finish(folded[i], int(status[i]))
    return done


# --------------------------------------------------------------------- public API


def normalize(text: str) -> str:
    """Normalise one comment.

    >>> normalize("Ｆｕｌｌ-width ÇAFÉ\\u200b\\n")
    'full-width cafe '
    >>> normalize("You f*cking іdiot, sh1t, f u c k, fuuuuck")
    'you fucking idiot, shit, fuck, fuck'
    """
    return normalize_batch([text])[0]


def normalize_batch(texts: list[str]) -> list[str]:
    """Normalise many comments (same result as `normalize` on each)."""
    result: list[str] = []
    for at in range(0, len(texts), _CHUNK):
        chunk = texts[at : at + _CHUNK]
        cp, offsets, status = _fold_batch(chunk)
        folded = _decode(cp, offsets)
        for i, text in _finish_flagged(chunk, folded, status).items():
            folded[i] = text
        result += folded
    return result


def normalize_encoded(texts: list[str], lower: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The code points (uint32) of `normalize_batch(texts)`, lower-cased if `lower`, end to end, and
    the offsets where each text starts (and the last ends): what a featuriser reads, encoded once.

    >>> cp, offsets = normalize_encoded(["Sh1t", "OK"], lower=True)
    >>> "".join(map(chr, cp)), offsets.tolist()
    ('shitok', [0, 4, 6])
    """
    cp, offsets, status = _fold_batch(texts)
    if not status.any():
        return cp, offsets
    flagged = np.flatnonzero(status)
    folded = {i: cp[offsets[i] : offsets[i + 1]].tobytes().decode("utf-32-le")
              for i in flagged.tolist() if not status[i] & folding.PYTHON}
    done = _finish_flagged(texts, folded, status)
    pieces, lengths, at = [], np.diff(offsets), 0
    for i in flagged.tolist():
        text = done[i].lower() if lower else done[i]
        pieces += [cp[offsets[at] : offsets[i]], np.frombuffer(text.encode("utf-32-le"), np.uint32)]
        lengths[i], at = len(text), i + 1
    pieces.append(cp[offsets[at] :])
    new_offsets = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    return np.concatenate(pieces), new_offsets


def normalize_with_offsets(text: str) -> tuple[str, np.ndarray]:
    """Normalise and map back: `origin[i]` is the index in `text` of normalised character `i`.

    `origin` has one extra final entry, `len(text)`, so that a normalised span `[a, b)` maps to the
    original span `[origin[a], origin[b - 1] + 1)`.

    >>> norm, origin = normalize_with_offsets("Ä\\u200bb")
    >>> norm, origin.tolist()
    ('ab', [0, 2, 3])
    >>> normalize_with_offsets("s-h-i-t")[1].tolist()
    [0, 2, 4, 6, 7]
    """
    norm, where, mask = _fold_with_origin(text)
    for k, step in enumerate(_STEPS):  # as `_finish`, keeping the origin of survivors
        if not mask >> k & 1:
            continue
        marked = step(norm)
        if _DELETED in marked:
            kept = np.append(np.frombuffer(marked.encode("utf-32-le"), dtype="<u4") != 0, True)  # the final entry
            where = where[kept]
            marked = marked.replace(_DELETED, "")
        if marked != norm:
            norm = marked
            if k + 1 < len(_STEPS):
                mask = _recheck(norm, mask, k)
    return norm, where


def _fold_with_origin(text: str) -> tuple[str, np.ndarray, int]:
    """Step 1 of one text, the index in `text` of each folded character followed by `len(text)`, and
    the pre-check's step bits: compiled, or through `str.translate`'s table for a text with a
    character the compiled table leaves to it."""
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    room = len(cp) + len(cp) // 8 + 8  # a text whose folded form is longer takes the Python path
    out, origin = np.empty(room, np.uint32), np.empty(room + 1, np.int64)
    tables = _fold_tables()
    n, mask = folding.fold_one(cp, *tables, _classes(), *_word_table(), out, origin)
    if n >= 0 and len(_STEPS) == _CONDITIONS:
        origin[n] = len(text)
        return out[:n].tobytes().decode("utf-32-le"), origin[: n + 1], mask
    codes, bmp = tables[0], cp[cp < 0x10000]
    _learn_folds(codes, np.concatenate([bmp[codes[bmp] == folding.UNKNOWN], cp[cp >= 0x10000]]))
    pieces, where = [], []
    for i, char in enumerate(text):
        folded = _TABLE[ord(char)]
        if folded:
            pieces.append(folded)
            where.extend([i] * len(folded))
    norm = "".join(pieces)
    return norm, np.array(where + [len(text)], dtype=np.int64), _step_mask(norm)


def original_span(origin: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Map a normalised span `[start, end)` back to the original text's span."""
    if end <= start:
        at = int(origin[start])
        return at, at
    return int(origin[start]), int(origin[end - 1]) + 1
