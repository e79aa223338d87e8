"""Batch scoring's output records: a chunk of comments scored and encoded in one go.

`score_chunk` turns a list of comments into the bytes of their output records (JSON Lines, CSV
rows or one Parquet file) and the counts of the run's summary, so that whoever writes them (the
batch runner, in this process or after a worker process or a Dask task) only appends bytes.

The decisions are `Policy.decide`'s, computed for the whole chunk at once: the thresholds are
compared as arrays over the probability matrix, and only the comments for which a word-list term
or the language check can matter take the per-comment path. A record holds the decision,
violations and review categories (not the reasons), so the language check (`supported_many`,
`assess_support`'s answer without its measures), which only ever turns an `allow` into a `review`, runs only on comments that would be allowed.
The bytes are exactly those of `json.dumps(record, ensure_ascii=False)` and of `csv.writer`.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from json.encoder import encode_basestring
from typing import NamedTuple, Sequence

import numpy as np

from moderation.errors import InputError
from moderation.language import supported_many
from moderation.policy import Decision
from moderation.quoting import may_review, review_quoted_many

__all__ = ["Summary", "ScoredChunk", "Verdicts", "parquet_schema", "record_columns", "records", "score_chunk",
           "verdicts"]

NO_ARTICLE = "(no article)"
_TEXT = attrgetter("text")


@dataclass
class Summary:
    """What a batch run did: counts overall, per category and per article."""

    read: int = 0
    scored: int = 0
    not_scored: Counter = field(default_factory=Counter)
    decisions: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)
    per_article: dict = field(default_factory=lambda: defaultdict(Counter))

    def add(self, record: dict) -> None:
        """Count one output record."""
        self.read += 1
        if record["decision"] is None:
            self.not_scored[record["note"]] += 1
            return
        self.scored += 1
        self.decisions[record["decision"]] += 1
        for cat in record["violations"] + record["review"]:
            self.flagged[cat] += 1
        article = record.get("article") or NO_ARTICLE
        self.per_article[article][record["decision"]] += 1

    def merge(self, other: "Summary") -> None:
        """Add the counts of `other` (a later chunk) to these."""
        self.read += other.read
        self.scored += other.scored
        self.not_scored.update(other.not_scored)
        self.decisions.update(other.decisions)
        self.flagged.update(other.flagged)
        for article, counts in other.per_article.items():
            self.per_article[article].update(counts)

    def render(self, categories: list[str], out) -> str:
        """A one-screen summary for the terminal."""
        lines = [f"scored {self.scored} of {self.read} comments → {out}"]
        for reason, n in sorted(self.not_scored.items()):
            lines.append(f"  not scored: {n} ({reason})")
        lines.append("  decisions: " + ", ".join(f"{d} {self.decisions.get(d, 0)}"
                                                for d in ("allow", "review", "reject")))
        lines.append("  flagged per category (reject or review):")
        for cat in categories:
            lines.append(f"    {cat:<18}{self.flagged.get(cat, 0):>8}")
        articles = sorted(self.per_article.items(), key=lambda kv: -sum(kv[1].values()))
        if articles and any(a != NO_ARTICLE for a, _ in articles):
            lines.append("  per article (allow / review / reject):")
            for article, c in articles[:15]:
                lines.append(f"    {article:<28}{c.get('allow', 0):>6}{c.get('review', 0):>6}{c.get('reject', 0):>6}")
            if len(articles) > 15:
                lines.append(f"    … and {len(articles) - 15} more articles")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Machine-readable summary."""
        return {
            "read": self.read, "scored": self.scored, "not_scored": dict(self.not_scored),
            "decisions": dict(self.decisions), "flagged": dict(self.flagged),
            "per_article": {a: dict(c) for a, c in self.per_article.items()},
        }


@dataclass(frozen=True)
class Verdicts:
    """What the model and the policy say of a chunk of comments, one entry per comment.

    `notes[i]` is why comment i was not scored ("" when it was); `rows[i]` indexes `scores`,
    `decisions`, `violations` and `review` for a scored comment (-1 otherwise).
    """

    notes: list[str]
    rows: list[int]
    scores: list[list[float]]  # rounded to 6 decimals, category order
    decisions: list[str]
    violations: list[tuple[str, ...]]
    review: list[tuple[str, ...]]


@dataclass(frozen=True)
class ScoredChunk:
    """A scored chunk, ready to append: its records' bytes and the summary's counts."""

    count: int
    payload: bytes
    summary: Summary


def record_columns(categories: Sequence[str]) -> list[str]:
    """The CSV and Parquet columns: one `score_<category>` column per category instead of `scores`."""
    return ["id", "article", "number", "parent", "author", "decision", "violations", "review",
            "note"] + [f"score_{c}" for c in categories]


def verdicts(model, comments: Sequence) -> Verdicts:
    """Scores and decisions for a chunk of comments; those that cannot be scored get a note."""
    notes = [""] * len(comments)
    texts = list(map(_TEXT, comments))
    max_chars = model.policy.max_chars
    if set(map(type, texts)) <= {str} and all(texts) and max(map(len, texts), default=0) <= max_chars \
            and not any(map(str.isspace, texts)):  # the usual chunk: every comment can be scored
        rows = list(range(len(texts)))
    else:
        rows = [-1] * len(comments)
        texts = []
        for i, comment in enumerate(comments):
            text = comment.text or ""
            if isinstance(text, str) and len(text) <= max_chars and not text.isspace() and text:
                rows[i] = len(texts)
                texts.append(text)
            else:
                notes[i] = _note(model, text)
    categories = model.categories
    k = len(categories)
    proba = model.predict_proba(texts) if texts else np.zeros((0, k))
    # Policy.decide compares the rounded scores it is given: round exactly as `Model.assess` does.
    matrix = _round6(np.asarray(proba, dtype=np.float64).reshape(len(texts), k))
    scores = matrix.tolist()
    reject, review = _threshold_arrays(model)
    over_reject = matrix >= reject
    in_review = (matrix >= review) & ~over_reject
    codes = (over_reject @ (1 << np.arange(k)) + in_review @ (1 << np.arange(k, 2 * k))).tolist()
    outcome = _outcomes(tuple(categories))
    decisions = list(map(outcome.decision.__getitem__, codes))
    violations = list(map(outcome.violations.__getitem__, codes))
    reviews = list(map(outcome.review.__getitem__, codes))
    policy = model.policy
    found = policy.lexicon_hits_found(texts)
    for j, hits in found.items():
        if hits:  # rare: the word list can change the decision; the policy decides this one itself
            decision = policy.decide(dict(zip(categories, scores[j])), model.thresholds, hits)
            decisions[j] = decision.decision
            violations[j], reviews[j] = tuple(decision.violations), tuple(decision.review)
    # only a comment with a quotation mark or a counter-speech frame can move (`may_review`)
    rejected = [j for j, decision in enumerate(decisions) if decision == "reject" and may_review(texts[j])]
    moved = review_quoted_many(model, [texts[j] for j in rejected],  # quoting an attack is not one (as in `Model.assess`)
                               [Decision("reject", list(violations[j]), list(reviews[j]), []) for j in rejected],
                               [found.get(j) or [] for j in rejected])
    for j, decision in zip(rejected, moved):
        decisions[j] = decision.decision
        violations[j], reviews[j] = tuple(decision.violations), tuple(decision.review)
    allowed = [j for j, decision in enumerate(decisions) if decision == "allow"]
    for j, supported in zip(allowed, supported_many([texts[j] for j in allowed])):
        if not supported:
            decisions[j] = "review"  # the model cannot judge this text: never a confident allow
    return Verdicts(notes, rows, scores, decisions, violations, reviews)


def score_chunk(model, comments: Sequence, suffix: str = ".jsonl") -> ScoredChunk:
    """Score `comments` into the bytes of their output records in the format of `suffix`
    (.jsonl lines, .csv rows without the header, or a whole .parquet file) and their counts.

    >>> score_chunk(model, comments, ".jsonl").payload.splitlines()[0]  # doctest: +SKIP
    b'{"id": "c1", "article": null, ..., "decision": "allow", "violations": [], "review": [], "note": ""}'
    """
    v = verdicts(model, comments)
    categories = model.categories
    if suffix == ".jsonl":
        payload = _jsonl(comments, v, tuple(categories))
    elif suffix == ".csv":
        payload = _csv(comments, v, len(categories))
    elif suffix == ".parquet":
        payload = _parquet(comments, v, categories)
    else:
        raise InputError(f"unsupported output format {suffix!r}; use one of .jsonl, .csv, .parquet")
    return ScoredChunk(len(comments), payload, _summary(comments, v, categories))


def records(comments: Sequence, v: Verdicts, categories: Sequence[str]) -> list[dict]:
    """The output records of a chunk as dicts (the JSON Lines records, decoded)."""
    out = []
    for comment, note, row in zip(comments, v.notes, v.rows):
        scored = row >= 0
        out.append({
            "id": comment.id, "article": comment.article, "number": comment.number,
            "parent": comment.parent, "author": comment.author,
            "scores": dict(zip(categories, v.scores[row])) if scored else None,
            "decision": v.decisions[row] if scored else None,
            "violations": list(v.violations[row]) if scored else [],
            "review": list(v.review[row]) if scored else [],
            "note": note,
        })
    return out


# ── private helpers ─────────────────────────────────────────────────────────────────────────


def _note(model, text: object) -> str:
    """Why `text` is not scored, in the words of `Model.check_text`."""
    try:
        model.check_text(text)
    except InputError as exc:
        if isinstance(text, str) and not text.strip():
            return "empty comment"
        return str(exc).split(": ", 1)[-1]
    raise AssertionError(f"text {text!r} passes the checks but was not scored")  # pragma: no cover


def _round6(values: np.ndarray) -> np.ndarray:
    """`round(x, 6)` of every value, as Python rounds (to the double nearest the decimal), vectorised.

    `rint(x * 1e6) / 1e6` gives Python's result except where `x * 1e6` lies within its rounding
    error of a half (or is not finite): those few values are rounded by Python.
    """
    scaled = values * 1e6
    rounded = np.rint(scaled) / 1e6
    unsure = ~(np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) > 1e-6)  # NaN and inf are unsure too
    if unsure.any():
        at = np.flatnonzero(unsure.ravel())
        flat = rounded.reshape(-1)
        flat[at] = [round(x, 6) for x in values.reshape(-1)[at].tolist()]
    return rounded


def _threshold_arrays(model) -> tuple[np.ndarray, np.ndarray]:
    """The reject and review thresholds per category, as `Policy.decide` reads them."""
    reject, review = [], []
    for c in model.policy.categories:
        t = model.thresholds.get(c.name, {"reject": c.reject, "review": c.review})
        reject.append(t["reject"])
        review.append(t["review"])
    return np.array(reject, dtype=np.float64), np.array(review, dtype=np.float64)


class _ByCode(dict):
    """One part (0: decision, 1: violations, 2: review categories) of what `Policy.decide` says
    without word-list hits, per bit code of (over reject, in review band) per category; filled as
    codes come."""

    def __init__(self, categories: tuple[str, ...], part: int) -> None:
        super().__init__()
        self.categories, self.part = categories, part

    def __missing__(self, code: int) -> object:
        k = len(self.categories)
        violations = tuple(c for j, c in enumerate(self.categories) if code >> j & 1)
        review = tuple(c for j, c in enumerate(self.categories) if code >> (k + j) & 1)
        value = (("reject" if violations else "review" if review else "allow"), violations, review)[self.part]
        self[code] = value
        return value


class _Outcomes(NamedTuple):
    decision: _ByCode
    violations: _ByCode
    review: _ByCode


@lru_cache(maxsize=64)
def _outcomes(categories: tuple[str, ...]) -> _Outcomes:
    """The decision, violations and review categories of each bit code, for `categories`."""
    return _Outcomes(*(_ByCode(categories, part) for part in range(3)))


def _json(value: object) -> str:
    """`json.dumps(value, ensure_ascii=False)`, quicker for the strings and nulls of a record."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=64)
def _score_pieces(categories: tuple[str, ...]) -> tuple[str, ...]:
    """What surrounds the numbers of a score object, in category order: `{"cat": `, then `, "cat": `
    for each other category, then `}`."""
    keys = [encode_basestring(c) + ": " for c in categories]
    return ("{" + keys[0], *(", " + key for key in keys[1:]), "}")


@lru_cache(maxsize=64)
def _scores_template(categories: tuple[str, ...]) -> str:
    """`{"cat": %r, ...}` in category order: a float's repr is what json.dumps writes."""
    return "%r".join(piece.replace("%", "%%") for piece in _score_pieces(categories))


@lru_cache(maxsize=64)
def _score_piece_bytes(categories: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`_score_pieces` as `_nb_fill_scores` reads them: their UTF-8 bytes end to end, and where each
    starts (and the last ends)."""
    encoded = [piece.encode("utf-8") for piece in _score_pieces(categories)]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(piece) for piece in encoded], out=starts[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), starts


@lru_cache(maxsize=4096)
def _tail(decision: str | None, violations: tuple[str, ...], review: tuple[str, ...], note: str) -> str:
    """The end of a JSON Lines record, from `"decision"` on."""
    return (f'"decision": {_json(decision)}, "violations": {json.dumps(list(violations), ensure_ascii=False)}, '
            f'"review": {json.dumps(list(review), ensure_ascii=False)}, "note": {_json(note)}}}\n')


def _jsonl(comments: Sequence, v: Verdicts, categories: tuple[str, ...]) -> bytes:
    """The JSON Lines records' bytes; the score objects are written by `_nb_fill_scores` when every
    score is a multiple of 1e-6 in [0, 1] (always, from `_round6`), else by `repr` here."""
    millionths = _millionths(v.scores, len(categories))
    template = _scores_template(categories)
    lines = []
    for comment, note, row in zip(comments, v.notes, v.rows):
        if comment.article is None and comment.number is None and comment.parent is None and comment.author is None:
            head = f'{{"id": {_json(comment.id)}, "article": null, "number": null, "parent": null, "author": null, '
        else:
            head = (f'{{"id": {_json(comment.id)}, "article": {_json(comment.article)}, "number": '
                    f'{_json(comment.number)}, "parent": {_json(comment.parent)}, "author": {_json(comment.author)}, ')
        if row < 0:
            lines.append(f'{head}"scores": null, {_tail(None, (), (), note)}')
        else:  # NUL, which JSON escapes in a string, marks where the score object goes
            scores = "\0" if millionths is not None else template % tuple(v.scores[row])
            lines.append(f'{head}"scores": {scores}, {_tail(v.decisions[row], v.violations[row], v.review[row], note)}')
    text = "".join(lines).encode("utf-8")
    if millionths is None:
        return text
    return _fill_scores(text, millionths, categories)


def _millionths(scores: list[list[float]], k: int) -> np.ndarray | None:
    """The scores as whole millionths (int64, one row per scored comment), or None unless every
    score is exactly such a number in [0, 1] (a NaN is not, nor -0.0, whose repr has a sign)."""
    matrix = np.array(scores, dtype=np.float64).reshape(len(scores), k)
    millionths = np.rint(matrix * 1e6)
    if not ((millionths / 1e6 == matrix) & ~np.signbit(matrix) & (matrix <= 1.0)).all():
        return None
    return millionths.astype(np.int64)


def _fill_scores(text: bytes, millionths: np.ndarray, categories: tuple[str, ...]) -> bytes:
    """`text` with its n-th NUL byte replaced by the score object of row n of `millionths`, as
    `_scores_template` writes it (a float's repr, `_nb_fill_scores` says how)."""
    piece_bytes, piece_starts = _score_piece_bytes(categories)
    data = np.frombuffer(text, dtype=np.uint8)
    # a number takes at most 8 bytes ("0.123456", "1.2e-05")
    out = np.empty(len(data) + len(millionths) * (len(piece_bytes) + 8 * len(categories)), dtype=np.uint8)
    size = _fill_kernel()(data, millionths, piece_bytes, piece_starts, out)
    return out[:size].tobytes()


@lru_cache(maxsize=1)
def _fill_kernel():  # noqa: ANN202 - a numba dispatcher
    """`_nb_fill_scores` compiled (numba is imported only when a chunk is encoded)."""
    from moderation.kernels import _jit

    return _jit(_nb_fill_scores)


def _nb_fill_scores(data, millionths, piece_bytes, piece_starts, out):  # noqa: ANN001, ANN201
    """Copy `data` into `out`, the n-th zero byte replaced by piece 0, the repr of
    millionths[n, 0] / 1e6, piece 1, ... the repr of millionths[n, k - 1] / 1e6, piece k;
    return the bytes written.

    The repr of m / 1e6 for a whole m in [0, 1e6]: "0.0" and "1.0"; from 1e-4 on, "0." and the six
    digits of m without trailing zeros; below, the exponent form: "5e-06", "4e-05", "4.2e-05"."""
    k = millionths.shape[1]
    digits = np.empty(6, np.uint8)
    n = 0
    at = 0
    for b in data:
        if b != 0:
            out[at] = b
            at += 1
            continue
        for j in range(k + 1):
            for q in range(piece_starts[j], piece_starts[j + 1]):
                out[at] = piece_bytes[q]
                at += 1
            if j == k:
                break
            m = millionths[n, j]
            if m == 0 or m == 1000000:
                out[at] = 48 + m // 1000000
                out[at + 1] = 46  # "."
                out[at + 2] = 48
                at += 3
            elif m >= 100:
                out[at] = 48
                out[at + 1] = 46
                at += 2
                last = 0
                for d in range(6):
                    digits[5 - d] = 48 + m % 10
                    m //= 10
                for d in range(6):
                    if digits[d] != 48:
                        last = d
                for d in range(last + 1):
                    out[at] = digits[d]
                    at += 1
            else:
                if m >= 10:
                    out[at] = 48 + m // 10
                    at += 1
                    if m % 10:
                        out[at] = 46
                        out[at + 1] = 48 + m % 10
                        at += 2
                    exponent = 53  # "e-05"
                else:
                    out[at] = 48 + m
                    at += 1
                    exponent = 54  # "e-06"
                out[at] = 101
                out[at + 1] = 45
                out[at + 2] = 48
                out[at + 3] = exponent
                at += 4
        n += 1
    return at


def _csv(comments: Sequence, v: Verdicts, k: int) -> bytes:
    rows = []
    for comment, note, row in zip(comments, v.notes, v.rows):
        start = [comment.id, comment.article, comment.number, comment.parent, comment.author]
        if row < 0:
            rows.append(start + [None, "", "", note] + [None] * k)
        else:
            rows.append(start + [v.decisions[row], " ".join(v.violations[row]), " ".join(v.review[row]), note,
                                 *v.scores[row]])
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _parquet(comments: Sequence, v: Verdicts, categories: Sequence[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "id": [c.id for c in comments], "article": [c.article for c in comments],
        "number": [c.number for c in comments], "parent": [c.parent for c in comments],
        "author": [c.author for c in comments],
        "decision": [v.decisions[r] if r >= 0 else None for r in v.rows],
        "violations": [list(v.violations[r]) if r >= 0 else [] for r in v.rows],
        "review": [list(v.review[r]) if r >= 0 else [] for r in v.rows],
        "note": v.notes,
    }
    for j, c in enumerate(categories):
        columns[f"score_{c}"] = [v.scores[r][j] if r >= 0 else None for r in v.rows]
    table = pa.table(columns, schema=parquet_schema(categories))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def parquet_schema(categories: Sequence[str]):
    """The Arrow schema of the Parquet output."""
    import pyarrow as pa

    fields = [pa.field(c, pa.string()) for c in ("id", "article")] + [pa.field("number", pa.int64())]
    fields += [pa.field(c, pa.string()) for c in ("parent", "author", "decision")]
    fields += [pa.field(c, pa.list_(pa.string())) for c in ("violations", "review")]
    fields += [pa.field("note", pa.string())]
    fields += [pa.field(f"score_{c}", pa.float64()) for c in categories]
    return pa.schema(fields)


def _summary(comments: Sequence, v: Verdicts, categories: Sequence[str]) -> Summary:
    """The counts of `Summary.add` over the chunk's records, taken a chunk at a time."""
    summary = Summary(read=len(comments), scored=len(v.decisions))
    summary.not_scored.update(note for note, row in zip(v.notes, v.rows) if row < 0)
    summary.decisions.update(v.decisions)
    for cats, n in Counter(v.violations).items():
        for cat in cats:
            summary.flagged[cat] += n
    for cats, n in Counter(v.review).items():
        for cat in cats:
            summary.flagged[cat] += n
    articles = [c.article or NO_ARTICLE for c, row in zip(comments, v.rows) if row >= 0]
    for (article, decision), n in Counter(zip(articles, v.decisions)).items():
        summary.per_article[article][decision] += n
    return summary
