"""Moderators' decisions as label rows, appended durably to `labels/feedback/<year>-<month>.jsonl`.

A decision becomes one row of the label-file schema (`labels/README.md`) with `source` = "feedback",
`annotator` = the moderator, and `time` / `model` filled in, so that a later decision by the same
moderator on the same text supersedes the earlier one when the labels are loaded.

Appending is safe for many writers at once (threads and processes): each append opens the file
with O_APPEND, takes an exclusive `flock` on it, writes the whole line with one `os.write`, fsyncs
and releases. A torn last line left by a crash is repaired under the lock before the next append
(see `append_line`).

>>> from moderation.policy import Policy
>>> policy = Policy.load("labels/policy.toml")  # doctest: +SKIP
>>> row = build_record(policy, comment_id="c-1", text="You idiot", labels={"personal_attack": 1},
...                    annotator="maria")  # doctest: +SKIP
>>> append_record("labels/feedback", row)  # doctest: +SKIP
PosixPath('labels/feedback/2026-11.jsonl')
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from moderation.errors import InputError
from moderation.files import fsync_path
from moderation.policy import Policy

SOURCE = "feedback"
MAX_NAME = 200  # characters in a comment id, a moderator's name or a model version
MAX_NOTE = 2000
_CHUNK = 1 << 16

logger = logging.getLogger("moderation.feedback")


class FeedbackError(InputError):
    """A moderator's decision that cannot be recorded; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def format_time(when: datetime) -> str:
    """ISO 8601 in UTC with microseconds: `2026-11-23T09:15:02.123456Z`."""
    if when.tzinfo is None:
        raise ValueError(f"expected a timezone-aware time, found naive {when!r}")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_record(
    policy: Policy,
    *,
    comment_id: str,
    text: str,
    labels: Mapping[str, int | None],
    annotator: str,
    model: str | None = None,
    note: str | None = None,
    when: datetime | None = None,
) -> dict:
    """One label row for a moderator's decision; FeedbackError naming the field when it is unusable.

    Every policy category gets a value: 1, 0, or None (not judged). At least one must be judged.

    >>> build_record(policy, comment_id="c-1", text="You idiot", labels={"personal_attack": 1},
    ...              annotator="maria")["personal_attack"]  # doctest: +SKIP
    1
    """
    comment_id = _name(comment_id, "comment_id")
    annotator = _name(annotator, "moderator")
    if not isinstance(text, str):
        raise FeedbackError("text", f"expected a string, found {type(text).__name__}")
    if not text.strip():
        raise FeedbackError("text", "empty text: there is nothing to label")
    if len(text) > policy.max_chars:
        raise FeedbackError("text", f"text has {len(text)} characters; the limit is {policy.max_chars}")
    _encodable(text, "text")
    if not isinstance(labels, Mapping):
        raise FeedbackError("labels", f"expected an object of category: 0, 1 or null, found {type(labels).__name__}")
    names = policy.names
    for name, value in labels.items():
        if name not in names:
            raise FeedbackError(f"labels.{name}", f"unknown category; the policy's categories are {', '.join(names)}")
        if value is not None and (isinstance(value, bool) or value not in (0, 1)):
            raise FeedbackError(f"labels.{name}", f"expected 0, 1 or null, found {value!r}")
    values = {name: (None if labels.get(name) is None else int(labels[name])) for name in names}
    if all(v is None for v in values.values()):
        raise FeedbackError("labels", f"no category judged; give at least one of {', '.join(names)} as 0 or 1")
    if model is not None:
        model = _name(model, "model")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise FeedbackError("note", f"expected a string or null, found {type(note).__name__}")
    if len(note) > MAX_NOTE:
        raise FeedbackError("note", f"note has {len(note)} characters; the limit is {MAX_NOTE}")
    _encodable(note, "note")
    return {
        "id": comment_id,
        "text": text,
        **values,
        "source": SOURCE,
        "annotator": annotator,
        "note": note,
        "time": format_time(when or utc_now()),
        "model": model,
    }


def feedback_file(directory: str | Path, when: datetime) -> Path:
    """The month's feedback file: `directory/<year>-<month>.jsonl`, by the UTC time of the decision."""
    moment = when.astimezone(timezone.utc)
    return Path(directory) / f"{moment.year:04d}-{moment.month:02d}.jsonl"


def encode_record(record: Mapping) -> bytes:
    """One JSON line (UTF-8, newline-terminated); JSON escapes every newline inside values."""
    line = json.dumps(record, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    return (line + "\n").encode("utf-8")


def append_record(directory: str | Path, record: Mapping) -> Path:
    """Append `record` (from `build_record`) to its month's file under `directory`; return that file."""
    when = datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00"))
    path = feedback_file(directory, when)
    append_line(path, encode_record(record))
    return path


def append_line(path: str | Path, data: bytes) -> None:
    """Append one complete line to `path`, atomically and durably, whoever else is appending.

    Under an exclusive `flock` on the file: repair a torn tail (see `_repair_tail`), write `data`
    in one `os.write`, `fsync`. A short write (disk full) is truncated away before the error is
    raised, so the file only ever holds whole lines written by this function.

    >>> append_line("labels/feedback/2026-11.jsonl", b'{"id": "c-1", ...}\\n')  # doctest: +SKIP
    """
    if not data.endswith(b"\n") or b"\n" in data[:-1]:
        raise ValueError("append_line: data must be exactly one line ending in a newline")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = _repair_tail(fd, path)
            try:
                written = os.write(fd, data)
            except OSError:
                os.ftruncate(fd, size)
                raise
            if written != len(data):
                os.ftruncate(fd, size)
                os.fsync(fd)
                raise OSError(f"{path}: short write ({written} of {len(data)} bytes); the line was not stored")
            os.fsync(fd)
            if size == 0:  # a new file: make its directory entry durable too
                fsync_path(path.parent)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _repair_tail(fd: int, path: Path) -> int:
    """Make the file end with a newline (or be empty); return its size. Call with the lock held.

    A last line without its newline is a write torn by a crash. If it is a complete JSON object
    (only the newline was lost) it is kept and terminated; otherwise it is truncated away and its
    bytes are saved to `<file>.torn` (which no label loader reads) and logged. Earlier lines are
    never touched.
    """
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = _last_newline(fd, size)  # offset just past the last newline, 0 if none
    fragment = os.pread(fd, size - end, end)
    try:
        complete = isinstance(json.loads(fragment.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError):
        complete = False
    if complete:
        logger.warning("%s: the last line had lost its newline; terminated it", path)
        os.write(fd, b"\n")
        os.fsync(fd)
        return size + 1
    torn = path.with_name(path.name + ".torn")
    with open(torn, "ab") as fh:
        fh.write(fragment + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.ftruncate(fd, end)
    os.fsync(fd)
    logger.warning("%s: removed a torn last line (%d bytes, from a crashed write) and saved it to %s",
                   path, len(fragment), torn)
    return end


def _last_newline(fd: int, size: int) -> int:
    """Offset just past the last b"\\n" before `size`, or 0."""
    pos = size
    while pos > 0:
        start = max(0, pos - _CHUNK)
        block = os.pread(fd, pos - start, start)
        i = block.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0



def _name(value: object, field: str) -> str:
    """A short identifier: a non-blank string without control characters, stripped."""
    if not isinstance(value, str):
        raise FeedbackError(field, f"expected a string, found {type(value).__name__}")
    value = value.strip()
    if not value:
        raise FeedbackError(field, "must not be empty")
    if len(value) > MAX_NAME:
        raise FeedbackError(field, f"{len(value)} characters; the limit is {MAX_NAME}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise FeedbackError(field, "must not contain control characters")
    _encodable(value, field)
    return value


def _encodable(value: str, field: str) -> None:
    """Lone surrogates (possible from JSON `\\ud800` escapes) cannot be written as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FeedbackError(field, "contains an unpaired surrogate (invalid Unicode)") from None
