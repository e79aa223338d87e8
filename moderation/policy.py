"""The discussion policy: categories, thresholds, word lists, and the decision they imply."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from moderation.errors import PolicyError

DECISIONS = ("allow", "review", "reject")
ACTIONS = ("review", "reject")


@dataclass(frozen=True)
class Category:
    """One policy category and its thresholds."""

    name: str
    clause: str
    description: str
    reject: float
    review: float
    target_precision: float | None = None


@dataclass(frozen=True)
class LexiconTerm:
    """An outlet-specific term that forces at least `action` for `category`."""

    term: str
    category: str
    action: str

    def pattern(self) -> re.Pattern[str]:
        """Whole-word, case-insensitive pattern; spaces in the term match any run of spaces."""
        words = [re.escape(w) for w in self.term.split()]
        return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class LexiconHit:
    """A word-list term found at `[start, end)`; `quoted` when it stands inside quotation marks."""

    start: int
    end: int
    term: LexiconTerm
    quoted: bool = False


# A passage in quotation marks; a single mark opens one only after no word character. Every
# branch begins with its mark (the look-behind comes after it), so a search skips to the marks.
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|«[^»\n]*»|'(?<!\w')[^'\n]*'(?!\w)")


@dataclass(frozen=True)
class Decision:
    """What the policy says of one comment's scores."""

    decision: str
    violations: list[str]
    review: list[str]
    reasons: list[str]


@dataclass(frozen=True)
class Policy:
    """The policy loaded from `labels/policy.toml`.

    >>> policy = Policy.load("labels/policy.toml")
    >>> policy.decide({"profanity": 0.97, "personal_attack": 0.1, "identity_attack": 0.0, "threat": 0.0}).decision
    'reject'
    """

    name: str
    text: str
    categories: tuple[Category, ...]
    max_chars: int = 20000
    max_batch: int = 1000
    lexicon: tuple[LexiconTerm, ...] = field(default_factory=tuple)
    source_weights: dict[str, float] = field(default_factory=dict)
    not_for_evaluation: tuple[str, ...] = ()
    training_alpha: dict[str, float] = field(default_factory=dict)
    counterfactual_copies: dict[str, int] = field(default_factory=dict)
    promotion_tolerance: dict[str, float] = field(default_factory=lambda: {"default": 0.005})

    def source_weight(self, source: str) -> float:
        """Training weight of a label source (1.0 unless the policy says otherwise)."""
        return self.source_weights.get(source, self.source_weights.get("default", 1.0))

    @property
    def names(self) -> list[str]:
        """Category names in policy order."""
        return [c.name for c in self.categories]

    def category(self, name: str) -> Category:
        """The category called `name`; PolicyError naming the known ones otherwise."""
        for c in self.categories:
            if c.name == name:
                return c
        raise PolicyError(f"unknown category {name!r}; the policy has {', '.join(self.names)}")

    @classmethod
    def load(cls, path: str | Path) -> "Policy":
        """Read and validate a policy TOML file."""
        return cls.from_dict(read_toml(path, "policy file"), source=str(path))

    @classmethod
    def from_dict(cls, raw: Mapping, source: str = "<policy>") -> "Policy":
        """Build a policy from parsed TOML, checking every field."""
        cats_raw = raw.get("categories")
        if not isinstance(cats_raw, Mapping) or not cats_raw:
            raise PolicyError(f"{source}: [categories] must define at least one category")
        categories = []
        for name, spec in cats_raw.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise PolicyError(f"{source}: categories.{name}: names are lower-case words joined by _")
            if not isinstance(spec, Mapping):
                raise PolicyError(f"{source}: categories.{name}: expected a table")
            reject = _probability(spec, "reject", f"{source}: categories.{name}")
            review = _probability(spec, "review", f"{source}: categories.{name}")
            if review > reject:
                raise PolicyError(
                    f"{source}: categories.{name}: review ({review}) must not exceed reject ({reject})"
                )
            target = spec.get("target_precision")
            if target is not None:
                target = _probability(spec, "target_precision", f"{source}: categories.{name}")
            categories.append(
                Category(
                    name=name,
                    clause=str(spec.get("clause", "")),
                    description=str(spec.get("description", "")),
                    reject=reject,
                    review=review,
                    target_precision=target,
                )
            )
        names = {c.name for c in categories}
        lexicon = []
        for i, entry in enumerate(raw.get("lexicon", []), start=1):
            where = f"{source}: lexicon entry {i}"
            if not isinstance(entry, Mapping):
                raise PolicyError(f"{where}: expected a table with term, category, action")
            term = entry.get("term")
            if not isinstance(term, str) or not term.strip():
                raise PolicyError(f"{where}: term must be a non-empty string")
            cat = entry.get("category")
            if cat not in names:
                raise PolicyError(f"{where}: category {cat!r} is not one of {', '.join(sorted(names))}")
            action = entry.get("action", "review")
            if action not in ACTIONS:
                raise PolicyError(f"{where}: action {action!r} must be one of {', '.join(ACTIONS)}")
            lexicon.append(LexiconTerm(term=term.strip(), category=cat, action=action))
        limits = raw.get("limits", {})
        max_chars = limits.get("max_chars", 20000)
        max_batch = limits.get("max_batch", 1000)
        for key, value in (("max_chars", max_chars), ("max_batch", max_batch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise PolicyError(f"{source}: limits.{key} must be a positive integer, found {value!r}")
        training = raw.get("training", {})
        if not isinstance(training, Mapping):
            raise PolicyError(f"{source}: [training] must be a table")
        weights = training.get("source_weights", {})
        if not isinstance(weights, Mapping):
            raise PolicyError(f"{source}: training.source_weights must be a table of numbers")
        for key, value in weights.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PolicyError(
                    f"{source}: training.source_weights.{key}: expected a number ≥ 0, found {value!r}"
                )
        alpha = training.get("alpha", {})
        if not isinstance(alpha, Mapping):
            raise PolicyError(f"{source}: training.alpha must be a table of numbers per category")
        for key, value in alpha.items():
            if key not in names:
                raise PolicyError(f"{source}: training.alpha.{key}: not a category ({', '.join(sorted(names))})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise PolicyError(f"{source}: training.alpha.{key}: expected a number > 0, found {value!r}")
        copies = training.get("counterfactual_copies", {})
        if not isinstance(copies, Mapping) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 20 for v in copies.values()
        ):
            raise PolicyError(f"{source}: training.counterfactual_copies must map sources to whole numbers 0–20")
        tolerance = training.get("promotion_tolerance", 0.005)  # a number, or a table per category
        per_category = isinstance(tolerance, Mapping)
        for key, value in (tolerance.items() if per_category else [("default", tolerance)]):
            where = f"{source}: training.promotion_tolerance" + (f".{key}" if per_category else "")
            if key != "default" and key not in names:
                raise PolicyError(f"{where}: not a category ({', '.join(sorted(names))}) nor default")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise PolicyError(f"{where}: expected a ROC-AUC difference between 0 and 1, found {value!r}")
        tolerance = dict(tolerance) if per_category else {"default": tolerance}
        excluded = training.get("not_for_evaluation", [])
        if not isinstance(excluded, list) or not all(isinstance(x, str) for x in excluded):
            raise PolicyError(f"{source}: training.not_for_evaluation must be a list of source names")
        return cls(
            source_weights={k: float(v) for k, v in weights.items()},
            not_for_evaluation=tuple(excluded),
            training_alpha={k: float(v) for k, v in alpha.items()},
            counterfactual_copies=dict(copies),
            promotion_tolerance={"default": 0.005} | {k: float(v) for k, v in tolerance.items()},
            name=str(raw.get("name", "policy")),
            text=str(raw.get("text", "")),
            categories=tuple(categories),
            max_chars=max_chars,
            max_batch=max_batch,
            lexicon=tuple(lexicon),
        )

    def thresholds(self) -> dict[str, dict[str, float]]:
        """The policy's own thresholds, `{category: {"reject": r, "review": v}}`."""
        return {c.name: {"reject": c.reject, "review": c.review} for c in self.categories}

    def lexicon_hits(self, text: str) -> list[LexiconHit]:
        """Every lexicon term found in `text`, in text order; terms inside quotation marks are marked."""
        if not self.lexicon:
            return []
        lowered = text.lower()
        if not any(word in lowered for word in self._lexicon_first_words):  # most comments: no term at all
            return []
        quotes = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
        hits = []
        for term, pattern in zip(self.lexicon, self._lexicon_patterns):
            for m in pattern.finditer(text):
                quoted = any(a < m.start() and m.end() < b for a, b in quotes)
                hits.append(LexiconHit(m.start(), m.end(), term, quoted))
        return sorted(hits, key=lambda h: (h.start, h.end))

    def lexicon_hits_many(self, texts: list[str]) -> list[list[LexiconHit]]:
        """`[self.lexicon_hits(t) for t in texts]`, with one test of each group of texts first:
        most lists of comments hold no term at all (see `lexicon_hits_found`)."""
        found = self.lexicon_hits_found(texts)
        return [found.get(i) or [] for i in range(len(texts))]

    def lexicon_hits_found(self, texts: list[str]) -> dict[int, list[LexiconHit]]:
        """`{i: self.lexicon_hits(texts[i])}` for the texts that may hold a term (the others hold
        none): what `lexicon_hits_many` finds, without a list per text.

        The ASCII texts and the others are joined apart: lower-casing a join of ASCII texts is a
        fraction of the work of lower-casing a join that one other character widens.
        """
        found: dict[int, list[LexiconHit]] = {}
        if not self.lexicon or not texts:
            return found
        ascii_texts = [i for i, text in enumerate(texts) if text.isascii()]
        other_texts = [i for i, text in enumerate(texts) if not text.isascii()]
        for group in (ascii_texts, other_texts):
            # A first word in one lower-cased text is in the lower-cased join; NUL never is in a word.
            joined = "\0".join([texts[i] for i in group]).lower()
            if any(word in joined for word in self._lexicon_first_words):
                for i in group:
                    found[i] = self.lexicon_hits(texts[i])
        return found

    @cached_property
    def _lexicon_patterns(self) -> list[re.Pattern[str]]:
        return [term.pattern() for term in self.lexicon]

    @cached_property
    def _lexicon_first_words(self) -> frozenset[str]:
        """The first word of every term, lower-cased: a cheap test before the patterns run."""
        return frozenset(term.term.split()[0].lower() for term in self.lexicon)

    def decide(
        self,
        scores: Mapping[str, float],
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
        lexicon_hits: list[LexiconHit] | None = None,
    ) -> Decision:
        """Turn per-category probabilities (and lexicon hits) into allow, review or reject.

        A word-list term inside quotation marks is most likely quoted or condemned, not used:
        it sends the comment to review at most, never to automatic rejection.
        """
        thresholds = thresholds or self.thresholds()
        violations: list[str] = []
        review: list[str] = []
        reasons: list[str] = []
        for c in self.categories:
            p = float(scores[c.name])
            t = thresholds.get(c.name, {"reject": c.reject, "review": c.review})
            if p >= t["reject"]:
                violations.append(c.name)
                reasons.append(f"{c.name} score {p:.2f} ≥ reject threshold {t['reject']:.2f}")
            elif p >= t["review"]:
                review.append(c.name)
                reasons.append(f"{c.name} score {p:.2f} ≥ review threshold {t['review']:.2f}")
        for hit in lexicon_hits or []:
            start, end, term = hit.start, hit.end, hit.term
            action = "review" if hit.quoted else term.action
            target = violations if action == "reject" else review
            if term.category not in violations and term.category not in target:
                target.append(term.category)
                if term.category in review and target is violations:
                    review.remove(term.category)
            quoted = ", quoted: review only" if hit.quoted and term.action == "reject" else ""
            reasons.append(f"policy word list: {term.term!r} ({term.category}, {term.action}{quoted}) at {start}-{end}")
        decision = "reject" if violations else "review" if review else "allow"
        order = {name: i for i, name in enumerate(self.names)}
        return Decision(
            decision=decision,
            violations=sorted(violations, key=order.__getitem__),
            review=sorted(review, key=order.__getitem__),
            reasons=reasons,
        )


def read_toml(path: str | Path, what: str) -> dict:
    """Parse a TOML file; PolicyError naming the file when it is missing or malformed."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{path}: {what} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None


def _probability(spec: Mapping, key: str, where: str) -> float:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise PolicyError(f"{where}.{key}: expected a number between 0 and 1, found {value!r}")
    return float(value)


def default_policy_path(labels_dir: str | Path = "labels") -> Path:
    """Where the policy lives inside a labels directory."""
    return Path(labels_dir) / "policy.toml"
