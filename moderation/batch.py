"""Batch scoring: comments streamed in, one record per comment out, resumable after an interruption.

Inputs are read lazily, as blocks of columns (`moderation.inputs.iter_columns`: no object per
comment), and scored a chunk at a time (`moderation.records.score_chunk`: the chunk's output
records come back as bytes, with the summary's counts), in this process, on `workers` processes
forked from this one (they share its loaded model; joblib's loky processes where there is no
fork) or on a Dask cluster, which are sent the chunk's columns; chunks come back in input order
and are appended as they are. Each scored chunk is appended to the partial output beside the
result, `.NAME.partial` (a directory of one-row-group Parquet files for `.parquet`). Once
`SYNC_RECORDS` comments or `SYNC_SECONDS` have passed since the last time, at the end, and when
the run stops for any reason but an error in the inputs, the partial is fsynced; then
`.NAME.partial.json` records the inputs (paths, sizes, mtimes), the model and how many records
(and bytes) are safely written. The partial is renamed to `NAME` (Parquet: its row groups copied
into one file) only when every comment is scored.

`resume=True` checks the state against this run's inputs and model, cuts the partial back to the
recorded size (dropping a torn last record and anything written after the last state), skips that
many comments (they are still read, to check ids, but not scored) and carries on. Because the state
is written only after the data it counts is fsynced, a state that lags behind the data, or is
lost with a power cut, only ever makes a run redo work, never skip or repeat a record.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import itertools
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, NamedTuple

from moderation.errors import ArchiveError, InputError, ModelError, ModerationError
from moderation.files import atomic_write, fsync_path
from moderation.inputs import Columns
from moderation.model import ARTIFACT, Model
from moderation.records import ScoredChunk, Summary, parquet_schema, record_columns, score_chunk

try:
    import fcntl
except ImportError:  # not on Windows: runs there are not protected from sharing an output
    fcntl = None

OUTPUT_SUFFIXES = (".jsonl", ".csv", ".parquet")
CHUNK = 2000
STATE_FORMAT = 1
SYNC_RECORDS = 20_000  # the partial is fsynced and counted in its state once this many comments
SYNC_SECONDS = 1.0  # or this many seconds have passed since the last time: a kill loses no more


def chunked(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """Lists of at most `size` items, in order."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _columns_of(comments: Iterable, size: int) -> Iterator[Columns]:
    """Comments (anything with the fields of `_Row`) as blocks of at most `size`, read a block at a time."""
    for chunk in chunked(comments, size):
        yield Columns([c.id for c in chunk], [c.text for c in chunk], [c.article for c in chunk],
                      [c.number for c in chunk], [c.parent for c in chunk], [c.author for c in chunk])


def _rechunked(blocks: Iterable[Columns], size: int, skip: int = 0) -> Iterator[Columns]:
    """The comments of `blocks` after the first `skip`, in chunks of `size` (the last one may be
    smaller); a block is read only when the chunk before it is full."""
    pending: list[Columns] = []
    count = 0
    for block in blocks:
        n = len(block.ids)
        if skip >= n:
            skip -= n
            continue
        if skip:
            block, n, skip = _sliced(block, skip, n), n - skip, 0
        pending.append(block)
        count += n
        if count >= size:
            joined, start = _joined(pending), 0
            while count - start >= size:
                yield _sliced(joined, start, start + size)
                start += size
            pending = [_sliced(joined, start, count)] if start < count else []
            count -= start
    if pending:
        yield _joined(pending)


def _sliced(block: Columns, start: int, stop: int) -> Columns:
    """Comments `start` to `stop` of `block`."""
    if start == 0 and stop == len(block.ids):
        return block
    return Columns._make(None if column is None else column[start:stop] for column in block)


def _joined(blocks: list[Columns]) -> Columns:
    """The comments of `blocks` in one block."""
    if len(blocks) == 1:
        return blocks[0]
    columns = []
    for parts in zip(*blocks):
        if all(part is None for part in parts):
            columns.append(None)
        else:
            columns.append(list(itertools.chain.from_iterable(
                [None] * len(block.ids) if part is None else part for part, block in zip(parts, blocks))))
    return Columns._make(columns)


def score_files(model: Model, paths: Iterable[Path | str], out: Path | str, **options) -> Summary:
    """Score every comment of the input files and directories `paths` into `out`; see `score_to_file`.

    >>> score_files(load_model("models"), ["seeds"], "scores.jsonl", resume=True)  # doctest: +SKIP
    """
    from moderation.inputs import input_files, iter_columns

    files = input_files(paths)
    return _score(model, iter_columns(files), Path(out), source=describe_inputs(files), **options)


def describe_inputs(files: Iterable[Path]) -> list[dict]:
    """What `--resume` compares: each input's absolute path, size and modification time."""
    described = []
    for file in files:
        stat = Path(file).stat()
        described.append({"path": str(Path(file).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return described


def score_to_file(model: Model, comments: Iterable, out: Path, progress: bool | None = None,
                  workers: int = 1, model_dir: Path | None = None, *, scheduler: str | None = None,
                  resume: bool = False, source: object = None, chunk_size: int = CHUNK,
                  log: Callable[[str], None] | None = None) -> Summary:
    """Score every comment into `out` (.jsonl, .csv or .parquet); `out` appears only when complete.

    `source` describes the inputs (see `describe_inputs`); `resume=True` needs it and continues the
    partial output an interrupted run left, if it was made from the same inputs, model and software.
    An error in the inputs discards the partial (the input must change, so it could not be
    resumed); any other failure or an interruption keeps it for `resume=True`.
    """
    return _score(model, _columns_of(comments, max(chunk_size, 1)), Path(out), progress, workers, model_dir,
                  scheduler=scheduler, resume=resume, source=source, chunk_size=chunk_size, log=log)


def _score(model: Model, blocks: Iterable[Columns], out: Path, progress: bool | None = None, workers: int = 1,
           model_dir: Path | None = None, *, scheduler: str | None = None, resume: bool = False,
           source: object = None, chunk_size: int = CHUNK, log: Callable[[str], None] | None = None) -> Summary:
    """`score_to_file` of the comments of `blocks`."""
    if out.suffix not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {out}: unsupported output format {out.suffix!r}; use one of "
                         f"{', '.join(OUTPUT_SUFFIXES)}")
    if chunk_size < 1:
        raise InputError(f"--chunk-size: expected a positive number of comments, found {chunk_size}")
    if resume and source is None:
        raise ValueError("resume=True needs `source`, the description of the inputs to check")
    if scheduler and model_dir is None:
        raise ValueError("a Dask scheduler needs `model_dir`, the model directory the workers load")
    log = log or _stderr
    identity = {"output": out.name, "inputs": source, "model": _model_identity(model), "software": _software()}
    partial = _Partial(out, model.categories)
    summary = Summary()
    done = partial.open(identity, resume, log)
    bar = None
    try:
        for record in partial.read_back():
            summary.add(record)
        if sys.stderr.isatty() if progress is None else progress:
            from tqdm import tqdm

            bar = tqdm(unit=" comments", file=sys.stderr, dynamic_ncols=True, initial=done)
        chunks = _rechunked(blocks, chunk_size, skip=done)
        with _frozen_heap():
            for chunk in _scored_chunks(model, chunks, workers, model_dir, scheduler, out.suffix,
                                        partial.descriptors()):
                partial.append(chunk)
                summary.merge(chunk.summary)
                if bar is not None:
                    bar.update(chunk.count)
        partial.finish()
    except BaseException as exc:
        if isinstance(exc, ArchiveError) or not partial.written.records:
            partial.discard()  # the inputs must change (so it could not be resumed), or it holds nothing
        else:
            partial.keep()
        raise
    finally:
        partial.close()
        if bar is not None:
            bar.close()
    return summary


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the objects that exist as the run starts (the loaded model's, above all) out of the
    garbage collector's passes while it lasts, here and in the workers forked from here.

    Scoring makes and drops objects by the million, so full collections come often, and each
    walked the whole heap: 0.30 s of a 100,000-comment run on one worker, 0.085 s frozen. Left
    alone by the collector, a forked worker's copy of the heap also stays shared with this one.
    Objects a caller froze before stay frozen. The youngest generation is also collected after
    `_YOUNG` allocations instead of 700: what a chunk allocates lives until the chunk is written,
    so most of those collections found nothing to free.
    """
    thawed = gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], _YOUNG), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if thawed:
            gc.unfreeze()


_YOUNG = 20_000  # allocations between two collections of the youngest generation during a run


def partial_progress(out: Path | str) -> tuple[Path, int] | None:
    """(partial output, comments safely written) of an interrupted run into `out`, or None."""
    partial = _Partial(Path(out), [])
    state = partial.state()
    if state is None or not partial.path.exists():
        return None
    return partial.path, int(state.get("records", 0))


def _software() -> dict:
    """Versions of the code that turns a model's arrays into scores."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("moderation", "scikit-learn", "numpy", "scipy"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _model_identity(model: Model) -> dict:
    """The model's version and artifact checksum, as recorded on its card."""
    return {"version": model.version, "sha256": (model.card.get("files") or {}).get(ARTIFACT)}


# ── the partial output ──────────────────────────────────────────────────────────────────────


class _Written(NamedTuple):
    """How much of a partial output is written: comments, and bytes (JSONL, CSV) or row-group files (Parquet)."""

    records: int
    size: int


class _Partial:
    """`.NAME.partial` (a file, or a directory of row-group files for Parquet) and its JSON state."""

    def __init__(self, out: Path, categories: list[str]) -> None:
        self.out, self.suffix, self.categories = out, out.suffix, categories
        self.path = out.with_name(f".{out.name}.partial")
        self.state_path = out.with_name(f".{out.name}.partial.json")
        self.columns = record_columns(categories)
        self.fh: IO | None = None
        self.lock_fd: int | None = None
        self.written = self.synced = _Written(0, 0)  # complete chunks written; those the state counts
        self.synced_at = time.monotonic()

    # state

    def state(self) -> dict | None:
        """The recorded state, or None if there is none (or it is unreadable)."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and state.get("state") == STATE_FORMAT else None

    def _save_state(self, written: _Written) -> None:
        """Atomically replace the state; called only once the data it counts is fsynced."""
        state = dict(self.identity, state=STATE_FORMAT, records=written.records, size=written.size)
        tmp = self._state_tmp()
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)

    def _state_tmp(self) -> Path:
        return self.state_path.with_name(self.state_path.name + ".tmp")

    # opening

    def open(self, identity: dict, resume: bool, log: Callable[[str], None]) -> int:
        """Start a new partial or continue the recorded one; the number of comments already written."""
        self.identity = identity
        self.out.parent.mkdir(parents=True, exist_ok=True)
        state = self.state()
        exists = self.path.exists()
        if exists:
            self._lock()
        if resume and state is not None and exists:
            try:
                _check_same(state, identity, self.path)
                self.written = self.synced = _Written(int(state["records"]), int(state["size"]))
                self._reopen()
            except BaseException:
                self.close()
                raise
            records = self.written.records
            log(f"resuming {self.path}: {records} comments already scored; continuing from comment {records + 1}")
            return records
        if resume:
            log(f"nothing to resume for {self.out} (no partial output from an interrupted run): "
                "scoring from the first comment")
        elif exists:
            counted = f" with {state['records']} comments" if state else ""
            log(f"replacing the partial output of an earlier run ({self.path}{counted}); "
                "use --resume to continue it instead")
        self.discard()
        self._create()
        return 0

    def _lock(self) -> None:
        """Hold an exclusive lock on the partial for the whole run: two runs must not share it."""
        if self.lock_fd is not None or fcntl is None:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"{self.out}: another `moderation score` is writing it right now "
                             f"({self.path} is locked); wait for it or choose another --out") from None
        self.lock_fd = fd

    def _unlock(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def _create(self) -> None:
        if self.suffix == ".parquet":
            self.path.mkdir()
        else:
            self.fh = open(self.path, "wb")
            if self.suffix == ".csv":
                header = io.StringIO(newline="")
                csv.writer(header).writerow(self.columns)
                self.written = _Written(0, self.fh.write(header.getvalue().encode("utf-8")))
        self._lock()
        self.sync()

    def _reopen(self) -> None:
        """Cut the partial back to what the state counts, and open it for appending."""
        size = self.written.size
        if self.suffix == ".parquet":
            keep = {_part_name(i) for i in range(size)}
            missing = keep - {p.name for p in self.path.iterdir()}
            if missing:
                raise InputError(f"cannot resume {self.out}: {self.path} lacks {min(missing)}, which the "
                                 "state counts; run without --resume to start over")
            for stray in self.path.iterdir():  # parts written after the last state, temporary files
                if stray.name not in keep:
                    stray.unlink()
            return
        actual = self.path.stat().st_size
        if actual < size:
            raise InputError(f"cannot resume {self.out}: {self.path} has {actual} bytes, fewer than the "
                             f"{size} its state counts (was it changed?); run without --resume to start over")
        os.truncate(self.path, size)
        self.fh = open(self.path, "ab")

    # writing

    def append(self, chunk: ScoredChunk) -> None:
        """Write one scored chunk; `sync` counts it in the state once `SYNC_RECORDS` comments or
        `SYNC_SECONDS` have passed since the last one (100 chunks of 2,000 records written with
        an fsync and a state each took 0.7-1.4 s, the parent waiting; without, 0.13-0.18 s)."""
        written = self.written
        if self.suffix == ".parquet":
            part = self.path / _part_name(written.size)
            tmp = part.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                fh.write(chunk.payload)
            os.replace(tmp, part)
            size = written.size + 1
        else:
            self.fh.write(chunk.payload)
            size = written.size + len(chunk.payload)
        self.written = _Written(written.records + chunk.count, size)  # one assignment: an interrupt cannot split it
        if (self.written.records - self.synced.records >= SYNC_RECORDS
                or time.monotonic() - self.synced_at >= SYNC_SECONDS):
            self.sync()

    def sync(self) -> None:
        """fsync what is written, then count it in the state."""
        written = self.written
        if self.fh is not None:
            self.fh.flush()
            os.fsync(self.fh.fileno())
        elif self.suffix == ".parquet":
            for i in range(self.synced.size, written.size):
                fsync_path(self.path / _part_name(i))
            fsync_path(self.path)  # the state will count these parts: their names must survive a power cut
        self._save_state(written)
        self.synced, self.synced_at = written, time.monotonic()

    def keep(self) -> None:
        """Count every chunk written in the state, as the run stops (interrupted, or failed other than
        in its inputs), so that `--resume` scores none of them again. If the disk is what failed,
        the state stays as it was."""
        if self.written != self.synced:
            with contextlib.suppress(OSError):
                self.sync()

    def finish(self) -> None:
        """Put the complete output in place and remove the partial and its state."""
        if self.written != self.synced:
            self.sync()  # also the fsync that makes the output whole before it is put in place
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            with atomic_write(self.out, "wb") as fh:
                with pq.ParquetWriter(fh, parquet_schema(self.categories), compression="zstd") as writer:
                    for i in range(self.written.size):
                        writer.write_table(pq.read_table(self.path / _part_name(i), schema=writer.schema))
            shutil.rmtree(self.path)
        else:
            self.fh.close()
            self.fh = None
            os.replace(self.path, self.out)
        fsync_path(self.out.parent)
        self.state_path.unlink(missing_ok=True)

    def descriptors(self) -> tuple[int, ...]:
        """The open file descriptors: the partial output's and its lock's."""
        return tuple(fd for fd in (self.fh.fileno() if self.fh is not None else None, self.lock_fd) if fd is not None)

    def close(self) -> None:
        """Release the file and the lock; the partial stays for --resume."""
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        self._unlock()

    def discard(self) -> None:
        """Remove the partial and its state."""
        self.close()
        if self.path.is_dir():
            shutil.rmtree(self.path)
        else:
            self.path.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        self._state_tmp().unlink(missing_ok=True)

    # reading back (the summary of a resumed run counts what the first run wrote)

    def read_back(self) -> Iterator[dict]:
        """The records already in the partial, as record dicts (enough for `Summary.add`)."""
        if not self.written.records:
            return
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            for i in range(self.written.size):
                yield from pq.read_table(self.path / _part_name(i)).to_pylist()
            return
        with open(self.path, encoding="utf-8", newline="") as fh:
            if self.suffix == ".jsonl":
                yield from map(json.loads, fh)
                return
            for row in csv.DictReader(fh):
                row["decision"] = row["decision"] or None
                row["violations"], row["review"] = row["violations"].split(), row["review"].split()
                yield row


def _part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def _check_same(state: dict, identity: dict, partial: Path) -> None:
    """Refuse to resume when the inputs or the model differ from the interrupted run's."""
    fix = f"run without --resume to start over (this replaces {partial})"
    was, now = state.get("model") or {}, identity["model"]
    if was != now:
        raise ModelError(f"cannot resume: the partial output was scored with model {was.get('version')}, this run "
                         f"uses {now['version']}; pass --model with that version or {fix}")
    if state.get("software") != identity["software"]:
        was = state.get("software") or {}
        changed = [f"{k} {was.get(k)} → {v}" for k, v in identity["software"].items() if was.get(k) != v]
        raise InputError(f"cannot resume: the software changed since the interrupted run ({', '.join(changed)}); "
                         f"scores could differ from those already written; {fix}")
    before, after = state.get("inputs"), identity["inputs"]
    if before == after:
        return
    if not (isinstance(before, list) and isinstance(after, list)):
        raise InputError(f"cannot resume: the inputs differ from the interrupted run's; {fix}")
    paths_before, paths_after = [i.get("path") for i in before], [i.get("path") for i in after]
    if paths_before != paths_after:
        raise InputError(f"cannot resume: the interrupted run read {', '.join(map(str, paths_before))}; this run "
                         f"reads {', '.join(map(str, paths_after))}; give the same inputs or {fix}")
    changed = [a["path"] for a, b in zip(after, before) if a != b]
    raise InputError(f"cannot resume: {', '.join(changed)} changed since the interrupted run (size or "
                     f"modification time); {fix}")


# ── scoring chunks: here, on joblib processes, or on a Dask cluster ─────────────────────────


def _scored_chunks(model: Model, chunks: Iterable[Columns], workers: int, model_dir: Path | None,
                   scheduler: str | None = None, suffix: str = ".jsonl",
                   inherited: tuple[int, ...] = ()) -> Iterator[ScoredChunk]:
    """Chunks scored in input order: here, on `workers` local processes, or on a Dask cluster.

    Local workers are forked from this process where the platform allows it, so they score with
    the model already loaded here (nothing to import or load: they start at once); elsewhere
    they are joblib's (loky) processes, which load the model from `model_dir` once each.
    `inherited` are file descriptors a forked worker closes (the partial output and its lock).
    Workers are sent a chunk's columns (lists of strings pickle quicker than anything else) and
    make its `_Row`s themselves.
    """
    if scheduler:
        yield from _dask_chunks(chunks, str(model_dir), scheduler, suffix)
    elif workers == 1 or (model_dir is None and not FORK):
        for chunk in chunks:
            yield score_chunk(model, _rows(chunk), suffix)
    elif FORK:
        yield from _forked_chunks(model, chunks, workers, suffix, inherited)
    else:
        submit = functools.partial(_local_pool(workers).submit, _score_in_worker, str(model_dir))
        yield from _in_order(lambda chunk: submit(chunk, suffix), chunks, 2 * workers)


class _Row(NamedTuple):
    """A comment as `score_chunk` reads it: the fields its record needs."""

    id: str
    article: str | None
    number: int | None
    parent: str | None
    author: str | None
    text: str


def _rows(chunk: Columns) -> list[_Row]:
    """The comments of a chunk as `_Row`s, each made in C (`tuple.__new__`, not `_Row(...)`)."""
    nones = itertools.repeat(None)
    archive = [nones if column is None else column
               for column in (chunk.articles, chunk.numbers, chunk.parents, chunk.authors)]
    return list(map(tuple.__new__, itertools.repeat(_Row), zip(chunk.ids, *archive, chunk.texts)))


def _forked_chunks(model: Model, chunks: Iterable[Columns], workers: int, suffix: str,
                   inherited: tuple[int, ...]) -> Iterator[ScoredChunk]:
    """Chunks scored on `workers` processes forked from this one, which share its loaded model."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED_MODEL
    _FORKED_MODEL = model
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start_forked, initargs=(inherited, os.getpid()))
    try:
        with _interrupts_held():  # every worker forked now: see `_interrupts_held`
            pool.submit(int).result()
        yield from _in_order(lambda chunk: pool.submit(_score_forked, chunk, suffix), chunks, 2 * workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _FORKED_MODEL = None


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl+C (SIGINT) back until the block is done, then let it in.

    The pool forks all its workers on its first task. A KeyboardInterrupt raised between a fork
    and the pool's noting the new worker leaves a worker it never stops: the shutdown then waits
    for it for ever, and so does the interpreter's exit (a run stopped in its first second hung).
    """
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _local_pool(workers: int):
    """joblib's reusable loky executor: its processes outlive a run, so each loads the model once."""
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=workers)


def _in_order(submit: Callable, chunks: Iterable[Columns], in_flight: int) -> Iterator[ScoredChunk]:
    """Chunks scored as tasks (`submit(chunk)` returns a future), results in input order, at most
    `in_flight` chunks submitted or unread.

    The bound is what keeps memory flat when writing is slower than scoring (joblib's own
    `Parallel` keeps dispatching as tasks finish, whether or not their results are consumed).
    """
    window: deque = deque()
    try:
        for chunk in chunks:
            window.append(submit(chunk))
            if len(window) >= in_flight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        for future in window:
            future.cancel()


def _dask_chunks(chunks: Iterable[Columns], model_dir: str, scheduler: str, suffix: str) -> Iterator[ScoredChunk]:
    """Chunks scored as tasks on a Dask cluster, two per worker thread in flight, in input order.

    Workers load the model from `model_dir` (checksums verified) once per process, so the path
    must be readable on every worker: a shared file system, or the same path on each machine.
    """
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs Dask: install the extra with "
                         "pip install 'moderation[dask]' (or pip install 'dask[distributed]')") from None
    try:
        client = Client(scheduler, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler: {exc}") from None
    with client:
        threads = sum(client.nthreads().values())
        if not threads:
            raise InputError(f"--scheduler {scheduler}: the cluster has no workers")
        problems = {w: p for w, p in client.run(_load_in_worker, model_dir).items() if p}
        if problems:
            worker, problem = next(iter(problems.items()))
            raise ModelError(f"Dask worker {worker} cannot load the model: {problem} (the model directory "
                             f"must be readable at the same path on every worker)")
        submit = functools.partial(client.submit, _score_in_worker, model_dir, pure=False)  # a task per chunk
        yield from _in_order(lambda chunk: submit(chunk, suffix), chunks, 2 * threads)


# Local workers are forked where the platform can (not Windows, and not macOS, whose system
# libraries do not survive a fork): they inherit `_FORKED_MODEL`, set just before the fork.
FORK = sys.platform.startswith("linux")
_FORKED_MODEL: Model | None = None


def _start_forked(fds: tuple[int, ...], parent: int) -> None:
    """Runs in a forked worker as it starts: end with the parent (`_end_with_parent`), let go of its
    partial output and its lock, and leave Ctrl+C to it (it stops the run between chunks and keeps
    the partial)."""
    _end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _end_with_parent(parent: int) -> None:
    """Have Linux kill this process when its parent dies (`prctl(PR_SET_PDEATHSIG, SIGKILL)`).

    A worker waits for tasks on a pipe that it holds open itself, so it would never learn that a
    parent killed with SIGKILL (or by the out-of-memory killer) is gone, and would stay, holding
    its copy of the model, for ever. If the parent died before this call, exit at once.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _score_forked(chunk: Columns, suffix: str) -> ScoredChunk:
    """Runs in a forked worker: score a chunk with the model inherited from the parent."""
    return score_chunk(_FORKED_MODEL, _rows(chunk), suffix)


_WORKER_MODELS: dict[str, Model] = {}
_WORKER_LOADS: Counter = Counter()  # model loads in this process, by directory: 1 each
_WORKER_LOCK = threading.Lock()  # a Dask worker may run several tasks on threads


def _worker_model(model_dir: str) -> Model:
    """The model in `model_dir`, loaded once per worker process."""
    from moderation.model import load_model

    with _WORKER_LOCK:
        model = _WORKER_MODELS.get(model_dir)
        if model is None:
            model = _WORKER_MODELS[model_dir] = load_model(model_dir, explain=False)
            _WORKER_LOADS[model_dir] += 1
    return model


def _score_in_worker(model_dir: str, chunk: Columns, suffix: str) -> ScoredChunk:
    """Runs in a worker process: score a chunk with the process's model into its output bytes."""
    return score_chunk(_worker_model(model_dir), _rows(chunk), suffix)


def _load_in_worker(model_dir: str) -> str | None:
    """Runs on every Dask worker before the first task: load the model; the problem, if any."""
    try:
        _worker_model(model_dir)
    except ModerationError as exc:
        return str(exc)
    return None
