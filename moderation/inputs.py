"""Streaming readers for batch scoring inputs: archive pages, JSON Lines, CSV, Parquet, directories.

Every reader is lazy: JSONL files are read a megabyte at a time, CSV files a line at a time and
Parquet files a record batch at a time, so files with millions of comments never sit in memory.
Errors name the file and the physical line (the 1-based row for Parquet): `comments.jsonl:12:
text: expected a string, found null`, `comments.parquet:row 12: text: expected a string, found null`.

`iter_comments` yields a `Comment` per comment; `iter_columns` yields the same comments as blocks
of columns (`Columns`: a list of ids, a list of texts, ...), which is what batch scoring reads: no
object is built per comment where nothing needs one.

Duplicate ids are caught within each file at a cost of 8 bytes per id: the reader keeps a 64-bit
hash of every id in sorted numpy runs (a million ids: 8 MB, where a dict of the id strings took
over 100 MB). A hash seen before is confirmed by re-reading the file up to that record, so a hash
collision never rejects a good file and the error still names the line of the first use.
"""

from __future__ import annotations

import csv
import difflib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from moderation.archive import Comment, read_page
from moderation.errors import ArchiveError

__all__ = ["SUPPORTED_EXTENSIONS", "Columns", "input_files", "iter_columns", "iter_comments", "iter_csv", "iter_jsonl",
           "iter_parquet"]

SUPPORTED_EXTENSIONS = (".txt", ".jsonl", ".csv", ".parquet")
_KINDS = (".txt (archive page), .jsonl (one {\"id\", \"text\"} object a line), .csv (id,text columns), "
          ".parquet (id, text columns)")
_ALIASES = {"id": ("comment_id", "_id", "uid", "key"), "text": ("comment", "body", "content", "message")}
_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}
_BLOCK = 1024  # CSV and Parquet records validated, checked for duplicate ids and handed on together
_ROW = "row "  # Parquet errors give a row number where the text formats give a line

Rows = Iterator[tuple[int, object, str]]  # (line or row, raw id, text) of records with a valid text
# The same a block at a time: (lines or rows, raw ids, texts); JSONL gives a block per megabyte read.
Blocks = Iterator[tuple[list[int] | range, list[object], list[str]]]


class Columns(NamedTuple):
    """A block of comments as columns, in input order: `ids[i]` and `texts[i]` are comment i's.

    An archive field (article, number, parent, author) is None instead of a list when no comment
    of the block has it: records from JSONL, CSV and Parquet files have only an id and a text.
    """

    ids: list[str]
    texts: list[str]
    articles: list[str | None] | None = None
    numbers: list[int | None] | None = None
    parents: list[str | None] | None = None
    authors: list[str | None] | None = None


def iter_comments(paths: Iterable[Path | str]) -> Iterator[Comment]:
    """Stream the comments of every input, in order; directories give their files sorted by name.

    >>> [c.id for c in iter_comments([Path("seeds")])][:2]
    ['000_c87f713ab8df9e35:1', '000_c87f713ab8df9e35:2']

    Paths are checked before the first comment is read, so a typo in the last argument fails
    at once rather than after hours of scoring.
    """
    files = input_files(paths)
    return _chain(files)


def iter_columns(paths: Iterable[Path | str]) -> Iterator[Columns]:
    """The comments of `iter_comments(paths)`, checked the same way, as blocks of columns.

    >>> next(iter_columns([Path("seeds")])).ids[:2]
    ['000_c87f713ab8df9e35:1', '000_c87f713ab8df9e35:2']
    """
    files = input_files(paths)
    return _chain_columns(files)


def input_files(paths: Iterable[Path | str]) -> list[Path]:
    """The files `iter_comments(paths)` reads, in order; every path is checked first.

    >>> input_files(["seeds"])[0].name  # doctest: +SKIP
    '000_c87f713ab8df9e35.txt'
    """
    return _expand(paths)


def iter_jsonl(path: Path) -> Iterator[Comment]:
    """Stream comments from a JSON Lines file of `{"id": ..., "text": ...}` objects."""
    return _comments(_jsonl_columns(Path(path)))


def iter_csv(path: Path) -> Iterator[Comment]:
    """Stream comments from a CSV file whose header has `id` and `text` columns."""
    return _comments(_csv_columns(Path(path)))


def iter_parquet(path: Path) -> Iterator[Comment]:
    """Stream comments from a Parquet file with `id` (string or integer) and `text` (string) columns.

    Only those two columns are read, one record batch at a time, so memory stays bounded by a
    row group whatever the file's size; errors give the 1-based row: `c.parquet:row 7: text: …`.
    """
    return _comments(_parquet_columns(Path(path)))


# ── private helpers ─────────────────────────────────────────────────────────────────────────


def _jsonl_columns(path: Path) -> Iterator[Columns]:
    """The checked records of a JSON Lines file, a block per megabyte."""
    return _checked(path, lambda: _jsonl_blocks(path))


def _csv_columns(path: Path) -> Iterator[Columns]:
    """The checked records of a CSV file, `_BLOCK` at a time."""
    return _checked(path, lambda: _blocks(_csv_rows(path)))


def _parquet_columns(path: Path) -> Iterator[Columns]:
    """The checked records of a Parquet file, a record batch (`_BLOCK` rows) at a time."""
    return _checked(path, lambda: _parquet_blocks(path), unit=_ROW)


def _page_columns(path: Path) -> Iterator[Columns]:
    """The comments of an archive page as one block, their archive fields included."""
    comments = read_page(path).comments
    if comments:
        yield Columns([c.id for c in comments], [c.text for c in comments], [c.article for c in comments],
                      [c.number for c in comments], [c.parent for c in comments], [c.author for c in comments])


def _jsonl_blocks(path: Path) -> Blocks:
    """(lines, ids, texts) of the JSON Lines records of each megabyte of the file, after the checks
    that need no other record; an error comes after the block of the lines before it.

    Each line is parsed with `json.loads` (its C scanner); only a line that fails the quick test
    (an object with a string text and an id) takes `_jsonl_row`, which names the problem.
    """
    scan = _SCAN_ONCE
    for line_no, lines, ended in _line_blocks(path):
        last = line_no + len(lines)
        wheres: list[int] = []
        values: list[object] = []
        texts: list[str] = []
        try:
            for line_no, line in enumerate(lines, line_no + 1):
                try:
                    record, end = scan(line, 0)  # `json.loads(line)` when the value fills the line
                    if end != len(line):
                        record = json.loads(line)  # spaces around it, or more after it (the error)
                    text = record["text"]
                    value = record["id"]
                except (StopIteration, ValueError, TypeError, KeyError, IndexError):
                    record = None
                if record is None or type(record) is not dict or type(text) is not str:
                    row = _jsonl_row(path, line_no, line + "\n" if ended or line_no < last else line)
                    if row is None:
                        continue
                    value, text = row
                wheres.append(line_no)
                values.append(value)
                texts.append(text)
        except ArchiveError:
            if wheres:
                yield wheres, values, texts
            raise
        if wheres:
            yield wheres, values, texts


# The C scanner under `json.loads`: a JSON value at an index of a str -> (value, end), or StopIteration.
_SCAN_ONCE = json.decoder.JSONDecoder().scan_once


def _jsonl_row(path: Path, line_no: int, line: str) -> tuple[object, str] | None:
    """(id, text) of one JSON Lines record, None for a blank line; an error names what is wrong."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _error(path, line_no, None, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(record, dict):
        raise _error(path, line_no, None, f"expected a JSON object, found {_json_type(record)}")
    if "text" not in record:
        raise _error(path, line_no, "text", f"missing; keys found: {', '.join(record) or 'none'}")
    if not isinstance(record["text"], str):
        raise _error(path, line_no, "text", f"expected a string, found {_json_type(record['text'])}")
    if "id" not in record:
        raise _error(path, line_no, "id", "missing; every record needs an id (a string or an integer)")
    return record["id"], record["text"]


def _csv_rows(path: Path) -> Rows:
    """(line, id, text) of each CSV row; the line is where a (possibly multi-line) row begins."""
    reader = csv.reader(_lines(path))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ArchiveError(f"{path}: empty file, expected a header with id,text columns") from None
    except csv.Error as exc:
        raise _error(path, reader.line_num, None, f"not valid CSV: {exc}") from None
    missing = [name for name in ("id", "text") if name not in header]
    if missing:
        raise _error(path, 1, None, _missing_columns(missing, header))
    for name in ("id", "text"):
        if header.count(name) > 1:
            raise _error(path, 1, name, "column appears more than once in the header")
    id_col, text_col = header.index("id"), header.index("text")
    while True:
        start = reader.line_num + 1  # physical line where the next row begins
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _error(path, start, None, f"not valid CSV: {exc}") from None
        if not row:
            continue  # blank line
        if len(row) != len(header):
            raise _error(path, start, *_bad_width(len(row), len(header), id_col, text_col))
        yield start, row[id_col], row[text_col]


def _parquet_blocks(path: Path) -> Blocks:
    """(rows, ids, texts) of each record batch of a Parquet file; an error comes after the rows before it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(f"{path}: not a readable Parquet file: {exc}") from None
    schema = parquet.schema_arrow
    missing = [name for name in ("id", "text") if name not in schema.names]
    if missing:
        raise ArchiveError(f"{path}: {_missing_columns(missing, schema.names, 'when writing the file')}")
    for name, kinds, expected in (("id", (_is_text, pa.types.is_integer), "string or integer"),
                                  ("text", (_is_text,), "string")):
        if schema.names.count(name) > 1:
            raise ArchiveError(f"{path}: {name}: column appears more than once")
        found = schema.field(name).type
        if not any(kind(found) for kind in kinds):
            raise ArchiveError(f"{path}: {name}: expected a {expected} column, found {found}")
    row = 0
    batches = parquet.iter_batches(batch_size=_BLOCK, columns=["id", "text"])
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as exc:
            raise ArchiveError(f"{path}:{_ROW}{row + 1}: cannot read: {exc}") from None
        values, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
        bad = next((i for i, text in enumerate(texts) if not isinstance(text, str)), None)
        if bad is not None:  # a null text (the column is a string column)
            if bad:
                yield range(row + 1, row + bad + 1), values[:bad], texts[:bad]
            raise _error(path, row + bad + 1, "text", f"expected a string, found {_json_type(texts[bad])}", _ROW)
        yield range(row + 1, row + len(texts) + 1), values, texts
        row += len(texts)


def _is_text(arrow_type) -> bool:
    """True for Arrow's string types, dictionary-encoded or not."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or (
        hasattr(pa.types, "is_string_view") and pa.types.is_string_view(arrow_type))


def _checked(path: Path, blocks_of: Callable[[], Blocks], unit: str = "") -> Iterator[Columns]:
    """The records of `blocks_of()` with valid, unique ids, as columns; checked a block at a time.

    Errors come in file order, as if every record were checked on its own: the records before
    a bad one are yielded first.
    """
    seen = _SeenIds()
    for wheres, values, texts in blocks_of():
        ids, failure = _block_ids(path, wheres, values, unit)
        if ids:
            hashes = np.fromiter(map(_id_hash, ids), dtype=np.int64, count=len(ids))
            for i in seen.add(hashes):
                first = _first_use(blocks_of, ids[i], wheres[i])
                if first is not None:
                    if i:
                        yield Columns(ids[:i], texts[:i])
                    raise _error(path, wheres[i], "id", f"duplicate id {ids[i]!r}, first used on "
                                                        f"{unit or 'line '}{first}", unit)
            yield Columns(ids, texts if len(texts) == len(ids) else texts[:len(ids)])
        if failure is not None:
            raise failure


def _block_ids(path: Path, wheres: list[int], values: list, unit: str) -> tuple[list[str], ArchiveError | None]:
    """The ids of a block as strings, up to the first bad one, and the error it makes (or None)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        ids = values
    elif kinds == {int}:
        ids = list(map(str, values))
    else:
        ids = None
    if ids is not None and all(map(str.strip, ids)):
        return ids, None
    good: list[str] = []
    for where, value in zip(wheres, values):
        try:
            good.append(_check_id(path, where, value, unit))
        except ArchiveError as exc:
            return good, exc
    return good, None


def _blocks(rows: Rows) -> Blocks:
    """`rows` grouped in blocks of `_BLOCK`; an error in `rows` comes after the block before it."""
    wheres: list[int] = []
    values: list[object] = []
    texts: list[str] = []
    try:
        for where, value, text in rows:
            wheres.append(where)
            values.append(value)
            texts.append(text)
            if len(wheres) == _BLOCK:
                yield wheres, values, texts
                wheres, values, texts = [], [], []
    except ArchiveError:
        if wheres:
            yield wheres, values, texts
        raise
    if wheres:
        yield wheres, values, texts


def _comments(blocks: Iterator[Columns]) -> Iterator[Comment]:
    """The comments of a file's blocks (records with an id and a text), numbered from 1, built
    without the dataclass's per-field `__init__` (a third of the time)."""
    new, setattr_ = object.__new__, object.__setattr__
    position = 0
    for block in blocks:
        for position, comment_id, text in zip(itertools.count(position + 1), block.ids, block.texts):
            comment = new(Comment)
            setattr_(comment, "__dict__", {"id": comment_id, "article": None, "number": None, "position": position,
                                           "parent": None, "author": None, "text": text, "is_reply": False})
            yield comment


# A 64-bit hash of an id; collisions are possible and resolved by `_first_use`.
_id_hash = hash


class _SeenIds:
    """The 64-bit hashes of the ids read so far, as sorted numpy runs (8 bytes an id).

    Runs merge like a binary counter, so there are at most log2(n / block) + 1 of them and a
    lookup costs one `searchsorted` per run.
    """

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def add(self, hashes: np.ndarray) -> list[int]:
        """Add a block of hashes; the indices of those seen before (earlier blocks or earlier here)."""
        repeated = np.zeros(len(hashes), dtype=bool)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, hashes), len(run) - 1)
            repeated |= run[at] == hashes
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        repeated[order[1:]] |= ordered[1:] == ordered[:-1]
        self.runs.append(ordered)
        while len(self.runs) > 1 and len(self.runs[-2]) <= len(self.runs[-1]):
            last = self.runs.pop()
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")
        return np.flatnonzero(repeated).tolist()


def _first_use(blocks_of: Callable[[], Blocks], comment_id: str, before: int) -> int | None:
    """Where `comment_id` first appears before line (or row) `before`; None if a hash collided."""
    for wheres, values, _ in blocks_of():
        for where, value in zip(wheres, values):
            if where >= before:
                return None
            if str(value) == comment_id:
                return where
    return None


_READERS = {
    ".txt": lambda path: iter(read_page(path).comments),
    ".jsonl": iter_jsonl,
    ".csv": iter_csv,
    ".parquet": iter_parquet,
}
_COLUMN_READERS = {".txt": _page_columns, ".jsonl": _jsonl_columns, ".csv": _csv_columns,
                   ".parquet": _parquet_columns}


def _expand(paths: Iterable[Path | str]) -> list[Path]:
    """Check every input and list the files to read, directories expanded non-recursively."""
    files: list[Path] = []
    given: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _READERS)
            if not found:
                raise ArchiveError(f"{path}: directory has no input files; supported: {_KINDS}")
        elif not path.exists():
            raise ArchiveError(f"{path}: no such file or directory")
        elif path.suffix.lower() not in _READERS:
            shown = path.suffix or "no extension"
            raise ArchiveError(f"{path}: unsupported input type ({shown}); supported: {_KINDS}")
        else:
            found = [path]
        for file in found:
            key = file.resolve()
            if key in given:
                raise ArchiveError(f"{file}: given twice (also as {given[key]}); its ids would repeat")
            given[key] = file
            files.append(file)
    return files


def _chain(files: list[Path]) -> Iterator[Comment]:
    """Yield the comments of each file in turn."""
    for file in files:
        yield from _READERS[file.suffix.lower()](file)


def _chain_columns(files: list[Path]) -> Iterator[Columns]:
    """Yield the blocks of each file in turn."""
    for file in files:
        yield from _COLUMN_READERS[file.suffix.lower()](file)


def _open_bytes(path: Path):  # noqa: ANN202 - a binary file object
    """`path` opened for reading bytes; ArchiveError naming it if it is missing or unreadable."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _not_utf8(path: Path, line_no: int, raw: bytes, at: int, offset: int) -> ArchiveError:
    """The error for the byte `raw[at]` that is not UTF-8, on line `line_no` whose bytes start at `offset`."""
    return ArchiveError(f"{path}:{line_no}: not valid UTF-8: byte 0x{raw[at]:02x} at byte offset {offset + at}; "
                        f"re-encode the file as UTF-8")


def _lines(path: Path) -> Iterator[str]:
    """Yield the decoded lines of a file with their endings; a bad byte names line and offset."""
    offset = 0
    with _open_bytes(path) as handle:
        for line_no, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, line_no, raw, exc.start, offset) from None
            offset += len(raw)
            yield line.removeprefix("\ufeff") if line_no == 1 else line


def _line_blocks(path: Path, size: int = 1 << 20) -> Iterator[tuple[int, list[str], bool]]:
    """(lines before, decoded lines without their newline, whether the last one had it), a megabyte
    at a time: `_lines`' lines, decoded a block at once; a bad byte names line and offset as there."""
    line_no = offset = 0
    pending: list[bytes] = []  # the start of a line longer than a block
    with _open_bytes(path) as handle:
        while True:
            data = handle.read(size)
            if data:
                cut = data.rfind(b"\n") + 1
                if not cut:
                    pending.append(data)
                    continue
                pending.append(data[:cut])
                data, pending, ended = b"".join(pending), [data[cut:]], True
            elif any(pending):
                data, pending, ended = b"".join(pending), [], False
            else:
                return
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                good, failure = _decodable(path, data, line_no, offset)
                if good:
                    yield line_no, good, True
                raise failure from None
            lines = (text[:-1] if ended else text).split("\n")
            if line_no == 0:
                lines[0] = lines[0].removeprefix("\ufeff")
            yield line_no, lines, ended
            line_no += len(lines)
            offset += len(data)


def _decodable(path: Path, data: bytes, line_no: int, offset: int) -> tuple[list[str], ArchiveError]:
    """The lines of `data` before its first one that is not UTF-8 (decoded, without their newline),
    and the error naming that line and the byte's offset in the file."""
    good = []
    for raw in data.split(b"\n"):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return good, _not_utf8(path, line_no + len(good) + 1, raw, exc.start, offset)
        good.append(line.removeprefix("\ufeff") if line_no + len(good) == 0 else line)
        offset += len(raw) + 1
    raise AssertionError("a block that does not decode has a line that does not")  # pragma: no cover


def _check_id(path: Path, line_no: int, value: object, unit: str = "") -> str:
    """Validate a record id (string or integer) and convert it to str."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _error(path, line_no, "id", f"expected a string or an integer, found {_json_type(value)}", unit)
    comment_id = str(value)
    if not comment_id.strip():
        raise _error(path, line_no, "id", "empty", unit)
    return comment_id


def _bad_width(width: int, expected: int, id_col: int, text_col: int) -> tuple[str | None, str]:
    """(field, message) for a CSV row with the wrong number of fields."""
    counts = f"row has {width} field(s), the header has {expected}"
    if width > expected:
        return None, f"too many fields: {counts}; quote fields that contain commas"
    field = "text" if width <= text_col else "id" if width <= id_col else None
    return field, f"missing: {counts}" if field else f"too few fields: {counts}"


def _missing_columns(missing: list[str], header: list[str], where: str = "in the header") -> str:
    """Say which columns are missing, which were found, and what they probably are."""
    found = ", ".join(header) if any(header) else "no column names"
    message = f"expected columns id, text; missing {', '.join(missing)}; found {found}"
    guesses = [f"{guess!r} for {name!r}" for name in missing if (guess := _guess(name, header))]
    if guesses:
        message += f" — did you mean {', '.join(guesses)}? Rename the column(s) {where}"
    return message


def _guess(name: str, header: list[str]) -> str | None:
    """The header column most likely meant as `name`, if any."""
    lowered = {column.lower(): column for column in header}
    if name in lowered:
        return lowered[name]
    ends = [c for c in header if c.lower().endswith(name)]
    contains = [c for c in header if name in c.lower()]
    aliases = [c for c in header if c.lower() in _ALIASES[name]]
    close = difflib.get_close_matches(name, header, n=1, cutoff=0.6)
    for candidates in (ends, aliases, contains, close):
        if candidates:
            return min(candidates, key=len)
    return None


def _json_type(value: object) -> str:
    """JSON's name for the type of a decoded value."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _error(path: Path, line: int, field: str | None, message: str, unit: str = "") -> ArchiveError:
    """An ArchiveError reading `path:line: field: message` (`path:row 7: …` for Parquet)."""
    where = f"{path}:{unit}{line}"
    return ArchiveError(f"{where}: {field}: {message}" if field else f"{where}: {message}")
