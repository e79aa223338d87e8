"""`POST /v1/score` without waiting on each other: comments that arrive together are scored together.

Scoring one comment costs mostly fixed per-call work (normalise, featurise, four dot products,
calibrate), so the comments of concurrent requests are gathered into one `Model.assess` call.
Nothing waits on purpose: a lone request is scored at once; while a call runs, the requests that
arrive meanwhile queue up and form the next call. The calls run on the event loop itself (they
hold the GIL anyway), which spares each request a hop through the thread pool.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

from moderation.model import Assessment, Model

MAX_GATHER = 64  # comments per call at most: a queue of long comments must not hold the loop for long
MAX_YIELDS = 8  # loop turns to let requests that are being read join the call


class CoalescingScorer:
    """Scores single comments for concurrent requests, one `Model.assess` call per gathering.

    >>> scorer = CoalescingScorer()
    >>> assessment = await scorer.assess(model, "You are a disgrace")  # doctest: +SKIP
    """

    def __init__(self, max_gather: int = MAX_GATHER) -> None:
        self.max_gather = max_gather
        self._pending: list[tuple[Model, str, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    async def assess(self, model: Model, text: str) -> Assessment:
        """The assessment of `text` (already checked) by `model`, with evidence spans."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((model, text, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        """Score what is pending, in arrival order, until nothing is."""
        while self._pending:
            for _ in range(MAX_YIELDS):  # let requests already on their way join this call
                waiting = len(self._pending)
                await asyncio.sleep(0)
                if len(self._pending) == waiting or waiting >= self.max_gather:
                    break
            batch, self._pending = self._pending[: self.max_gather], self._pending[self.max_gather :]
            for model, group in _by_model(batch):
                _score(model, group)


def _by_model(batch: list) -> list[tuple[Model, list]]:
    """The batch split by model, in order: a hot reload may swap the model between requests."""
    groups: list[tuple[Model, list]] = []
    for item in batch:
        if groups and groups[-1][0] is item[0]:
            groups[-1][1].append(item)
        else:
            groups.append((item[0], [item]))
    return groups


def _score(model: Model, group: Sequence[tuple[Model, str, asyncio.Future]]) -> None:
    """One `assess` call for the group; an error goes to every request of the call."""
    live = [item for item in group if not item[2].done()]  # a request may have been cancelled
    if not live:
        return
    try:
        assessments = model.assess([text for _, text, _ in live])
    except Exception as exc:  # noqa: BLE001 - each request reports it (CatchAllMiddleware logs it)
        if len(live) > 1:  # score them one by one, so that only the comment at fault fails
            for item in live:
                _score(model, [item])
            return
        for _, _, future in live:
            if not future.done():
                future.set_exception(exc)
        return
    for (_, _, future), assessment in zip(live, assessments):
        if not future.done():
            future.set_result(assessment)
