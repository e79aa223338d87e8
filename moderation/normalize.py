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
   that fits ("wh*re" -> "whore", "sh*t" -> "shit", "bu11shit" -> "bullshit").
5. Runs of three or more of the same letter become one letter, or two when that reads as the
   better word of the vocabulary: "fuuuuck" -> "fuck", "sooo" -> "so", "killl" -> "kill", while
   doubled letters ("good", "Mississippi") and a word that is nothing but the run ("www", "KKK",
   "zzz") stay. The vocabulary's ranking favours words seen in violations, so "goood" -> "god".

The vocabulary (`moderation/vocabulary.py`, `moderation/vocabulary.txt`) ships with the code, so
training and scoring read the same list.

URLs and e-mail addresses are left alone by steps 4 and 5. Glued words ("youfuckingidiot") are
left to the featuriser's character n-grams.

Speed: step 1 is one `str.translate` per comment; a vectorised pass over the whole batch
(`_first_steps`) then finds the few comments that steps 2-5 could change (about one in ten), and
only those go through the regular expressions. `normalize` is `normalize_batch` of one comment, and
`normalize_with_offsets` runs the same check and the same steps, so the three always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np

from moderation import vocabulary

__all__ = ["normalize", "normalize_batch", "normalize_with_offsets", "original_span", "script_of"]

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
    """`edit` applied to the text between URLs and e-mail addresses, which stay as they are."""
    if "://" not in text and "www." not in text and "@" not in text:
        return edit(text)
    pieces, at = [], 0
    for m in _LINKS.finditer(text):
        pieces += [edit(text[at : m.start()]), m.group()]
        at = m.end()
    pieces.append(edit(text[at:]))
    return "".join(pieces)


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
    most masked words of the Jigsaw and Civil Comments samples. Digits stay when there are
    more than two ("mr3003nights") or the token starts or ends with a digit ("4x4", "h1n1", "mp3s").
    `_ ! #` more often join two words ("user_talk", "great!thanks", "Page#Section") than hide a
    letter, so they count only in a token of letters around them alone whose shorter side has at
    most two letters and longer side at most five ("sh_t", "b!tch", "f#cking"). At the end of a
    word only "$$" ("a$$") and two or more masks count ("f***"; not the footnote in "word*" nor
    "**bold**"); at its start only an "@" spelling "ass" ("@ss"; "@user" is a mention) or a lone
    "$" when the word then reads as a vocabulary word of four letters or more ("$hit", "$cam";
    not "$usd"). Leading digits stay ("1st", "5am"). A run inside a word that reads as no word of
    the vocabulary is a mask when the word then reads as a violation word ("c1nt" -> "cunt").
    Whatever these rules say, a run becomes letters when the whole token then reads as one of the
    vocabulary's violation words ("5lut", "shi7", "@s$"; "5am" stays, "sam" is not one), except
    an "@" that starts a token (a mention).
    """
    text, (start, end), run = m.string, m.span(), m.group()
    letter_before = start > 0 and _is_letter(text[start - 1])
    letter_after = end < len(text) and _is_letter(text[end])
    if not (letter_before or letter_after):
        return run
    first, last = start, end  # the token around the run
    while first > 0 and _is_token(text[first - 1]):
        first -= 1
    while last < len(text) and _is_token(text[last]):
        last += 1
    by_rule = _unleet_by_rule(text, start, end, run, first, last, letter_before, letter_after)
    if by_rule != run or (start == first and run[0] == "@" and text[end : end + 1] not in ("s", "$")):  # "@name"
        return by_rule
    return _reading(text, first, last, start, end, violation=True) or run


def _unleet_by_rule(text: str, start: int, end: int, run: str, first: int, last: int,
                    letter_before: bool, letter_after: bool) -> str:
    """`_unleet_run` without its violation-word fallback."""
    if letter_before and letter_after:
        digits = sum(c.isdigit() for c in run)
        if digits and (digits > 2 or text[first].isdigit() or text[last - 1].isdigit()):
            return run
        if any(c in "_!#" for c in run):  # the letters around, symbols at the token's ends aside
            a, b = first, last
            while text[a] in _STANDS_IN:
                a += 1
            while text[b - 1] in _STANDS_IN:
                b -= 1
            before, after = text[a:start], text[end:b]
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
        return run
    tail = _TAIL.match(run)
    if tail and not (run[0] in "*#" and text[first] in "*#"):
        return tail.group().translate(_LEET) + run[tail.end() :]
    return run


_LEADS = np.array([ord(c) for c in "013457$€©"])  # stand-ins that may start a word ("@" starts mentions)
_TRAILS = np.array([ord(c) for c in "013457$@€©"])  # and end one
_PUNCTUATION = "!*#_"  # stand-ins that, at a token's ends, are more often punctuation or markup
_READS_AS = {c: f"[{c.translate(_LEET)}]" for c in "03457$@€©"} | {"1": "[il]", "!": "[il]"}
_READS_AS |= {c: "[a-z]" for c in "*#_"}  # a mask may hide any letter


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
    pattern = "".join("[a-z]" if masked and start <= first + k < end else _READS_AS.get(c)
                      or (c if c.isalpha() else re.escape(c)) for k, c in enumerate(word))
    found = vocabulary.best_word(pattern, len(word))
    if found is None or (violation and not vocabulary.is_violation_word(found)):
        return None
    return text[start:inside_start] + found[inside_start - first : inside_end - first] + text[inside_end:end]


def _unleet(text: str) -> str:
    """Step 4: leetspeak and masks, links excepted."""
    return _outside_links(lambda piece: _RUN.sub(_unleet_run, piece), text)


def _collapse_repeats(text: str) -> str:
    """Step 5: "fuuuuck" -> "fu\\0\\0\\0ck" (all but the first of a run of 3+ marked as deleted)."""
    return _outside_links(lambda piece: _REPEAT.sub(_first_of_run, piece), text)


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
    word = text[first:last]
    if len(word) > 30 or not _ASCII_WORD.fullmatch(word):
        return 1
    runs = list(_RUNS.finditer(word))
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
def _char_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per BMP code point: is it a letter (`[^\\W\\d_]`), a stand-in, a separator, a look-alike."""
    chars = [chr(c) for c in range(0x10000)]
    letter = np.array([c.isalnum() and not c.isdecimal() and c != "_" for c in chars])
    stand_in, separator, lookalike = (np.zeros(0x10000, bool) for _ in range(3))
    stand_in[[ord(c) for c in _STANDS_IN]] = True
    separator[[ord(c) for c in " .*~_-"]] = True
    lookalike[[c for c in _confusables().other if c < 0x10000]] = True
    return letter, stand_in, separator, lookalike


def _first_steps(folded: list[str]) -> list[int]:
    """For each text after step 1, the index in `_STEPS` of the first step that might change it.

    `len(_STEPS)` when none can. Vectorised over the whole batch: each condition below is necessary
    for its step to change a text, and a text runs every step from the first whose condition holds
    (an earlier step can make work for a later one: "a$$$" -> "asss" -> "as"), so skipping the
    others changes nothing, only saves time. Characters outside the BMP (emoji …) are looked up
    one by one.
    """
    if not folded:
        return []
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
    first = np.full(len(folded), len(_STEPS))
    for step, where in reversed(list(enumerate([lookalike, spaced, leet, repeat]))):
        positions = where if where.dtype != bool else np.flatnonzero(where)
        first[np.searchsorted(ends, positions, side="right")] = step
    return first.tolist()


def _finish(text: str, first: int) -> str:
    """Steps `first`... of steps 2-5 on one text that step 1 has folded."""
    for step in _STEPS[first:]:
        text = step(text)
        if _DELETED in text:
            text = text.replace(_DELETED, "")
    return text


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
    table = _TABLE
    folded = [t.translate(table) for t in texts]
    firsts = [f for at in range(0, len(folded), _CHUNK) for f in _first_steps(folded[at : at + _CHUNK])]
    return [_finish(t, first) for t, first in zip(folded, firsts)]


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
    table = _TABLE
    pieces = []
    origin = []
    for i, char in enumerate(text):
        folded = table[ord(char)]
        if folded:
            pieces.append(folded)
            origin.extend([i] * len(folded))
    norm = "".join(pieces)
    where = np.asarray(origin, dtype=np.int64)
    for step in _STEPS[_first_steps([norm])[0] :]:  # as `_finish`, keeping the origin of survivors
        marked = step(norm)
        if _DELETED in marked:
            where = where[np.frombuffer(marked.encode("utf-32-le"), dtype="<u4") != 0]
            marked = marked.replace(_DELETED, "")
        norm = marked
    return norm, np.append(where, len(text))


def original_span(origin: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Map a normalised span `[start, end)` back to the original text's span."""
    if end <= start:
        at = int(origin[start])
        return at, at
    return int(origin[start]), int(origin[end - 1]) + 1
