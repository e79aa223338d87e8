"""Convert the public datasets (`/work/shared/data`) into label files under `labels/public/`.

Each source's own labels are mapped onto the policy categories; a category the source does not
speak to stays unknown (null), never 0. Per-rater sources keep one row per rater. See
`labels/README.md` for every mapping and the reasons behind it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from moderation.errors import ArchiveError, PolicyError
from moderation.policy import Policy

PROFANITY, PERSONAL, IDENTITY, THREAT = "profanity", "personal_attack", "identity_attack", "threat"
NEEDED = (PROFANITY, PERSONAL, IDENTITY, THREAT)
SOURCES = ("toxicspans", "jigsaw", "davidson", "olid", "convabuse", "conversationai_annotators")
LEXICONS = {"surge_ai": ("profanity_en.csv", "LICENSE", "README.md"), "ldnoobw": ("en", "LICENSE", "README.md")}

Labels = dict[str, "int | None"]
Table = list[tuple[int, list[str]]]


@dataclass
class Row:
    """One label row before it is written: a text, its labels, and who gave them."""

    id: str
    text: str
    labels: Labels
    annotator: str = ""
    note: str = ""


@dataclass(frozen=True)
class ImportReport:
    """What one source's import wrote, dropped, and how many labels each category got."""

    source: str
    path: Path
    rows: int
    dropped: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line per category plus the drop reasons, for the CLI to print."""
        lines = [f"{self.source}: {self.rows} rows -> {self.path}"]
        for name, c in self.counts.items():
            lines.append(f"  {name}: {c['positive']} positive, {c['negative']} negative, {c['unknown']} unknown")
        lines += [f"  dropped {n}: {why}" for why, n in sorted(self.dropped.items())]
        return "\n".join(lines)


def import_all(data_dir: Path, out_dir: Path, policy: Policy) -> dict[str, ImportReport]:
    """Read every public source, then write `<out_dir>/<source>.parquet` for each.

    >>> reports = import_all(Path("/work/shared/data"), Path("/tmp/public"), Policy.load("labels/policy.toml"))
    >>> reports["olid"].counts["profanity"]["negative"] > 0
    True
    """
    missing = [name for name in NEEDED if name not in policy.names]
    if missing:
        raise PolicyError(
            f"the policy lacks {', '.join(missing)}, which the public-data mappings need; "
            f"it has {', '.join(policy.names)}"
        )
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    parsed = {source: _IMPORTERS[source](data_dir) for source in SOURCES}  # read all before writing any
    out_dir.mkdir(parents=True, exist_ok=True)
    return {source: _write(source, rows, dropped, out_dir, policy.names) for source, (rows, dropped) in parsed.items()}


def copy_lexicons(data_dir: Path, lexicon_dir: Path) -> list[Path]:
    """Copy the two profanity lists (data, LICENSE, README) unchanged into `lexicon_dir/<name>/`."""
    written = []
    for name, files in LEXICONS.items():
        (Path(lexicon_dir) / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            src, dst = Path(data_dir) / "profanity_lists" / name / file, Path(lexicon_dir) / name / file
            if not src.is_file():
                raise ArchiveError(f"{src}: file not found")
            shutil.copyfile(src, dst)
            written.append(dst)
    return written


def normalise(text: str) -> str:
    """The de-duplication key of a text: lower-case, runs of whitespace collapsed."""
    return " ".join(text.lower().split())


# ---------------------------------------------------------------- reading


def _read(path: Path, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> tuple[list[str], Table]:
    """Header and (line number, fields) of every record; ArchiveError naming file and line."""
    line = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter, quoting=quoting)
            header = next(reader, None)
            if header is None:
                raise ArchiveError(f"{path}: file is empty, expected a header line")
            records, line = [], reader.line_num
            for fields in reader:
                if fields:
                    records.append((line + 1, fields))
                    if len(fields) != len(header):
                        raise ArchiveError(f"{path}:{line + 1}: expected {len(header)} fields, found {len(fields)}")
                line = reader.line_num
    except FileNotFoundError:
        raise ArchiveError(f"{path}: file not found") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{path}: not UTF-8 text near line {line + 1}: {exc.reason}") from None
    except csv.Error as exc:
        raise ArchiveError(f"{path}:{line + 1}: malformed CSV: {exc}") from None
    return header, records


def _columns(path: Path, header: list[str], required: tuple[str, ...]) -> dict[str, int]:
    """Index of each required column; ArchiveError listing what is missing and what was found."""
    missing = [c for c in required if c not in header]
    if missing:
        raise ArchiveError(f"{path}: expected columns {', '.join(required)}; missing {', '.join(missing)}; "
                           f"found {', '.join(header)}")
    return {c: header.index(c) for c in required}


def _int(value: str, allowed: range, path: Path, line: int, column: str) -> int:
    """`value` as an int within `allowed`; ArchiveError naming file, line and column otherwise."""
    try:
        number = int(float(value)) if value.strip().endswith(".0") else int(value)
    except ValueError:
        number = None
    if number is None or number not in allowed:
        raise ArchiveError(f"{path}:{line}: column {column!r}: expected an integer in "
                           f"{allowed.start}..{allowed.stop - 1}, found {value!r}")
    return number


def _bool(value: str, path: Path, line: int, column: str) -> bool:
    """A `True`/`False` cell; ArchiveError naming file, line and column otherwise."""
    if value.strip() not in ("True", "False"):
        raise ArchiveError(f"{path}:{line}: column {column!r}: expected True or False, found {value!r}")
    return value.strip() == "True"


FLAG = range(0, 2)


# ---------------------------------------------------------------- ToxicSpans

SPAN_TYPES = {"Profane/Obscene": PROFANITY, "Insult": PERSONAL, "Identity based Attack": IDENTITY,
              "Threat": THREAT, "Other Toxicity": None}


def _span_type(raw: str) -> tuple[bool, str | None]:
    """(recognised, category) of a span type; a unique prefix of a known type counts (truncated cells)."""
    raw = raw.strip()
    matches = [t for t in SPAN_TYPES if raw and t.startswith(raw)] if raw not in SPAN_TYPES else [raw]
    return (True, SPAN_TYPES[matches[0]]) if len(matches) == 1 else (False, None)


def toxicspans_labels(types: list[str], not_toxic: bool) -> Labels:
    """One rater's labels from the types of their spans: typed 1, untyped 0, untypeable unknown."""
    found = [_span_type(t) for t in types]
    ticked = {cat for ok, cat in found if ok and cat}
    untyped = 0 if all(ok for ok, _ in found) else None
    # "not toxic" ticked next to typed spans contradicts those types only: they become unknown.
    return {c: (None if not_toxic else 1) if c in ticked else untyped for c in NEEDED}


def _toxicspans(data_dir: Path) -> tuple[list[Row], Counter]:
    """ToxicSpans: one row per rater who typed spans, joined to the comment text."""
    folder = data_dir / "civil_comments_toxic_spans"
    dropped: Counter = Counter()
    path = folder / "comments.csv"
    header, records = _read(path)
    col = _columns(path, header, ("comment_id", "comment_text"))
    texts = {f[col["comment_id"]].strip(): f[col["comment_text"]] for _, f in records}

    path = folder / "spans.csv"
    header, records = _read(path)
    col = _columns(path, header, ("annotation", "type", "start", "end"))
    spans: dict[str, list[tuple[str, int, int]]] = {}
    for line, f in records:
        start = _int(f[col["start"]], range(0, 10**7), path, line, "start")
        end = _int(f[col["end"]], range(0, 10**7), path, line, "end")
        spans.setdefault(f[col["annotation"]].strip(), []).append((f[col["type"]], start, end))

    path = folder / "annotations.csv"
    header, records = _read(path)
    col = _columns(path, header, ("annotation", "comment_id", "worker", "all toxic", "not toxic"))
    rows = []
    for line, f in records:
        comment, annotation = f[col["comment_id"]].strip(), f[col["annotation"]].strip()
        all_toxic = _bool(f[col["all toxic"]], path, line, "all toxic")
        not_toxic = _bool(f[col["not toxic"]], path, line, "not toxic")
        text = texts.get(comment)
        if text is None:
            dropped["comment_id not in comments.csv"] += 1
            continue
        own = spans.get(annotation, [])
        if not own:
            dropped["rater typed no spans (tick boxes alone are not read, see README)"] += 1
            continue
        if any(end > len(text) or start >= end for _, start, end in own):
            dropped["span offsets outside the comment (annotation misaligned)"] += 1
            continue
        types = [t for t, *_ in own]
        note = "spans " + "+".join(sorted({t.strip() or "?" for t in types}))
        note += ("; all toxic ticked" if all_toxic else "") + ("; not toxic ticked" if not_toxic else "")
        rows.append(Row(f"toxicspans:{comment}", text, toxicspans_labels(types, not_toxic),
                        f[col["worker"]].strip(), note))
    return rows, dropped


# ---------------------------------------------------------------- Jigsaw

JIGSAW_SUBSETS = ("fastbert_train_sample", "hieunt91_toxic_comments", "predibase_train_subsets",
                  "amodh_saxena_toxic_comments", "ak_algorithm_toxic_lowercased", "robtestdemo_nontoxic")
JIGSAW_RAW = ("toxic", "obscene", "insult", "identity_hate", "threat")
JIGSAW_MAP = {PROFANITY: "obscene", PERSONAL: "insult", IDENTITY: "identity_hate", THREAT: "threat"}
LOWERCASED = "ak_algorithm_toxic_lowercased"


def jigsaw_labels(raw: Labels) -> Labels:
    """Categories from (merged) Jigsaw columns: each its own column; absent column, toxic 0 gives 0."""
    toxic = raw.get("toxic")
    return {cat: raw[col] if raw.get(col) is not None else (0 if toxic == 0 else None)
            for cat, col in JIGSAW_MAP.items()}


def _jigsaw(data_dir: Path) -> tuple[list[Row], Counter]:
    """Jigsaw subsets, merged by id or normalised text before the columns are mapped."""
    found: list[tuple[str, str, str, Labels]] = []  # (subset, source id, text, raw labels)
    dropped: Counter = Counter()
    for subset in JIGSAW_SUBSETS:
        path = data_dir / "jigsaw" / f"{subset}.csv"
        header, records = _read(path)
        text_col = "text" if subset == LOWERCASED else "comment_text"
        present = tuple(c for c in JIGSAW_RAW if c in header)
        expected = ("toxic",) if subset in (LOWERCASED, "robtestdemo_nontoxic") else JIGSAW_RAW
        col = _columns(path, header, (text_col, *expected) + (("id",) if "id" in header else ()))
        for line, f in records:
            text = f[col[text_col]]
            if not text.strip():
                dropped["empty text"] += 1
                continue
            raw = {c: _int(f[col[c]], FLAG, path, line, c) if c in present else None for c in JIGSAW_RAW}
            found.append((subset, f[col["id"]].strip() if "id" in col else "", text, raw))
    groups = _union(found)
    rows = []
    for members in groups:
        ids = [sid for _, sid, _, _ in members if sid]
        texts = [t for s, _, t, _ in members if s != LOWERCASED] or [members[0][2]]
        raw = _merge([r for *_, r in members], JIGSAW_RAW)
        rid = ids[0] if ids else "text-" + hashlib.sha1(normalise(texts[0]).encode()).hexdigest()[:16]
        subsets = "+".join(dict.fromkeys(s for s, *_ in members))
        rows.append(Row(f"jigsaw:{rid}", texts[0], jigsaw_labels(raw), "", subsets))
        dropped["merged into a duplicate (same id or same normalised text)"] += len(members) - 1
    return rows, dropped


def _union(found: list[tuple[str, str, str, Labels]]) -> list[list[tuple[str, str, str, Labels]]]:
    """Group rows that share a source id or a normalised text (transitively), in input order."""
    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, (_, sid, text, _) in enumerate(found):
        for key in ([("id", sid)] if sid else []) + [("text", normalise(text))]:
            a, b = root(i), root(first.setdefault(key, i))
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list] = {}
    for i, item in enumerate(found):
        groups.setdefault(root(i), []).append(item)
    return list(groups.values())


# ---------------------------------------------------------------- Davidson, OLID


def davidson_labels(cls: int, hate: int, offensive: int) -> Labels:
    """Majority class gives 1s; a 0 needs no rater to have chosen a class that could hold the category."""
    labels: Labels = dict.fromkeys(NEEDED)
    if cls == 0:
        labels[IDENTITY] = 1
    elif hate == 0:
        labels[IDENTITY] = 0
    if cls == 2 and hate == 0 and offensive == 0:
        labels.update({PROFANITY: 0, PERSONAL: 0, THREAT: 0})
    return labels


def _davidson(data_dir: Path) -> tuple[list[Row], Counter]:
    """Davidson et al. 2017 tweets with their majority class and per-class rater counts."""
    path = data_dir / "davidson" / "labeled_data.csv"
    header, records = _read(path)
    col = _columns(path, header, ("count", "hate_speech", "offensive_language", "neither", "class", "tweet"))
    index = 0 if header[0] in ("", "Unnamed: 0") else None
    rows, dropped = [], Counter()
    for line, f in records:
        if not f[col["tweet"]].strip():
            dropped["empty text"] += 1
            continue
        cls = _int(f[col["class"]], range(0, 3), path, line, "class")
        hate, off, neither = (_int(f[col[c]], range(0, 100), path, line, c)
                              for c in ("hate_speech", "offensive_language", "neither"))
        rid = f[index].strip() if index is not None else str(line)
        note = f"{('hate', 'offensive', 'neither')[cls]} {hate}/{off}/{neither}"
        rows.append(Row(f"davidson:{rid}", f[col["tweet"]], davidson_labels(cls, hate, off), "", note))
    return rows, dropped


def olid_labels(a: str, b: str, c: str) -> Labels:
    """NOT is all 0; OFF/TIN/IND is a personal attack; UNT, GRP and OTH say nothing reliable."""
    if a == "NOT":
        return dict.fromkeys(NEEDED, 0)
    labels: Labels = dict.fromkeys(NEEDED)
    if (a, b, c) == ("OFF", "TIN", "IND"):
        labels[PERSONAL] = 1
    return labels


OLID_LEVELS = {"subtask_a": ("NOT", "OFF"), "subtask_b": ("", "NULL", "TIN", "UNT"),
               "subtask_c": ("", "NULL", "IND", "GRP", "OTH")}


def _olid(data_dir: Path) -> tuple[list[Row], Counter]:
    """OLID training tweets (tab-separated, quotes are literal text)."""
    path = data_dir / "olid" / "olid-training-v1.0.tsv"
    header, records = _read(path, delimiter="\t", quoting=csv.QUOTE_NONE)
    col = _columns(path, header, ("id", "tweet", *OLID_LEVELS))
    rows, dropped = [], Counter()
    for line, f in records:
        if not f[col["tweet"]].strip():
            dropped["empty text"] += 1
            continue
        levels = []
        for name, allowed in OLID_LEVELS.items():
            value = f[col[name]].strip()
            if value not in allowed:
                raise ArchiveError(f"{path}:{line}: column {name!r}: expected one of "
                                   f"{', '.join(v or '(empty)' for v in allowed)}, found {value!r}")
            levels.append("" if value == "NULL" else value)
        note = "/".join(v for v in levels if v)
        rows.append(Row(f"olid:{f[col['id']].strip()}", f[col["tweet"]], olid_labels(*levels), "", note))
    return rows, dropped


# ---------------------------------------------------------------- ConvAbuse

CONVABUSE_META = ("example_id", "conv_id", "prev_agent", "prev_user", "agent", "user", "bot")
CONVABUSE_FIELDS = ("is_abuse.1", "is_abuse.0", "is_abuse.-1", "is_abuse.-2", "is_abuse.-3", "ableist",
                    "homophobic", "intellectual", "racist", "sexist", "sex_harassment", "transphobic",
                    "target.generalised", "target.individual", "target.system", "explicit", "implicit")
CONVABUSE_IDENTITY = ("ableist", "homophobic", "racist", "sexist", "transphobic")
SEVERITY = {"is_abuse.1": 1, "is_abuse.0": 0, "is_abuse.-1": -1, "is_abuse.-2": -2, "is_abuse.-3": -3}


def convabuse_labels(judgement: dict[str, int]) -> Labels:
    """One annotator's judgement: not abusive is all 0; abusive gives identity and personal attack."""
    ticked = [sev for name, sev in SEVERITY.items() if judgement[name]]
    labels: Labels = dict.fromkeys(NEEDED)
    if ticked == [1]:
        return dict.fromkeys(NEEDED, 0)
    if len(ticked) == 1 and ticked[0] < 0:
        labels[IDENTITY] = int(any(judgement[t] for t in CONVABUSE_IDENTITY))
        if judgement["intellectual"] or judgement["target.individual"]:
            labels[PERSONAL] = 1
    return labels


def _convabuse_header(path: Path, header: list[str]) -> int:
    """Number of annotator blocks; checks every column by position (two published names are off)."""
    if tuple(header[: len(CONVABUSE_META)]) != CONVABUSE_META:
        raise ArchiveError(f"{path}: expected the first columns {', '.join(CONVABUSE_META)}; "
                           f"found {', '.join(header[:len(CONVABUSE_META)])}")
    rest = header[len(CONVABUSE_META):]
    if not rest or len(rest) % len(CONVABUSE_FIELDS):
        raise ArchiveError(f"{path}: expected blocks of {len(CONVABUSE_FIELDS)} annotator columns "
                           f"after {CONVABUSE_META[-1]!r}, found {len(rest)} columns")
    for i, name in enumerate(rest):
        want = CONVABUSE_FIELDS[i % len(CONVABUSE_FIELDS)]
        # The published header calls Annotator7/8's transphobic columns Annotator6_transphobic.1/.2.
        if not re.fullmatch(rf"Annotator\d+_(type\.)?{re.escape(want)}(\.\d+)?", name):
            raise ArchiveError(f"{path}: column {len(CONVABUSE_META) + i + 1} is {name!r}, expected "
                               f"Annotator{i // len(CONVABUSE_FIELDS) + 1}_{want}")
    return len(rest) // len(CONVABUSE_FIELDS)


def _convabuse(data_dir: Path) -> tuple[list[Row], Counter]:
    """ConvAbuse train and valid splits: one row per annotator judgement of the user message."""
    rows, dropped = [], Counter()
    for split in ("train", "valid"):
        path = data_dir / "convabuse" / f"ConvAbuseEMNLP{split}.csv"
        header, records = _read(path)
        width, meta = len(CONVABUSE_FIELDS), len(CONVABUSE_META)
        annotators = _convabuse_header(path, header)
        for line, f in records:
            text, example = f[CONVABUSE_META.index("user")], f[0].strip().removesuffix(".0")
            if not text.strip():
                dropped["empty text"] += 1
                continue
            for k in range(annotators):
                cells = [c.strip() for c in f[meta + k * width: meta + (k + 1) * width]]
                if not any(cells):
                    continue
                values = [[_int(v, FLAG, path, line, header[meta + k * width + i]) for v in cell.split(",")]
                          for i, cell in enumerate(cells)]
                if len({len(v) for v in values}) != 1:
                    raise ArchiveError(f"{path}:{line}: Annotator{k + 1}: cells hold different numbers of "
                                       f"repeat judgements ({', '.join(cells)})")
                for repeat in range(len(values[0])):
                    judgement = {name: values[i][repeat] for i, name in enumerate(CONVABUSE_FIELDS)}
                    sev = ",".join(str(s) for n, s in SEVERITY.items() if judgement[n])
                    kinds = ",".join(n for n in CONVABUSE_FIELDS[5:15] if judgement[n])
                    note = f"{split}; is_abuse {sev}" + (f"; {kinds}" if kinds else "")
                    rows.append(Row(f"convabuse:{example}", text, convabuse_labels(judgement),
                                    f"Annotator{k + 1}", note))
    return rows, dropped


# ---------------------------------------------------------------- ConversationAI annotators

CONVAI_MAP = {PROFANITY: "obscene", PERSONAL: "insult", IDENTITY: "identity_hate", THREAT: "threat"}


def _conversationai(data_dir: Path) -> tuple[list[Row], Counter]:
    """ConversationAI per-rater judgements joined to the comment text by `_unit_id`."""
    folder = data_dir / "conversationai_annotators"
    path = folder / "sample_comment_text.csv"
    header, records = _read(path)
    col = _columns(path, header, ("_unit_id", "comment_text"))
    texts = {f[col["_unit_id"]].strip(): f[col["comment_text"]] for _, f in records}
    path = folder / "sample_training_data.csv"
    header, records = _read(path)
    col = _columns(path, header, ("_unit_id", "_worker_id", *CONVAI_MAP.values()))
    rows, dropped = [], Counter()
    for line, f in records:
        unit = f[col["_unit_id"]].strip()
        labels = {cat: _int(f[col[c]], FLAG, path, line, c) for cat, c in CONVAI_MAP.items()}
        if unit not in texts:
            dropped["_unit_id not in sample_comment_text.csv"] += 1
            continue
        rows.append(Row(f"conversationai_annotators:{unit}", texts[unit], labels, f[col["_worker_id"]].strip()))
    return rows, dropped


# ---------------------------------------------------------------- merging and writing


def _merge(labels: list[Labels], names: tuple[str, ...]) -> Labels:
    """Agreeing values stay, a value known in only some is kept, disagreeing values become unknown."""
    merged: Labels = {}
    for name in names:
        known = {lab.get(name) for lab in labels} - {None}
        merged[name] = known.pop() if len(known) == 1 else None
    return merged


def _finish(rows: list[Row], dropped: Counter) -> list[Row]:
    """One id and text per normalised text; one row per (text, annotator); rows with nothing known go."""
    canonical: dict[str, Row] = {}
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if not row.text.strip():
            dropped["empty text"] += 1
            continue
        key = normalise(row.text)
        canonical.setdefault(key, row)
        groups.setdefault((key, row.annotator), []).append(row)
    out = []
    for (key, annotator), members in groups.items():
        dropped["merged into a duplicate (same normalised text and annotator)"] += len(members) - 1
        labels = _merge([m.labels for m in members], NEEDED)
        if all(v is None for v in labels.values()):
            dropped["no category known"] += 1
            continue
        note = " | ".join(dict.fromkeys(m.note for m in members if m.note))
        first = canonical[key]
        out.append(Row(first.id, first.text, labels, annotator, note[:200]))
    return sorted(out, key=lambda r: (r.id, r.annotator))


def _write(source: str, rows: list[Row], dropped: Counter, out_dir: Path, names: list[str]) -> ImportReport:
    """Write one source's rows to `<out_dir>/<source>.parquet` atomically and report on them."""
    rows = _finish(rows, dropped)
    columns: dict[str, list] = {"id": [r.id for r in rows], "text": [r.text for r in rows]}
    counts = {}
    for name in names:
        values = [r.labels.get(name) for r in rows]
        columns[name] = values
        counts[name] = {"positive": values.count(1), "negative": values.count(0), "unknown": values.count(None)}
    columns.update(source=[source] * len(rows), annotator=[r.annotator for r in rows], note=[r.note for r in rows])
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), *[(n, pa.int8()) for n in names],
                        ("source", pa.string()), ("annotator", pa.string()), ("note", pa.string())])
    path = out_dir / f"{source}.parquet"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    try:
        pq.write_table(pa.table(columns, schema=schema), tmp, compression="zstd", compression_level=19)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ImportReport(source, path, len(rows), {k: v for k, v in sorted(dropped.items()) if v}, counts)


_IMPORTERS: dict[str, Callable[[Path], tuple[list[Row], Counter]]] = {
    "toxicspans": _toxicspans,
    "jigsaw": _jigsaw,
    "davidson": _davidson,
    "olid": _olid,
    "convabuse": _convabuse,
    "conversationai_annotators": _conversationai,
}
