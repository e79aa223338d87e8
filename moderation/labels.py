"""Label files: find, validate and load them into labelled examples (through Hugging Face `datasets`)."""

from __future__ import annotations

import csv
import json
import tempfile
from datetime import datetime, timezone
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from moderation.errors import LabelError, LabelProblem
from moderation.files import sha256_file
from moderation.policy import Policy

SUFFIXES = (".csv", ".jsonl", ".parquet")
REQUIRED = ("id", "text", "source")
# `time` (ISO 8601) and `model` are written by moderators' feedback: when the same annotator labels
# the same text again within a source, the row with the later time supersedes the earlier one.
OPTIONAL = ("annotator", "note", "time", "model")
SKIPPED_DIRS = ("lexicons",)


@dataclass
class LabelSet:
    """Labelled examples: one row per label-file row, a value per category (NaN = unknown)."""

    categories: list[str]
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    hashes: dict[str, str] = field(default_factory=dict)
    # text → text_key(text) for the texts whose key was computed while loading (a cache: may be empty)
    text_keys: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """Rows per source and category: `{source: {category: {"1": n, "0": n, "unknown": n}}}`."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        sources = np.asarray(self.sources)
        for source in sorted(set(self.sources)):
            rows = self.values[sources == source]
            out[source] = {
                cat: {
                    "1": int(np.sum(rows[:, j] == 1)),
                    "0": int(np.sum(rows[:, j] == 0)),
                    "unknown": int(np.sum(np.isnan(rows[:, j]))),
                }
                for j, cat in enumerate(self.categories)
            }
        return out


def find_label_files(root: str | Path) -> list[Path]:
    """Every label file under `root` (or `root` itself), sorted; lexicons and hidden files skipped."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise LabelError([LabelProblem(str(root), None, None, "no such label file or directory")])
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(p.startswith(".") for p in rel) or any(p in SKIPPED_DIRS for p in rel[:-1]):
            continue
        if path.is_file() and path.suffix in SUFFIXES:
            found.append(path)
    return found


def text_key(text: str) -> str:
    """Normalised text used to spot the same comment twice: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def load_labels(paths: Iterable[str | Path], policy: Policy) -> LabelSet:
    """Load and validate every label file under `paths`; LabelError lists every problem found.

    >>> labels = load_labels(["labels"], Policy.load("labels/policy.toml"))  # doctest: +SKIP
    >>> labels.categories
    ['profanity', 'personal_attack', 'identity_attack', 'threat']
    """
    paths = list(paths)
    files = [f for p in paths for f in find_label_files(p)]
    if not files:
        where = ", ".join(map(str, paths))
        raise LabelError([LabelProblem(where, None, None, f"no label files ({', '.join(SUFFIXES)}) found")])
    labels = LabelSet(categories=policy.names)
    problems: list[LabelProblem] = []
    blocks = []
    with tempfile.TemporaryDirectory(prefix="moderation-datasets-") as cache:
        for path in files:
            rows, file_problems = _read_file(path, policy, cache)
            problems.extend(file_problems)
            if rows is None:
                continue
            labels.hashes[str(path)] = sha256_file(path)
            labels.ids.extend(rows["id"])
            labels.texts.extend(rows["text"])
            labels.sources.extend(rows["source"])
            labels.annotators.extend(rows["annotator"])
            labels.files.extend([str(path)] * len(rows["text"]))
            labels.lines.extend(rows["lines"])
            labels.times.extend(rows["time"])
            blocks.append(rows["values"])
    labels.values = np.vstack(blocks) if blocks else np.zeros((0, len(policy.names)), np.float32)
    labels = _supersede(labels)
    problems.extend(_conflicts(labels))
    if problems:
        raise LabelError(problems)
    return labels


def _supersede(labels: LabelSet) -> LabelSet:
    """Drop timed rows that a later row of the same annotator, source and text replaces."""
    latest: dict[tuple[str, str, str], int] = {}
    for i, when in enumerate(labels.times):
        if when:
            key = (labels.sources[i], labels.annotators[i], text_key(labels.texts[i]))
            j = latest.get(key)
            if j is None or _instant(when) >= _instant(labels.times[j]):
                latest[key] = i
    keep = [i for i, when in enumerate(labels.times)
            if not when or latest[(labels.sources[i], labels.annotators[i], text_key(labels.texts[i]))] == i]
    if len(keep) == len(labels.times):
        return labels
    pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
    return LabelSet(categories=labels.categories, ids=pick(labels.ids), texts=pick(labels.texts),
                    sources=pick(labels.sources), annotators=pick(labels.annotators), files=pick(labels.files),
                    lines=pick(labels.lines), times=pick(labels.times), values=labels.values[keep],
                    hashes=labels.hashes)


def _instant(when: str) -> datetime:
    """An ISO 8601 time as an aware datetime (naive times are taken as UTC)."""
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_labels(paths: Iterable[str | Path], policy: Policy) -> tuple[int, list[LabelProblem]]:
    """Validate label files; return (rows read, problems) instead of raising."""
    paths = list(paths)
    try:
        labels = load_labels(paths, policy)
    except LabelError as exc:
        if not exc.problems:
            return 0, [LabelProblem(", ".join(map(str, paths)), None, None, str(exc))]
        return 0, exc.problems
    return len(labels), []


# ---------------------------------------------------------------- reading one file


def _read_file(path: Path, policy: Policy, cache: str) -> tuple[dict | None, list[LabelProblem]]:
    """Read one label file into columns; rows with problems are reported, not loaded."""
    import datasets

    datasets.disable_progress_bars()
    name = str(path)
    try:
        if path.suffix == ".csv":
            header, lines = _csv_layout(path)
            features = datasets.Features({c: datasets.Value("string") for c in header})
            table = datasets.load_dataset(
                "csv", data_files=str(path), split="train", features=features, keep_default_na=False,
                cache_dir=cache, keep_in_memory=True,
            )
        elif path.suffix == ".jsonl":
            header, lines = _jsonl_layout(path)
            table = datasets.load_dataset(
                "json", data_files=str(path), split="train", cache_dir=cache, keep_in_memory=True
            )
        else:
            table = datasets.load_dataset(
                "parquet", data_files=str(path), split="train", cache_dir=cache, keep_in_memory=True
            )
            header, lines = list(table.column_names), None
    except _LayoutError as exc:
        return None, [LabelProblem(name, exc.line, exc.field, exc.message)]
    except UnicodeDecodeError as exc:
        return None, [LabelProblem(name, None, None, f"not UTF-8 (byte {exc.start}): {exc.reason}")]
    except Exception as exc:  # datasets/pyarrow raise many types for a broken file
        return None, [LabelProblem(name, None, None, f"cannot read: {type(exc).__name__}: {exc}")]

    problems = []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        hint = _suggest(missing, header)
        problems.append(
            LabelProblem(name, 1, None, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}{hint}")
        )
    known = set(REQUIRED) | set(OPTIONAL) | set(policy.names)
    for col in header:
        if col not in known:
            problems.append(
                LabelProblem(name, 1, col, f"unknown category {col!r}; the policy's categories are "
                             f"{', '.join(policy.names)}")
            )
    if problems:
        return None, problems

    n = table.num_rows
    where = (lambda i: lines[i]) if lines is not None else (lambda i: i + 1)
    categories = [(j, cat) for j, cat in enumerate(policy.names) if cat in header]
    cols = {c: table.data.column(c).to_pylist() for c in header if c not in policy.names}
    values = np.full((n, len(policy.names)), np.nan, dtype=np.float32)
    valid = np.ones((n, len(policy.names)), dtype=bool)  # False where a cell is not 1, 0 or empty
    raw_cells = {}  # the Python values of the columns that have an invalid cell, for the problems
    for j, cat in categories:
        column = table.data.column(cat)
        values[:, j], valid[:, j] = _label_column(column)
        if not valid[:, j].all():
            raw_cells[cat] = column.to_pylist()
    invalid = ~valid.all(axis=1)
    keep = np.ones(n, dtype=bool)
    seen_ids: dict[tuple[str, str, str], int] = {}
    out_times: list[str] = []
    out_ids, out_texts, out_sources, out_annotators = [], [], [], []
    for i in range(n):
        line = where(i)
        row_ok = True
        text = cols["text"][i]
        if not isinstance(text, str) or not text.strip():
            problems.append(LabelProblem(name, line, "text", "empty text" if isinstance(text, str) or text is None
                                         else f"expected a string, found {type(text).__name__}"))
            row_ok = False
        rid = cols["id"][i]
        if isinstance(rid, int) and not isinstance(rid, bool):
            rid = str(rid)
        if not isinstance(rid, str) or not rid.strip():
            problems.append(LabelProblem(name, line, "id", "missing id"))
            row_ok = False
        source = cols["source"][i]
        if not isinstance(source, str) or not source.strip():
            problems.append(LabelProblem(name, line, "source", "missing source"))
            row_ok = False
        annotator = cols["annotator"][i] if "annotator" in cols else ""
        annotator = "" if annotator is None else str(annotator)
        when = cols["time"][i] if "time" in cols else ""
        when = "" if when is None else when
        if when:
            try:
                _instant(str(when))
            except (TypeError, ValueError):
                problems.append(LabelProblem(name, line, "time", f"{when!r} is not an ISO 8601 time"))
                row_ok = False
        if row_ok:
            key = (rid, annotator, str(when))
            if key in seen_ids:
                problems.append(LabelProblem(name, line, "id", f"duplicate id {rid!r} (first at line {seen_ids[key]})"))
                row_ok = False
            else:
                seen_ids[key] = line
        if invalid[i]:
            for j, cat in categories:
                if not valid[i, j]:
                    problems.append(LabelProblem(name, line, cat, f"value {raw_cells[cat][i]!r} is not 1, 0 or empty"))
                    row_ok = False
        keep[i] = row_ok
        if row_ok:
            out_ids.append(rid)
            out_texts.append(text)
            out_sources.append(source.strip())
            out_annotators.append(annotator)
            out_times.append(str(when))
    rows = {
        "id": out_ids, "text": out_texts, "source": out_sources, "annotator": out_annotators, "time": out_times,
        "values": values[keep], "lines": [where(i) for i in range(n) if keep[i]],
    }
    return rows, problems


def _label_column(column) -> tuple[np.ndarray, np.ndarray]:
    """`_label_value` of every cell of an Arrow column: the values (float32) and whether each is valid.

    Integer and string columns are mapped as wholes (an integer column's cells are 0, 1 or null in
    a well-formed file; a string column has a few distinct cells); other types cell by cell.
    """
    import pyarrow as pa

    n = len(column)
    if pa.types.is_integer(column.type):
        x = column.to_numpy(zero_copy_only=False) if column.null_count == 0 else \
            column.fill_null(0).to_numpy(zero_copy_only=False)
        null = np.zeros(n, bool) if column.null_count == 0 else column.is_null().to_numpy(zero_copy_only=False)
        label = (x == 0) | (x == 1)
        return np.where(label & ~null, x, np.nan).astype(np.float32), label | null
    cells = column.to_pylist()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        table = {cell: _label_value(cell) for cell in set(cells)}
        value = np.fromiter((table[cell][0] for cell in cells), np.float32, n)
        ok = np.fromiter((table[cell][1] for cell in cells), bool, n)
        return value, ok
    pairs = [_label_value(cell) for cell in cells]
    return np.array([v for v, _ in pairs], np.float32).reshape(n), np.array([ok for _, ok in pairs], bool).reshape(n)


def _label_value(raw: object) -> tuple[float, bool]:
    """Map a cell to 1.0, 0.0 or NaN; second item False when the cell is not a label value."""
    if raw is None or raw == "":
        return float("nan"), True
    if isinstance(raw, bool):
        return float("nan"), False
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return float(raw), True
    if isinstance(raw, float) and np.isnan(raw):
        return float("nan"), True
    if isinstance(raw, str) and raw.strip() in ("0", "1"):
        return float(raw.strip()), True
    return float("nan"), False


class _LayoutError(Exception):
    def __init__(self, line: int | None, field: str | None, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


def _csv_layout(path: Path) -> tuple[list[str], list[int]]:
    """Header and the physical start line of each record (quoted fields may span lines)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise _LayoutError(None, None, "empty file: expected a header line") from None
        except csv.Error as exc:
            raise _LayoutError(1, None, f"broken CSV: {exc}") from None
        header = [h.strip() for h in header]
        starts = []
        prev_end = reader.line_num
        try:
            for record in reader:
                if len(record) != len(header):
                    if not any(cell.strip() for cell in record):
                        raise _LayoutError(prev_end + 1, None, "blank line: remove it")
                    raise _LayoutError(
                        prev_end + 1, None, f"expected {len(header)} fields, found {len(record)}"
                    )
                starts.append(prev_end + 1)
                prev_end = reader.line_num
        except csv.Error as exc:
            raise _LayoutError(reader.line_num, None, f"broken CSV: {exc}") from None
    if len(set(header)) != len(header):
        raise _LayoutError(1, None, f"duplicate column names in header: {', '.join(header)}")
    return header, starts


def _jsonl_layout(path: Path) -> tuple[list[str], list[int]]:
    """Columns found and the line of each record; every line must be a JSON object."""
    header: dict[str, None] = {}
    lines = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                raise _LayoutError(number, None, "blank line: remove it")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _LayoutError(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(record, dict):
                raise _LayoutError(number, None, f"expected a JSON object, found {type(record).__name__}")
            for key in record:
                header.setdefault(key, None)
            lines.append(number)
    if not lines:
        raise _LayoutError(None, None, "empty file: no records")
    return list(header), lines


def _suggest(missing: list[str], header: list[str]) -> str:
    """A 'did you mean' hint for a missing column."""
    aliases = {"text": ("comment_text", "comment", "tweet", "body", "content"), "id": ("comment_id", "_id", "uid")}
    for col in missing:
        for alias in aliases.get(col, ()):
            if alias in header:
                return f" — did you mean to rename {alias!r} to {col!r}?"
    return ""


def _conflicts(labels: LabelSet) -> list[LabelProblem]:
    """The same text labelled differently within a source by the same annotator."""
    values = labels.values
    problems = []
    first: dict[tuple[str, str, str], int] = {}
    line_of = labels.lines
    keys = labels.text_keys  # filled here: rows often repeat a text verbatim, and training needs the keys too
    for i, text in enumerate(labels.texts):
        text_keyed = keys.get(text)
        if text_keyed is None:
            text_keyed = keys[text] = text_key(text)
        key = (labels.sources[i], labels.annotators[i], text_keyed)
        j = first.setdefault(key, i)
        if j == i:
            continue
        a, b = values[j], values[i]
        clash = [cat for k, cat in enumerate(labels.categories)
                 if not np.isnan(a[k]) and not np.isnan(b[k]) and a[k] != b[k]]
        if clash:
            who = f" by annotator {labels.annotators[i]!r}" if labels.annotators[i] else ""
            problems.append(LabelProblem(
                labels.files[i], line_of[i], clash[0],
                f"same text labelled differently within source {labels.sources[i]!r}{who}: "
                f"{', '.join(clash)} differ from {labels.files[j]}:{line_of[j]}",
            ))
    return problems
