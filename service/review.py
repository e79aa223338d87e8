"""The review queue: the archive's comments, scored by the served model, the most urgent first.

Where the comments come from (`Settings.queue_files`; `MODERATION_QUEUE_INPUT`, `MODERATION_QUEUE_FILE`):

* inputs that `moderation score` reads: the seeds directory, archive pages (`.txt`), JSON Lines of
  `{"id", "text"}`, CSV with `id,text` columns; every comment with text is queued;
* a `moderation score` output (`.jsonl`, records with `scores` and `decision`): it chooses which
  comments are queued and adds their archive fields. It holds no text, so the inputs it was scored
  from must be given too (the text is joined by id);
* `POST /v1/review/queue`, which adds comments while the service runs.

The served model scores every queued text in memory, at start-up and again whenever the served
model changes, so that scores, decision and highlights on the page all come from one model.

Order (`rank` and `review_order`), the most urgent first:

1. lane `likely`, comments the model rejects, by descending confidence: the highest score among
   their violations (a reject word-list hit counts as 1.0);
2. lane `uncertain`, comments sent to review, by descending uncertainty: `1 − 2·|p − 0.5|` for the
   most uncertain of their review categories (a review word-list hit counts as 1.0);

   the two lanes are interleaved, one comment of each in turn, starting with `likely`, so that
   both the most likely violations and the most uncertain comments are at the top; when one lane
   runs out the other continues;
3. lane `allow`, everything else, by descending highest score (the closest to review first).

Ties keep queue order. A comment whose id appears in the feedback files (`Settings.feedback_dir`,
`*.jsonl`, where `POST /v1/labels` stores moderators' decisions) has been decided and is left out.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import chain, zip_longest
from pathlib import Path
from typing import AsyncIterator, Iterable, Mapping, Sequence

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from moderation.archive import Comment
from moderation.errors import ArchiveError, InputError
from moderation.inputs import iter_comments
from moderation.model import Model
from moderation.policy import Decision
from service.dependencies import get_model, get_settings, require_api_key
from service.errors import ApiError
from service.schemas import QueueItem, QueuePage, QueueRequest, QueueUpdate, SpanOut
from service.settings import Settings

logger = logging.getLogger("service")
LANES = ("likely", "uncertain", "allow")
_CHUNK = 2000


@dataclass(frozen=True)
class Rank:
    """A comment's place in the queue: its lane, and its priority within the lane (higher first)."""

    lane: str
    priority: float


def rank(decision: Decision, scores: Mapping[str, float], thresholds: Mapping[str, Mapping[str, float]]) -> Rank:
    """The lane and priority of one scored comment (see the module docstring).

    >>> from moderation.policy import Decision
    >>> rank(Decision("review", [], ["threat"], []), {"threat": 0.55}, {"threat": {"review": 0.4, "reject": 0.85}})
    Rank(lane='uncertain', priority=0.9)
    """
    if decision.violations:
        return Rank("likely", round(max(
            scores[c] if scores[c] >= thresholds[c]["reject"] else 1.0 for c in decision.violations), 6))
    if decision.review:
        return Rank("uncertain", round(max(
            1.0 - 2.0 * abs(scores[c] - 0.5) if scores[c] >= thresholds[c]["review"] else 1.0
            for c in decision.review), 6))
    return Rank("allow", round(max(scores.values(), default=0.0), 6))


def review_order(ranks: Sequence[Rank]) -> list[int]:
    """Indices of `ranks` in review order: lanes `likely` and `uncertain` interleaved, then `allow`.

    >>> review_order([Rank("allow", 0.3), Rank("uncertain", 0.9), Rank("likely", 0.9), Rank("likely", 1.0)])
    [3, 1, 2, 0]
    """
    lanes = {lane: sorted((i for i, r in enumerate(ranks) if r.lane == lane), key=lambda i: -ranks[i].priority)
             for lane in LANES}
    head = [i for i in chain.from_iterable(zip_longest(lanes["likely"], lanes["uncertain"])) if i is not None]
    return head + lanes["allow"]


class ReviewQueue:
    """The queued comments (insertion-ordered, unique ids) and their scores under one model; thread-safe."""

    def __init__(self, comments: Iterable[Comment] = ()) -> None:
        self._lock = threading.Lock()
        self._comments: dict[str, Comment] = {}
        self._model: Model | None = None
        self._scored: dict[str, tuple[dict[str, float], Decision]] = {}
        self._ordered: list[tuple[Comment, Rank]] | None = None
        self._feedback: dict[Path, tuple[int, int, frozenset[str]]] = {}
        self.add(comments)

    def __len__(self) -> int:
        return len(self._comments)

    def add(self, comments: Iterable[Comment]) -> tuple[int, int]:
        """Queue `comments`; an id already queued gets the new text. Returns (added, replaced)."""
        added = replaced = 0
        with self._lock:
            for comment in comments:  # a replaced comment keeps its place
                if comment.id in self._comments:
                    replaced += 1
                    self._scored.pop(comment.id, None)
                else:
                    added += 1
                self._comments[comment.id] = comment
            self._ordered = None
        return added, replaced

    def ranked(self, model: Model) -> list[tuple[Comment, Rank]]:
        """Every scorable queued comment with its rank, in review order; scores what `model` has not seen."""
        with self._lock:
            if model is not self._model:
                self._model, self._ordered = model, None
                self._scored.clear()
            todo = [c for c in self._comments.values() if c.id not in self._scored]
            if todo:
                self._score(model, todo)
            if self._ordered is None:
                queued = [c for c in self._comments.values() if c.id in self._scored]
                ranks = [rank(self._scored[c.id][1], self._scored[c.id][0], model.thresholds) for c in queued]
                self._ordered = [(queued[i], ranks[i]) for i in review_order(ranks)]
            return list(self._ordered)

    def _score(self, model: Model, comments: list[Comment]) -> None:
        scorable = []
        for comment in comments:
            try:
                model.check_text(comment.text)
            except InputError as exc:
                logger.warning("review queue: %s not queued: %s", comment.id, exc)
                del self._comments[comment.id]
            else:
                scorable.append(comment)
        for start in range(0, len(scorable), _CHUNK):
            chunk = scorable[start:start + _CHUNK]
            for comment, a in zip(chunk, model.assess([c.text for c in chunk], explain=False)):
                self._scored[comment.id] = (a.scores, a.decision)
        self._ordered = None

    def decided(self, feedback_dir: str | Path) -> frozenset[str]:
        """Ids with a moderator's decision in `feedback_dir/*.jsonl` (each file re-read only when it changes)."""
        ids: set[str] = set()
        for path in sorted(Path(feedback_dir).glob("*.jsonl")):
            stat = path.stat()
            cached = self._feedback.get(path)
            if cached is None or cached[:2] != (stat.st_mtime_ns, stat.st_size):
                cached = self._feedback[path] = (stat.st_mtime_ns, stat.st_size, _feedback_ids(path))
            ids |= cached[2]
        return frozenset(ids)


def _feedback_ids(path: Path) -> frozenset[str]:
    """The `id` of every record in one feedback file; a line that cannot be read is logged and skipped."""
    ids = set()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError):
                logger.warning("%s:%d: not a feedback record with an id; it does not hide a queued comment",
                               path, line_no)
    return frozenset(ids)


def load_queue(paths: Iterable[str | Path]) -> list[Comment]:
    """The comments to queue from inputs and `moderation score` outputs (see the module docstring)."""
    inputs: list[Path] = []
    outputs: list[Path] = []
    for path in map(Path, paths):
        (outputs if _is_score_output(path) else inputs).append(path)
    texts: dict[str, Comment] = {}
    for comment in iter_comments(inputs) if inputs else ():
        if comment.id in texts:
            raise ArchiveError(f"queue input: comment id {comment.id!r} appears twice; ids must be unique "
                               "across MODERATION_QUEUE_INPUT")
        texts[comment.id] = comment
    if not outputs:
        return [c for c in texts.values() if c.text.strip()]
    queued: list[Comment] = []
    for path in outputs:
        missing = 0
        records = [r for r in _score_records(path) if r.get("decision") is not None]
        for record in records:
            comment = _joined(record, texts.get(str(record["id"])))
            if comment is None:
                missing += 1
            elif comment.text.strip():
                queued.append(comment)
        if records and missing == len(records):
            raise ArchiveError(f"{path}: a `moderation score` output holds no text, and none of its {missing} ids "
                               "is in the queue inputs; set MODERATION_QUEUE_INPUT to the input it was scored from")
        if missing:
            logger.warning("review queue: %d of %d comments in %s have no text in the queue inputs; not queued",
                           missing, len(records), path)
    return queued


def _is_score_output(path: Path) -> bool:
    """True for a `.jsonl` file whose first record has `scores` and `decision` (a `moderation score` output)."""
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    first = json.loads(line)
                except ValueError:
                    return False
                return isinstance(first, dict) and "scores" in first and "decision" in first
    return False


def _score_records(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ArchiveError(f"{path}:{line_no}: not valid JSON: {exc}") from None
            if not isinstance(record, dict) or record.get("id") is None:
                raise ArchiveError(f"{path}:{line_no}: id: missing; expected a `moderation score` record")
            yield record


def _joined(record: dict, source: Comment | None) -> Comment | None:
    """A score-output record with its text (from the record, or else from the input comment)."""
    text = record["text"] if isinstance(record.get("text"), str) else source.text if source else None
    if text is None:
        return None
    known = {key: getattr(source, key) if source else None for key in ("article", "number", "parent", "author")}
    known.update({key: record[key] for key in known if record.get(key) is not None})
    if not isinstance(known["number"], int) or isinstance(known["number"], bool):
        known["number"] = None
    return Comment(id=str(record["id"]), position=source.position if source else 0, text=text, **known)


# ------------------------------------------------------------------ HTTP


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Read the queue's sources and score them with the served model before the first request."""
    settings: Settings = app.state.settings
    queue = ReviewQueue()
    if settings.queue_files:
        try:
            queue.add(await run_in_threadpool(load_queue, settings.queue_files))
        except ArchiveError as exc:
            logger.error("cannot start: review queue: %s", exc)
            raise
        model = app.state.models.model
        if model is not None:
            await run_in_threadpool(queue.ranked, model)
        logger.info("review queue: %d comments from %s", len(queue), ", ".join(settings.queue_files))
    app.state.review_queue = queue
    yield


router = APIRouter(prefix="/v1/review", tags=["review"], lifespan=_lifespan,
                   dependencies=[Depends(require_api_key)])


def get_queue(request: Request) -> ReviewQueue:
    """The app's review queue (created at start-up)."""
    queue = getattr(request.app.state, "review_queue", None)
    if queue is None:
        raise ApiError(503, "model_unavailable", "the review queue is not loaded; the service is starting or stopping")
    return queue


@router.get("/queue", response_model=QueuePage, summary="The comments waiting for a moderator")
def queue_page(
    limit: int = Query(20, ge=1, le=100, description="Comments per page (1–100)."),
    offset: int = Query(0, ge=0, description="Comments to skip (0 = the most urgent)."),
    model: Model = Depends(get_model),
    queue: ReviewQueue = Depends(get_queue),
    settings: Settings = Depends(get_settings),
) -> QueuePage:
    """Queued comments without a moderator's decision, the most urgent first.

    Lanes `likely` (rejected, by descending confidence) and `uncertain` (sent to review, by
    descending uncertainty 1 − 2·|p − 0.5|) are interleaved, one of each in turn; then `allow`,
    by descending highest score. Comments with a decision in the feedback files are left out.
    """
    decided = queue.decided(settings.feedback_dir)
    ranked = queue.ranked(model)
    waiting = [(c, r) for c, r in ranked if c.id not in decided]
    page = waiting[offset:offset + limit]
    assessments = model.assess([c.text for c, _ in page]) if page else []
    items = [
        QueueItem(
            id=c.id, text=c.text, article=c.article, number=c.number, parent=c.parent, author=c.author,
            model=model.version, scores=a.scores, decision=a.decision.decision, violations=a.decision.violations,
            review=a.decision.review, reasons=a.decision.reasons, lane=r.lane, priority=r.priority,
            spans=[SpanOut(start=s.start, end=s.end, category=s.category, weight=s.weight, text=s.text,
                           source=s.source) for s in a.spans],
        )
        for (c, r), a in zip(page, assessments)
    ]
    return QueuePage(model=model.version, total=len(waiting), decided=len(ranked) - len(waiting),
                     offset=offset, limit=limit, items=items)


@router.post("/queue", response_model=QueueUpdate, summary="Add comments to the review queue")
def queue_add(body: QueueRequest, model: Model = Depends(get_model),
              queue: ReviewQueue = Depends(get_queue)) -> QueueUpdate:
    """Score up to the policy's `max_batch` comments and queue them; an id already queued gets the new text."""
    if len(body.comments) > model.policy.max_batch:
        raise ApiError(413, "batch_too_large", f"comments: {len(body.comments)} comments; a request holds at most "
                       f"{model.policy.max_batch}", "comments")
    seen: dict[str, int] = {}
    for i, c in enumerate(body.comments):
        if seen.setdefault(c.id, i) != i:
            raise ApiError(422, "duplicate_id", f"comments[{i}].id: {c.id!r} is also comments[{seen[c.id]}].id",
                           f"comments[{i}].id")
        try:
            model.check_text(c.text, f"comments[{i}].text")
        except InputError as exc:
            too_long = len(c.text) > model.policy.max_chars
            raise ApiError(413 if too_long else 422, "text_too_long" if too_long else "invalid_text", str(exc),
                           f"comments[{i}].text") from None
    added, replaced = queue.add(Comment(id=c.id, article=None, number=None, position=0, parent=None, author=None,
                                        text=c.text) for c in body.comments)
    queue.ranked(model)
    return QueueUpdate(added=added, replaced=replaced, queued=len(queue))
