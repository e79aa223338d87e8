"""Batch scoring: archive pages, JSON Lines or CSV in; one record per comment out, written atomically."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from moderation.errors import InputError
from moderation.files import atomic_write
from moderation.model import Model

OUTPUT_SUFFIXES = (".jsonl", ".csv", ".parquet")
CHUNK = 2000


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
        article = record.get("article") or "(no article)"
        self.per_article[article][record["decision"]] += 1

    def render(self, categories: list[str], out: Path) -> str:
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
        if articles and any(a != "(no article)" for a, _ in articles):
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


def score_records(model: Model, comments: list) -> list[dict]:
    """Score a chunk of comments; empty or over-long ones get a record saying why they were not scored."""
    records: list[dict] = []
    texts, slots = [], []
    for comment in comments:
        record = {
            "id": comment.id, "article": comment.article, "number": comment.number,
            "parent": comment.parent, "author": comment.author,
            "scores": None, "decision": None, "violations": [], "review": [], "note": "",
        }
        text = comment.text or ""
        try:
            model.check_text(text)
        except InputError as exc:
            record["note"] = "empty comment" if not text.strip() else str(exc).split(": ", 1)[-1]
        else:
            texts.append(text)
            slots.append(len(records))
        records.append(record)
    for slot, assessment in zip(slots, model.assess(texts, explain=False)):
        records[slot].update(
            scores=assessment.scores,
            decision=assessment.decision.decision,
            violations=assessment.decision.violations,
            review=assessment.decision.review,
        )
    return records


def chunked(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """Lists of at most `size` items, in order."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Writer:
    """Writes records in the format the output's extension names."""

    def __init__(self, fh: IO, suffix: str, categories: list[str]) -> None:
        self.fh, self.suffix, self.categories = fh, suffix, categories
        self.columns = ["id", "article", "number", "parent", "author", "decision", "violations", "review",
                        "note"] + [f"score_{c}" for c in categories]
        if suffix == ".csv":
            self.csv = csv.DictWriter(fh, fieldnames=self.columns)
            self.csv.writeheader()
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            self.pa = pa
            fields = [pa.field(c, pa.string()) for c in ("id", "article")] + [pa.field("number", pa.int64())]
            fields += [pa.field(c, pa.string()) for c in ("parent", "author", "decision")]
            fields += [pa.field(c, pa.list_(pa.string())) for c in ("violations", "review")]
            fields += [pa.field("note", pa.string())]
            fields += [pa.field(f"score_{c}", pa.float64()) for c in categories]
            self.schema = pa.schema(fields)
            self.parquet = pq.ParquetWriter(fh, self.schema, compression="zstd")

    def write(self, records: list[dict]) -> None:
        if self.suffix == ".jsonl":
            self.fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            return
        flat = []
        for r in records:
            row = {k: r[k] for k in self.columns if k in r}
            for c in self.categories:
                row[f"score_{c}"] = None if r["scores"] is None else r["scores"][c]
            flat.append(row)
        if self.suffix == ".csv":
            for row in flat:
                row["violations"] = " ".join(row["violations"])
                row["review"] = " ".join(row["review"])
            self.csv.writerows(flat)
        else:
            self.parquet.write_table(self.pa.Table.from_pylist(flat, schema=self.schema))

    def close(self) -> None:
        if self.suffix == ".parquet":
            self.parquet.close()


def score_to_file(model: Model, comments: Iterable, out: Path, progress: bool | None = None,
                  workers: int = 1, model_dir: Path | None = None) -> Summary:
    """Score every comment into `out` (.jsonl, .csv or .parquet); the file appears only when complete."""
    out = Path(out)
    if out.suffix not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {out}: unsupported output format {out.suffix!r}; use one of "
                         f"{', '.join(OUTPUT_SUFFIXES)}")
    summary = Summary()
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(unit=" comments", file=sys.stderr, dynamic_ncols=True)
    binary = out.suffix == ".parquet"
    with atomic_write(out, "wb" if binary else "w", newline="" if out.suffix == ".csv" else None) as fh:
        writer = _Writer(fh, out.suffix, model.categories)
        try:
            for records in _scored_chunks(model, comments, workers, model_dir):
                writer.write(records)
                for record in records:
                    summary.add(record)
                if bar is not None:
                    bar.update(len(records))
        finally:
            writer.close()
            if bar is not None:
                bar.close()
    return summary


def _scored_chunks(model: Model, comments: Iterable, workers: int, model_dir: Path | None) -> Iterator[list[dict]]:
    """Scored chunks in input order, on one process or on `workers` joblib processes."""
    if workers == 1 or model_dir is None:
        for chunk in chunked(comments):
            yield score_records(model, chunk)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=workers, return_as="generator", pre_dispatch="2*n_jobs")
    yield from parallel(delayed(_score_in_worker)(str(model_dir), chunk) for chunk in chunked(comments))


_WORKER_MODELS: dict[str, Model] = {}


def _score_in_worker(model_dir: str, chunk: list) -> list[dict]:
    """Runs in a worker process: load the model once per process, then score the chunk."""
    from moderation.model import load_model

    model = _WORKER_MODELS.get(model_dir)
    if model is None:
        model = _WORKER_MODELS[model_dir] = load_model(model_dir)
    return score_records(model, chunk)
