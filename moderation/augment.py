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
    pattern = pattern or terms.pattern()
    table = table or terms.lookup()
    mapping: dict[int, int] = {}

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.lower() not in table:  # matched through a case rule lower() does not invert ("İstanbul")
            return word
        g, k = table[word.lower()]
        if g not in mapping:
            mapping[g] = int(rng.choice(terms.others(g, k)))
        new = terms.form(mapping[g], k)
        if word[:1].isupper() and not new[:1].isupper():
            new = new[:1].upper() + new[1:]
        return new

    out, n = pattern.subn(replace, text)
    return out if n else None


def augment(examples, terms: IdentityTerms, copies: dict[str, int], seed: int = 0):
    """Examples plus counterfactual copies (`copies[source]` per comment naming a group or place; default key)."""
    from moderation.training import Examples

    rng = np.random.default_rng(seed)
    pattern, table = terms.pattern(), terms.lookup()
    texts, index = [], []
    for i, text in enumerate(examples.texts):
        n = copies.get(examples.sources[i], copies.get("default", 0))
        for _ in range(n):
            swapped = swap_groups(text, terms, rng, pattern, table)
            if swapped is None:
                break
            texts.append(swapped)
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
