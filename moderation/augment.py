"""Counterfactual augmentation: copies of comments that name a group or a place, with it swapped.

Public corpora name some groups mostly in attacks, so a linear model learns the name itself as
evidence of an attack ("I am a gay man" scored as an identity attack). Each training comment that
names a group gets copies in which every group name is replaced by the same form of another
group. Places do the same harm on a smaller scale: a town named in one heavily weighted attack
of the outlet's own comments and rarely elsewhere becomes evidence of an attack by itself, so
the copies also swap every place name for another place. The copies keep the comment's labels (an attack on any group is an identity attack), join
the original's near-duplicate group (so they never straddle cross-validation folds) and are never
evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.errors import PolicyError
from moderation.policy import read_toml


@dataclass(frozen=True)
class IdentityTerms:
    """Groups, each with an adjective, a plural noun and a singular noun form ('' = not used); places."""

    groups: tuple[tuple[str, str, str], ...]
    places: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: str | Path) -> "IdentityTerms":
        """Read `labels/identity_terms.toml`."""
        raw = read_toml(path, "identity terms file")
        groups = raw.get("groups")
        if not isinstance(groups, list) or not groups:
            raise PolicyError(f"{path}: groups must be a non-empty list of [adjective, plural, singular]")
        for i, group in enumerate(groups, start=1):
            if not (isinstance(group, list) and len(group) == 3 and all(isinstance(f, str) for f in group)):
                raise PolicyError(f"{path}: groups entry {i}: expected three strings, found {group!r}")
        places = raw.get("places", [])
        if not isinstance(places, list) or not all(isinstance(p, str) and p.strip() for p in places):
            raise PolicyError(f"{path}: places must be a list of non-empty strings")
        if len(places) == 1:
            raise PolicyError(f"{path}: places: one place cannot be swapped for another; list two or more")
        return cls(tuple(tuple(g) for g in groups), tuple(p.strip() for p in places))

    def pattern(self) -> re.Pattern[str]:
        """One case-insensitive whole-word pattern over every form and place, longest first."""
        forms = sorted({f for g in self.groups for f in g if f} | set(self.places), key=len, reverse=True)
        return re.compile(r"(?<!\w)(" + "|".join(re.escape(f) for f in forms) + r")(?!\w)", re.IGNORECASE)

    def lookup(self) -> dict[str, tuple[int, int]]:
        """Lower-cased form → (group index, form index); a place is its own group with form index 3."""
        table: dict[str, tuple[int, int]] = {}
        for g, forms in enumerate(self.groups):
            for k, form in enumerate(forms):
                if form:
                    table.setdefault(form.lower(), (g, k))
        for p, place in enumerate(self.places):
            table.setdefault(place.lower(), (len(self.groups) + p, 3))
        return table

    def form(self, group: int, k: int) -> str:
        """Form `k` of group `group` (k = 3: the place `group` stands for)."""
        return self.places[group - len(self.groups)] if k == 3 else self.groups[group][k]

    def others(self, group: int, k: int) -> list[int]:
        """The groups (or places, k = 3) that could replace `group` in form `k`."""
        if k == 3:
            return [len(self.groups) + p for p in range(len(self.places)) if len(self.groups) + p != group]
        return [i for i, forms in enumerate(self.groups) if i != group and forms[k]]


def swap_groups(text: str, terms: IdentityTerms, rng: np.random.Generator,
                pattern: re.Pattern[str] | None = None, table: dict | None = None) -> str | None:
    """`text` with every group name replaced by another group's same form and every place by another
    place; None if it names none."""
    matches = list((pattern or terms.pattern()).finditer(text))
    return _swap(text, matches, terms, rng, table or terms.lookup(), {}) if matches else None


def _swap(text: str, matches: list[re.Match[str]], terms: IdentityTerms, rng: np.random.Generator,
          table: dict, pools: dict[tuple[int, int], np.ndarray]) -> str:
    """`text` with the names that `matches` found swapped: `pattern.sub` with the same random draws.

    `pools` keeps `terms.others(group, form)` as arrays between calls (filled here as needed).
    """
    mapping: dict[int, int] = {}
    pieces, end = [], 0
    for match in matches:
        word = match.group(0)
        pieces.append(text[end:match.start()])
        end = match.end()
        if word.lower() not in table:  # matched through a case rule lower() does not invert ("İstanbul")
            pieces.append(word)
            continue
        g, k = table[word.lower()]
        if g not in mapping:
            pool = pools.get((g, k))
            if pool is None:
                pool = pools[(g, k)] = np.array(terms.others(g, k))
            mapping[g] = int(rng.choice(pool))
        new = terms.form(mapping[g], k)
        if word[:1].isupper() and not new[:1].isupper():
            new = new[:1].upper() + new[1:]
        pieces.append(new)
    pieces.append(text[end:])
    return "".join(pieces)


_WORD = re.compile(r"\w+")


def _case_matches(chars: set[str]) -> set[str]:
    """Every character that a case-insensitive pattern made of `chars` matches (surrogates aside)."""
    if not chars:
        return set()
    codes = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype("<u4")
    everything = codes.tobytes().decode("utf-32-le")
    return set(re.findall("[" + "".join(re.escape(c) for c in sorted(chars)) + "]", everything, re.IGNORECASE))


class NameFinder:
    """Every match of `terms.pattern()` in a text, as `list(pattern.finditer(text))` but quicker.

    A match of the pattern starts a run of word characters (`\\w+`) in the text, and that run,
    whole, matches the first word of its form case-insensitively (what follows the first word in a
    form is a non-word character, and so is the text's character there). So the pattern is only
    tried where such a run starts, and not at all in a text without one: the runs are looked up,
    each distinct run once, in a pattern of the first words. When a form starts with a non-word
    character, or a case rule pairs a word character of the forms with a non-word one (U+0345 and
    "ι") or the reverse, it falls back to the whole pattern.

    >>> finder = NameFinder(IdentityTerms((("Kurdish", "Kurds", "Kurd"), ("Greek", "Greeks", "Greek"))))
    >>> [m.group(0) for m in finder.find("KURDS and Greek_ or greeks")]
    ['KURDS', 'greeks']
    """

    def __init__(self, terms: IdentityTerms) -> None:
        self.pattern = terms.pattern()
        forms = sorted({f for g in terms.groups for f in g if f} | set(terms.places))
        firsts = [_WORD.match(f) for f in forms]
        word_chars = {c for f in forms for c in f if _WORD.fullmatch(c)}
        other_chars = {c for f in forms for c in f} - word_chars
        self.exact = bool(forms) and None not in firsts and all(
            _WORD.fullmatch(c) for c in _case_matches(word_chars)) and not any(
            _WORD.fullmatch(c) for c in _case_matches(other_chars))
        words = sorted({m.group(0) for m in firsts if m is not None})
        self._first = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
        self._known: set[str] = set()  # runs looked up so far
        self._names: set[str] = set()  # those that match a first word

    def find(self, text: str) -> list[re.Match[str]]:
        """The pattern's matches in `text`, in order."""
        if not self.exact:
            return list(self.pattern.finditer(text))
        runs = set(_WORD.findall(text))
        if not self._known.issuperset(runs):
            for run in runs.difference(self._known):
                self._known.add(run)
                if self._first.fullmatch(run):
                    self._names.add(run)
        if self._names.isdisjoint(runs):  # a set: looked up from the smaller side
            return []
        found: list[re.Match[str]] = []
        end = 0
        for run in _WORD.finditer(text):
            if run.start() >= end and run.group(0) in self._names:
                match = self.pattern.match(text, run.start())  # its look-behind sees the text before
                if match:
                    found.append(match)
                    end = match.end()
        return found


def augment(examples, terms: IdentityTerms, copies: dict[str, int], seed: int = 0):
    """Examples plus counterfactual copies (`copies[source]` per comment naming a group or place; default key)."""
    from moderation.training import Examples

    rng = np.random.default_rng(seed)
    finder, table, pools = NameFinder(terms), terms.lookup(), {}
    texts, index = [], []
    for i, text in enumerate(examples.texts):
        n = copies.get(examples.sources[i], copies.get("default", 0))
        matches = finder.find(text) if n > 0 else []  # found once for all the copies
        if not matches:
            continue
        for _ in range(n):
            texts.append(_swap(text, matches, terms, rng, table, pools))
            index.append(i)
    if not index:
        return examples
    idx = np.asarray(index)
    return Examples(
        texts=examples.texts + texts,
        soft=np.vstack([examples.soft, examples.soft[idx]]),
        weight=np.vstack([examples.weight, examples.weight[idx]]),
        sources=examples.sources + [examples.sources[i] for i in index],
        evaluable=np.concatenate([examples.evaluable, np.zeros(len(idx), dtype=bool)]),
        groups=np.concatenate([examples.groups, examples.groups[idx]]),
        copies=examples.copies + len(idx),
    )
