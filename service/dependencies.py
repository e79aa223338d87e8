"""What handlers receive through `Depends`: the served model, and the API-key check."""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from pathlib import Path

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery
from starlette.concurrency import run_in_threadpool

from moderation.errors import ModerationError
from moderation.model import CARD, Model, load_model, resolve_model_dir
from service.errors import ApiError
from service.settings import Settings

logger = logging.getLogger("service")


class ModelHolder:
    """The model being served; `swap` replaces it for every later request (hot reload).

    Handlers take the reference once per request (`get_model`), so a swap never changes the model
    under a request in flight: it finishes on the model it started with.

    >>> holder = ModelHolder()
    >>> holder.model is None
    True
    """

    def __init__(self, model: Model | None = None) -> None:
        self._state: tuple[Model | None, Path | None] = (model, None)
        self._lock = threading.Lock()
        self._failed: tuple[Path, float] | None = None  # a version whose load failed, and its card's mtime
        self._last_error = ""

    @property
    def model(self) -> Model | None:
        """The current model, or None before start-up and after shutdown."""
        return self._state[0]

    @property
    def source(self) -> Path | None:
        """The resolved directory the current model was loaded from (None when it was handed over in memory)."""
        return self._state[1]

    def swap(self, model: Model | None, source: Path | None = None) -> Model | None:
        """Serve `model` (loaded from `source`) from now on; return the previous one."""
        with self._lock:
            previous, self._state = self._state[0], (model, source)
        return previous

    def reload_if_changed(self, model_dir: str | Path) -> bool:
        """Load and serve the model `model_dir` resolves to now, unless it is already served (blocking).

        The new model is loaded completely (checksums verified) before the swap; on any error the
        served model stays and the error is raised. A version that failed to load is not retried
        until its card changes.
        """
        target = resolve_model_dir(model_dir)
        if target == self.source:
            return False
        stamp = (target, _mtime(target / CARD))
        if stamp == self._failed:
            return False
        try:
            model = load_model(target)
        except ModerationError:
            self._failed = stamp
            raise
        self._failed = None
        self.swap(model, target)
        return True

    async def watch(self, model_dir: str | Path, interval: float) -> None:
        """Every `interval` seconds, reload if `model_dir` (e.g. `models/current`) points at another version.

        Runs until cancelled. Loading happens off the event loop; a failure is logged (once per
        distinct error) and the old model keeps serving.
        """
        while True:
            await asyncio.sleep(interval)
            served = self.model.version if self.model is not None else "none"
            try:
                changed = await run_in_threadpool(self.reload_if_changed, model_dir)
            except Exception as exc:  # keep serving the old model whatever went wrong with the new one
                message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ModerationError) else str(exc)
                if message != self._last_error:
                    logger.error("hot reload failed; still serving model %s: %s", served, message,
                                 exc_info=not isinstance(exc, ModerationError))
                self._last_error = message
                continue
            self._last_error = ""
            if changed:
                logger.info("hot reload: now serving model %s from %s (was %s)", self.model.version, self.source,
                            served)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# The dependencies are `async def` although they never wait: FastAPI runs a plain `def`
# dependency on its thread pool, a hop that costs more than what they do.


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_model(request: Request) -> Model:
    """The model to use for this whole request (one read of the holder, so a swap never mixes models)."""
    model = request.app.state.models.model
    if model is None:
        raise ApiError(503, "model_unavailable", "no model is loaded; the service is starting or stopping")
    return model


_header_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="API key (required when the service is configured with keys).")
_query_key = APIKeyQuery(name="key", auto_error=False, description="API key, as a query parameter.")


async def require_api_key(
    settings: Settings = Depends(get_settings),
    header: str | None = Security(_header_key),
    query: str | None = Security(_query_key),
) -> None:
    """Pass when no keys are configured, or when `X-API-Key` or `?key=` matches one; 401 otherwise."""
    check_api_key(settings, header, query)


def check_api_key(settings: Settings, header: str | None, query: str | None) -> None:
    """`require_api_key`'s check: pass when no keys are configured or one matches; 401 otherwise."""
    if not settings.api_keys:
        return
    given = header if header is not None else query
    if not given:
        raise ApiError(401, "unauthorized",
                       "an API key is required: send it in the X-API-Key header or the key query parameter",
                       "X-API-Key")
    candidate = given.encode("utf-8", "surrogateescape")
    matched = False
    for key in settings.api_keys:  # no early exit: the time taken does not depend on which key matched
        matched |= hmac.compare_digest(candidate, key.encode("ascii"))
    if not matched:
        raise ApiError(401, "unauthorized", "the API key is not valid", "X-API-Key")
