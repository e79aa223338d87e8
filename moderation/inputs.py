"""Streaming readers for batch scoring inputs: archive pages, JSON Lines, CSV, directories.

Every reader is lazy: JSONL and CSV files are read a line at a time, so files with millions of
comments never sit in memory (only the ids seen so far, to catch duplicates). Errors name the
file and the physical line: `comments.jsonl:12: text: expected a string, found null`.
"""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from moderation.archive import Comment, read_page
from moderation.errors import ArchiveError

__all__ = ["SUPPORTED_EXTENSIONS", "iter_comments", "iter_csv", "iter_jsonl"]

SUPPORTED_EXTENSIONS = (".txt", ".jsonl", ".csv")
_KINDS = ".txt (archive page), .jsonl (one {\"id\", \"text\"} object a line), .csv (id,text columns)"
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


def iter_comments(paths: Iterable[Path | str]) -> Iterator[Comment]:
    """Stream the comments of every input, in order; directories give their files sorted by name.

    >>> [c.id for c in iter_comments([Path("seeds")])][:2]
    ['000_c87f713ab8df9e35:1', '000_c87f713ab8df9e35:2']

    Paths are checked before the first comment is read, so a typo in the last argument fails
    at once rather than after hours of scoring.
    """
    files = _expand(paths)
    return _chain(files)


def iter_jsonl(path: Path) -> Iterator[Comment]:
    """Stream comments from a JSON Lines file of `{"id": ..., "text": ...}` objects."""
    path = Path(path)
    seen: dict[str, int] = {}
    position = 0
    for line_no, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
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
        comment_id = _check_id(path, line_no, record["id"], seen)
        position += 1
        yield _record(comment_id, position, record["text"])


def iter_csv(path: Path) -> Iterator[Comment]:
    """Stream comments from a CSV file whose header has `id` and `text` columns."""
    path = Path(path)
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
    seen: dict[str, int] = {}
    position = 0
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
        comment_id = _check_id(path, start, row[id_col], seen)
        position += 1
        yield _record(comment_id, position, row[text_col])


# ── private helpers ─────────────────────────────────────────────────────────────────────────

_READERS = {".txt": lambda path: iter(read_page(path).comments), ".jsonl": iter_jsonl, ".csv": iter_csv}


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


def _lines(path: Path) -> Iterator[str]:
    """Yield the decoded lines of a file with their endings; a bad byte names line and offset."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None
    offset = 0
    with handle:
        for line_no, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ArchiveError(
                    f"{path}:{line_no}: not valid UTF-8: byte 0x{raw[exc.start]:02x} at byte "
                    f"offset {offset + exc.start}; re-encode the file as UTF-8"
                ) from None
            offset += len(raw)
            yield line.removeprefix("\ufeff") if line_no == 1 else line


def _check_id(path: Path, line_no: int, value: object, seen: dict[str, int]) -> str:
    """Validate a record id (string or integer), convert it to str and reject duplicates."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _error(path, line_no, "id", f"expected a string or an integer, found {_json_type(value)}")
    comment_id = str(value)
    if not comment_id.strip():
        raise _error(path, line_no, "id", "empty")
    first = seen.setdefault(comment_id, line_no)
    if first != line_no:
        raise _error(path, line_no, "id", f"duplicate id {comment_id!r}, first used on line {first}")
    return comment_id


def _record(comment_id: str, position: int, text: str) -> Comment:
    """A comment from a JSONL/CSV record: no archive fields."""
    return Comment(
        id=comment_id,
        article=None,
        number=None,
        position=position,
        parent=None,
        author=None,
        text=text,
        is_reply=False,
    )


def _bad_width(width: int, expected: int, id_col: int, text_col: int) -> tuple[str | None, str]:
    """(field, message) for a CSV row with the wrong number of fields."""
    counts = f"row has {width} field(s), the header has {expected}"
    if width > expected:
        return None, f"too many fields: {counts}; quote fields that contain commas"
    field = "text" if width <= text_col else "id" if width <= id_col else None
    return field, f"missing: {counts}" if field else f"too few fields: {counts}"


def _missing_columns(missing: list[str], header: list[str]) -> str:
    """Say which columns are missing, which were found, and what they probably are."""
    found = ", ".join(header) if any(header) else "no column names"
    message = f"expected columns id, text; missing {', '.join(missing)}; found {found}"
    guesses = [f"{guess!r} for {name!r}" for name in missing if (guess := _guess(name, header))]
    if guesses:
        message += f" — did you mean {', '.join(guesses)}? Rename the column(s) in the header"
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


def _error(path: Path, line: int, field: str | None, message: str) -> ArchiveError:
    """An ArchiveError reading `path:line: field: message`."""
    return ArchiveError(f"{path}:{line}: {field}: {message}" if field else f"{path}:{line}: {message}")
