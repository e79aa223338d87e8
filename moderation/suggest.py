"""Active learning: which unlabelled comments a moderator should label next to teach the model most.

Uncertainty. A label teaches most where the model's decision could go either way: per category,
the comment's score is compared with the category's review and reject thresholds in log-odds,
`u = exp(-min |logit p − logit t|)` (1 on a threshold, 0.37 one log-odds unit away), and the
comment's uncertainty is the largest over categories. Log-odds make "close" mean the same near
0.5 as near 0.9, where a reject threshold tuned for precision usually sits.

Diversity. Fifty copies of one borderline comment teach what one of them does. From a pool of
the most uncertain comments the selection is greedy: each step takes the comment with the best
`u × (1 − diversity × s)`, where `s` is its largest cosine similarity to the comments already
taken in the model's own feature space (TF-IDF of word and character n-grams). The discount is
relative, so uncertainty stays the main criterion (unrelated comments have `s` ≈ 0.05–0.2 here);
a comment at least `duplicate` (0.8) similar to one already taken is never taken. Comments whose
text key is in the label files are left out from the start, and so are exact repeats.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from moderation.labels import text_key
from moderation.normalize import normalize_batch

if TYPE_CHECKING:
    from moderation.archive import Comment
    from moderation.model import Model

DIVERSITY = 1.0
DUPLICATE = 0.8
_EPS = 1e-6


@dataclass(frozen=True)
class Suggestion:
    """One comment to label: where it was, its scores, how uncertain the model is and why."""

    index: int
    id: str | None
    text: str
    scores: dict[str, float]
    uncertainty: float
    category: str
    reason: str

    def record(self) -> dict:
        """The suggestion as a JSON Lines record."""
        return {"id": self.id, "text": self.text, "scores": self.scores, "uncertainty": self.uncertainty,
                "category": self.category, "reason": self.reason}


def uncertainty(proba: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per comment and category, closeness to the nearest threshold, and which threshold (0 review, 1 reject).

    `thresholds` is (k, 2): review and reject per category.

    >>> u, which = uncertainty(np.array([[0.4, 0.99]]), np.array([[0.4, 0.85], [0.4, 0.85]]))
    >>> round(float(u[0, 0]), 3), int(which[0, 0])
    (1.0, 0)
    """
    z = _logit(proba)[:, :, None] - _logit(thresholds)[None, :, :]
    distance = np.abs(z)
    return np.exp(-distance.min(axis=2)), distance.argmin(axis=2)


def select(features, u: np.ndarray, n: int, diversity: float = DIVERSITY, duplicate: float = DUPLICATE) -> list[int]:
    """Greedy diverse selection: indices (best first) maximising `u × (1 − diversity × max similarity to those taken)`.

    `features` are row vectors (sparse or dense); rows are L2-normalised here.

    >>> select(np.array([[1.0, 0], [1.0, 0.01], [0, 1.0]]), np.array([0.9, 0.89, 0.5]), 2)
    [0, 2]
    """
    from sklearn.preprocessing import normalize

    X = normalize(features)
    similar = np.zeros(len(u))
    available = np.ones(len(u), dtype=bool)
    picked: list[int] = []
    while len(picked) < n and available.any():
        gain = np.where(available, u * (1 - diversity * similar), -np.inf)
        best = int(np.argmax(gain))
        picked.append(best)
        available[best] = False
        sims = X @ X[best].T
        sims = np.asarray(sims.todense() if hasattr(sims, "todense") else sims).ravel()
        similar = np.maximum(similar, sims)
        available &= similar < duplicate
    return picked


def suggest(texts: Sequence[str], model: "Model", n: int = 50, labelled: Iterable[str] = (),
            ids: Sequence[str] | None = None, diversity: float = DIVERSITY,
            duplicate: float = DUPLICATE) -> list[Suggestion]:
    """The `n` comments of `texts` most worth labelling, best first; `labelled` holds text keys to skip.

    >>> [s.index for s in suggest(texts, model, n=5)]  # doctest: +SKIP
    [17, 3, 42, 8, 30]
    """
    skip = set(labelled)
    keep, seen = [], set()
    for i, text in enumerate(texts):
        key = text_key(text)
        if key and key not in skip and key not in seen and len(text) <= model.policy.max_chars:
            keep.append(i)
            seen.add(key)
    if not keep or n < 1:
        return []
    kept = [texts[i] for i in keep]
    proba = model.predict_proba(kept)
    limits = _thresholds(model)
    closeness, which = uncertainty(proba, limits)
    u = closeness.max(axis=1)
    features = model.featurizer.transform(normalize_batch(kept))
    out = []
    for p in select(features, u, n, diversity, duplicate):
        i = keep[p]
        out.append(Suggestion(i, None if ids is None else ids[i], texts[i],
                              {c: round(float(x), 4) for c, x in zip(model.categories, proba[p])},
                              round(float(u[p]), 4), model.categories[int(closeness[p].argmax())],
                              _reason(proba[p], closeness[p], which[p], limits, model.categories)))
    return out


def suggest_comments(comments: Iterable["Comment"], model: "Model", n: int = 50, labelled: Iterable[str] = (),
                     pool: int | None = None, chunk: int = 4096) -> list[Suggestion]:
    """`suggest` over a stream of comments in bounded memory: only the `pool` most uncertain are kept."""
    size = pool or max(20 * n, 1000)
    skip = set(labelled)
    limits = _thresholds(model)
    heap: list[tuple[float, int, str]] = []
    members: dict[str, tuple[str, str]] = {}  # text key → (id, text) of the comments in the pool
    stream = iter(comments)
    order = itertools.count()
    while raw := list(itertools.islice(stream, chunk)):
        block = [c for c in raw if c.text.strip() and len(c.text) <= model.policy.max_chars]
        if not block:
            continue
        u = uncertainty(model.predict_proba([c.text for c in block]), limits)[0].max(axis=1)
        for comment, value in zip(block, u):
            key = text_key(comment.text)
            if key in skip or key in members:
                continue
            if len(heap) < size:
                heapq.heappush(heap, (float(value), next(order), key))
            elif value > heap[0][0]:
                _, _, dropped = heapq.heappushpop(heap, (float(value), next(order), key))
                del members[dropped]
            else:
                continue
            members[key] = (comment.id, comment.text)
    ids, texts = zip(*[members[key] for _, _, key in sorted(heap, key=lambda e: e[1])]) if heap else ((), ())
    return suggest(list(texts), model, n, ids=list(ids))


def format_suggestions(suggestions: list[Suggestion], categories: list[str], width: int = 70) -> str:
    """A terminal table: rank, id, uncertainty, the scores, the reason and the start of the text."""
    if not suggestions:
        return "no unlabelled comments to suggest"
    short = {c: c[:8] for c in categories}
    head = f"{'#':>3}  {'id':<24}{'unc':>6}" + "".join(f"{short[c]:>10}" for c in categories) + "  text"
    lines = [head, "-" * (len(head) + width - 4)]
    for rank, s in enumerate(suggestions, start=1):
        text = " ".join(s.text.split())
        text = text if len(text) <= width else text[: width - 1] + "…"
        lines.append(f"{rank:>3}  {str(s.id or s.index):<24.24}{s.uncertainty:>6.2f}"
                     + "".join(f"{s.scores[c]:>10.2f}" for c in categories) + f"  {text}")
        lines.append(f"{'':>5}{s.reason}")
    return "\n".join(lines)


def _thresholds(model: "Model") -> np.ndarray:
    """(k, 2): the model's review and reject threshold per category."""
    return np.array([[model.thresholds[c]["review"], model.thresholds[c]["reject"]] for c in model.categories])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _reason(proba: np.ndarray, closeness: np.ndarray, which: np.ndarray, limits: np.ndarray,
            categories: list[str]) -> str:
    """The categories whose score sits nearest a threshold (within half the top closeness), nearest first."""
    order = np.argsort(-closeness)
    parts = []
    for j in order:
        if parts and closeness[j] < 0.5 * closeness[order[0]]:
            break
        kind = ("review", "reject")[int(which[j])]
        parts.append(f"{categories[j]} {proba[j]:.2f} ({kind} threshold {limits[j, int(which[j])]:.2f})")
    return "; ".join(parts[:3])
