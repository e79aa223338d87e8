"""Moderators' feedback: `POST /v1/labels` appends their decisions to the month's label file.

Only holders of a moderator token (`MODERATION_MODERATOR_TOKENS`) may write, sent as
`Authorization: Bearer <token>`; with no token configured the endpoint answers 503 and scoring is
unaffected. A token configured as `name:token` records `name` as the moderator. The row format and
the append guarantees are `moderation.feedback`'s.
"""

from __future__ import annotations

import hmac
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import APIRouter, Depends, FastAPI, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from moderation.feedback import FeedbackError, append_record, build_record
from moderation.model import Model
from moderation.policy import Policy
from service.dependencies import get_model, get_settings
from service.errors import ApiError
from service.schemas import ErrorResponse, LabelRequest, LabelStored
from service.settings import ModeratorToken, Settings, SettingsError

logger = logging.getLogger("service")
DISABLED = "feedback is disabled: no moderator token configured"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start-up, when feedback is enabled, make sure the feedback directory can be written."""
    settings: Settings = app.state.settings
    if settings.moderator_tokens:
        await run_in_threadpool(check_feedback_dir, settings.feedback_dir)
    yield


router = APIRouter(tags=["feedback"], lifespan=_lifespan)
_bearer = HTTPBearer(auto_error=False, description="A moderator token (`MODERATION_MODERATOR_TOKENS`).")


def check_feedback_dir(directory: str) -> None:
    """Create `directory` if needed; SettingsError naming it when it cannot be written."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"feedback_dir: cannot create {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"feedback_dir: {path} is not writable by this process")


def authenticate(settings: Settings, given: str | None) -> ModeratorToken:
    """The configured token equal to `given`; 503 when feedback is disabled, 401 when missing or wrong.

    Every configured token is compared with `hmac.compare_digest`, with no early exit, so the time
    taken says nothing about which token (if any) matched.
    """
    if not settings.moderator_tokens:
        raise ApiError(503, "feedback_disabled", DISABLED)
    challenge = {"WWW-Authenticate": "Bearer"}
    if not given:
        raise ApiError(401, "unauthorized", "a moderator token is required: send Authorization: Bearer <token>",
                       "Authorization", headers=challenge)
    candidate = given.encode("utf-8", "surrogateescape")
    found: ModeratorToken | None = None
    for token in settings.moderator_tokens:
        if hmac.compare_digest(candidate, token.token.encode("ascii")):
            found = token
    if found is None:
        raise ApiError(401, "unauthorized", "the moderator token is not valid", "Authorization", headers=challenge)
    return found


def require_moderator(
    settings: Settings = Depends(get_settings),
    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
) -> ModeratorToken:
    """The moderator token of this request (see `authenticate`)."""
    return authenticate(settings, credentials.credentials if credentials else None)


def moderator_name(token: ModeratorToken, claimed: str | None) -> str:
    """Who is recorded: a named token's name (a different `moderator` in the body is a 403), else the body's."""
    if token.name is not None:
        if claimed is not None and claimed.strip() != token.name:
            raise ApiError(403, "forbidden",
                           f"moderator: this token belongs to {token.name!r}, not {claimed.strip()!r}; "
                           "omit moderator or send the token's own name", "moderator")
        return token.name
    if claimed is None:
        raise ApiError(422, "missing_field",
                       "moderator: required field is missing (this token has no name to record)", "moderator")
    return claimed


def store(settings: Settings, record: dict) -> Path:
    """Append one label row to the feedback directory; a failed write is a logged 500."""
    try:
        return append_record(settings.feedback_dir, record)
    except OSError as exc:
        logger.error("cannot store feedback in %s: %s", settings.feedback_dir, exc)
        raise ApiError(500, "internal", "the label could not be stored; the failure has been logged") from None


def as_api_error(exc: FeedbackError, policy: Policy, text: object) -> ApiError:
    """A FeedbackError as a 422 naming its field (413 for a text over the policy's limit)."""
    if exc.field == "text":
        if isinstance(text, str) and len(text) > policy.max_chars:
            return ApiError(413, "text_too_long", str(exc), "text")
        return ApiError(422, "invalid_text", str(exc), "text")
    if exc.field.startswith("labels.") and exc.field[len("labels."):] not in policy.names:
        return ApiError(422, "unknown_field", str(exc), exc.field)
    return ApiError(422, "invalid_value", str(exc), exc.field)


_RESPONSES = {status: {"model": ErrorResponse, "description": text} for status, text in {
    401: "Moderator token missing or wrong (`unauthorized`).",
    403: "`moderator` differs from the token's name (`forbidden`).",
    413: "Text over the policy's limit (`text_too_long`).",
    422: "Invalid field, e.g. `labels.toxic` (unknown category), empty `text`, no category judged.",
    503: "No moderator token configured (`feedback_disabled`), or no model loaded (`model_unavailable`).",
}.items()}


@router.post("/v1/labels", status_code=201, response_model=LabelStored, summary="Record a moderator's decision",
             responses=_RESPONSES)
def record_label(
    body: LabelRequest,
    token: ModeratorToken = Depends(require_moderator),
    settings: Settings = Depends(get_settings),
    model: Model = Depends(get_model),
) -> LabelStored:
    """Append the decision to `labels/feedback/<year>-<month>.jsonl` as a label row (source `feedback`).

    A later decision by the same moderator on the same text supersedes this one at training time.
    Categories come from the policy of the model being served.
    """
    moderator = moderator_name(token, body.moderator)
    try:
        record = build_record(model.policy, comment_id=body.comment_id, text=body.text, labels=body.labels,
                              annotator=moderator, model=body.model, note=body.note)
    except FeedbackError as exc:
        raise as_api_error(exc, model.policy, body.text) from None
    path = store(settings, record)
    logger.info("feedback from %s on %s stored in %s", record["annotator"], record["id"], path)
    return LabelStored(stored=str(path), time=record["time"], moderator=record["annotator"])
