"""What handlers receive through `Depends`: the served model, and the API-key check."""

from __future__ import annotations

import hmac
import threading

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery

from moderation.model import Model
from service.errors import ApiError
from service.settings import Settings


class ModelHolder:
    """The model being served; `swap` replaces it for every later request (hot reload).

    >>> holder = ModelHolder()
    >>> holder.model is None
    True
    """

    def __init__(self, model: Model | None = None) -> None:
        self._model = model
        self._lock = threading.Lock()

    @property
    def model(self) -> Model | None:
        """The current model, or None before start-up and after shutdown."""
        return self._model

    def swap(self, model: Model | None) -> Model | None:
        """Serve `model` from now on; return the previous one."""
        with self._lock:
            previous, self._model = self._model, model
        return previous


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_model(request: Request) -> Model:
    """The model to use for this whole request (one read of the holder, so a swap never mixes models)."""
    model = request.app.state.models.model
    if model is None:
        raise ApiError(503, "model_unavailable", "no model is loaded; the service is starting or stopping")
    return model


_header_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="API key (required when the service is configured with keys).")
_query_key = APIKeyQuery(name="key", auto_error=False, description="API key, as a query parameter.")


def require_api_key(
    settings: Settings = Depends(get_settings),
    header: str | None = Security(_header_key),
    query: str | None = Security(_query_key),
) -> None:
    """Pass when no keys are configured, or when `X-API-Key` or `?key=` matches one; 401 otherwise."""
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
