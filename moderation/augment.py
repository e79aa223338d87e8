"""Counterfactual augmentation: copies of comments that name a group, with the group swapped.

Public corpora name some groups mostly in attacks, so a linear model learns the name itself as
evidence of an attack ("I am a gay man" scored as an identity attack). Each training comment that
names a group gets copies in which every group name is replaced by the same form of another
group; the copies keep the comment's labels (an attack on any group is an identity attack), join
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
    """Groups, each with an adjective, a plural noun and a singular noun form ('' = not used)."""

    groups: tuple[tuple[str, str, str], ...]

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
        return cls(tuple(tuple(g) for g in groups))

    def pattern(self) -> re.Pattern[str]:
        """One case-insensitive whole-word pattern over every form, longest first."""
        forms = sorted({f for g in self.groups for f in g if f}, key=len, reverse=True)
        return re.compile(r"(?<!\w)(" + "|".join(re.escape(f) for f in forms) + r")(?!\w)", re.IGNORECASE)

    def lookup(self) -> dict[str, tuple[int, int]]:
        """Lower-cased form → (group index, form index)."""
        table: dict[str, tuple[int, int]] = {}
        for g, forms in enumerate(self.groups):
            for k, form in enumerate(forms):
                if form:
                    table.setdefault(form.lower(), (g, k))
        return table


def swap_groups(text: str, terms: IdentityTerms, rng: np.random.Generator,
                pattern: re.Pattern[str] | None = None, table: dict | None = None) -> str | None:
    """`text` with every group name replaced by another group's same form; None if it names none."""
    pattern = pattern or terms.pattern()
    table = table or terms.lookup()
    mapping: dict[int, int] = {}

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        g, k = table[word.lower()]
        if g not in mapping:
            choices = [i for i, forms in enumerate(terms.groups) if i != g and forms[k]]
            mapping[g] = int(rng.choice(choices))
        new = terms.groups[mapping[g]][k]
        if word[:1].isupper() and not new[:1].isupper():
            new = new[:1].upper() + new[1:]
        return new

    out, n = pattern.subn(replace, text)
    return out if n else None


def augment(examples, terms: IdentityTerms, copies: dict[str, int], seed: int = 0):
    """Examples plus counterfactual copies (`copies[source]` per comment naming a group; default key)."""
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
