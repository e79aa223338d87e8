"""The FastAPI application: `create_app(settings)` builds it; the model is loaded at start-up.

Run it with `moderation serve`, or `uvicorn --factory service.app:create_app` with
`MODERATION_MODEL_DIR` set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from contextlib import asynccontextmanager, suppress
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Coroutine

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from moderation.errors import InputError, ModerationError
from moderation.model import Assessment, Model
from service import feedback, perspective
from service.dependencies import ModelHolder, check_api_key, get_model, require_api_key
from service.errors import ApiError, install_error_handlers
from service.middleware import BodyLimitMiddleware, CatchAllMiddleware
from service.review import router as review_router
from service.scoring import CoalescingScorer
from service.schemas import (
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    Health,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
    SpanOut,
)
from service.settings import Settings

logger = logging.getLogger("service")
STATIC = Path(__file__).resolve().parent / "static"

DESCRIPTION = """\
Scores reader comments against the outlet's discussion policy ("comments that include profanity,
personal attacks or other inappropriate material will not be permitted"): a probability per policy
category, a decision (**allow**, **review** or **reject**), the reasons, and the words that drove it.

Every error is `{"error": {"code", "message", "field", "details"}}` naming the field at fault.
When the service is configured with API keys, the scoring endpoints need one in the `X-API-Key`
header or the `key` query parameter. A page for moderators is at [`/`](/).
"""

_ERRORS = {status: {"model": ErrorResponse, "description": text} for status, text in {
    400: "Malformed JSON (`malformed_json`).",
    401: "API key missing or wrong (`unauthorized`).",
    413: "Body, text or batch over its limit (`body_too_large`, `text_too_long`, `batch_too_large`).",
    415: "Body not sent as `application/json` (`unsupported_media_type`).",
    422: "Invalid field: empty text, wrong type, missing or unknown field (the `field` names it).",
    503: "No model loaded (`model_unavailable`).",
}.items()}


def create_app(settings: Settings | None = None, model: Model | None = None) -> FastAPI:
    """Build the application; the model in `settings.model_dir` (or `model`) is loaded at start-up.

    >>> app = create_app(Settings(model_dir="models/current"))  # doctest: +SKIP
    """
    if settings is None:
        settings = Settings.from_env() if model is None else Settings(model_dir="(model passed to create_app)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder: ModelHolder = app.state.models
        if model is not None:
            holder.swap(model)
        else:
            try:
                await run_in_threadpool(holder.reload_if_changed, settings.model_dir)
            except ModerationError as exc:
                logger.error("cannot start: %s", exc)
                raise
        logger.info("serving model %s from %s", holder.model.version, holder.source or settings.model_dir)
        watcher = None
        if model is None and settings.reload_interval > 0:  # hot reload: follow models/current
            watcher = asyncio.create_task(holder.watch(settings.model_dir, settings.reload_interval))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
            holder.swap(None)

    app = FastAPI(
        title="Comment moderation",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "scoring", "description": "Score comments against the discussion policy."},
            {"name": "service", "description": "Health and the model being served."},
        ],
    )
    app.state.settings = settings
    app.state.models = ModelHolder()
    app.state.scorer = CoalescingScorer()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CatchAllMiddleware)  # added last: the outermost of ours
    _add_routes(app)
    app.include_router(perspective.router)  # Perspective-compatible /v1alpha1/comments:analyze, :suggestscore
    app.include_router(feedback.router)  # moderators' feedback: POST /v1/labels
    app.include_router(review_router)  # the review queue; its lifespan runs after the model loads
    return app


def _add_routes(app: FastAPI) -> None:
    scoring = {"tags": ["scoring"], "dependencies": [Depends(require_api_key)], "responses": _ERRORS}

    async def score(body: ScoreRequest, model: Model = Depends(get_model)) -> Response:
        """Scores per category, the decision, the reasons and the evidence spans for one comment.

        Span offsets index the submitted `text` (`text[start:end] == span.text`).
        """
        text = _check(model, body.text, "text")
        return await _scored(app, body.id, model, text)

    app.router.add_api_route("/v1/score", score, methods=["POST"], response_model=ScoreResponse,
                             summary="Score one comment", route_class_override=_ScoreRoute, **scoring)

    @app.post("/v1/score/batch", response_model=BatchResponse, summary="Score many comments", **scoring)
    def score_batch(body: BatchRequest, model: Model = Depends(get_model)) -> BatchResponse:
        """Score up to the policy's `max_batch` comments in one call; results come back in request order.

        A bad item fails the whole batch with a 4xx naming it, e.g. `comments[3].text`.
        """
        limit = model.policy.max_batch
        if len(body.comments) > limit:
            raise ApiError(413, "batch_too_large",
                           f"comments: {len(body.comments)} comments; a batch holds at most {limit}", "comments")
        texts = [_check(model, c.text, f"comments[{i}].text") for i, c in enumerate(body.comments)]
        assessments = model.assess(texts)
        return BatchResponse(
            model=model.version,
            results=[_result(c.id, model, a) for c, a in zip(body.comments, assessments)],
        )

    @app.get("/healthz", response_model=Health, tags=["service"], summary="Liveness",
             responses={503: _ERRORS[503]})
    def healthz(model: Model = Depends(get_model)) -> Health:
        """`ok` and the version of the model being served. Never needs an API key."""
        return Health(status="ok", model=model.version)

    @app.get("/v1/model", response_model=ModelInfo, tags=["service"], summary="The model being served",
             responses={503: _ERRORS[503]})
    def model_info(model: Model = Depends(get_model)) -> ModelInfo:
        """Version, categories, thresholds, training data, cross-validated metrics and library versions."""
        card = model.card
        cv = card.get("cross_validation") or {}
        return ModelInfo(
            version=model.version,
            description=card.get("model"),
            policy=card.get("policy") or model.policy.name,
            categories=model.categories,
            thresholds=model.thresholds,
            limits={"max_chars": model.policy.max_chars, "max_batch": model.policy.max_batch},
            training_data=_finite(card.get("training_data") or {}),
            metrics=_finite(cv.get("metrics")) if cv else None,
            cross_validation=cv.get("method") if cv else None,
            created=card.get("created"),
            libraries={str(k): str(v) for k, v in (card.get("libraries") or {}).items()},
        )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The moderators' page."""
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


async def _scored(app: FastAPI, comment_id: str | None, model: Model, text: str) -> Response:
    """The response to `POST /v1/score` of `text`, already checked."""
    assessment = await app.state.scorer.assess(model, text)
    # The body is built here to ScoreResponse's shape, not validated again (it is the contract in
    # /docs; tests hold the two together).
    return _json_response(_result_dict(comment_id, model, assessment))


class _ScoreRoute(APIRoute):
    """`POST /v1/score` with a fast path for the well-formed request of an allowed client.

    Such a request (JSON object of a string `text` and an optional string `id`, sent as
    `application/json`, with a valid API key or none needed, a model loaded and a text that
    passes the model's checks) is answered without FastAPI's dependency solving and body
    validation, which cost about as much as scoring a short comment. Any other request takes the
    route's declared handler, so every error, and its body, is the one the declared dependencies
    and schema give; so do requests while dependency overrides are set (tests).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            ready = await _well_formed(request)
            if ready is None:
                return await declared(request)
            return await _scored(request.app, *ready)

        return handler


async def _well_formed(request: Request) -> tuple[str | None, Model, str] | None:
    """(id, model, text) of a score request the declared handler would score; None for any other."""
    app = request.app
    if app.dependency_overrides or request.headers.get("content-type") != "application/json":
        return None
    settings = app.state.settings
    if settings.api_keys:  # (the query string is parsed only then)
        try:
            check_api_key(settings, request.headers.get("x-api-key") or None, request.query_params.get("key") or None)
        except ApiError:
            return None
    model = app.state.models.model
    if model is None:
        return None
    try:
        data = json.loads(await request.body())
    except ValueError:
        return None
    if type(data) is not dict or not data.keys() <= {"text", "id"}:
        return None
    text, comment_id = data.get("text"), data.get("id")
    if type(text) is not str or not (comment_id is None or type(comment_id) is str):
        return None
    try:
        model.check_text(text, "text")
    except InputError:
        return None
    return comment_id, model, text


def _check(model: Model, text: str, field: str) -> str:
    """The model's text checks, as a 422 (blank) or 413 (over `max_chars`) naming `field`."""
    try:
        return model.check_text(text, field)
    except InputError as exc:
        if isinstance(text, str) and len(text) > model.policy.max_chars:
            raise ApiError(413, "text_too_long", str(exc), field) from None
        raise ApiError(422, "invalid_text", str(exc), field) from None


def _result_dict(comment_id: str | None, model: Model, a: Assessment) -> dict:
    """`_result(...)` as the plain JSON object it serialises to."""
    return {
        "id": comment_id, "model": model.version, "scores": a.scores, "decision": a.decision.decision,
        "violations": a.decision.violations, "review": a.decision.review, "reasons": a.decision.reasons,
        "spans": [{"start": s.start, "end": s.end, "category": s.category, "weight": s.weight, "text": s.text,
                   "source": s.source} for s in a.spans],
    }


def _json_response(content: dict) -> Response:
    """A JSON response, encoded as Starlette's JSONResponse encodes."""
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
    return Response(body.encode("utf-8"), media_type="application/json")


def _result(comment_id: str | None, model: Model, a: Assessment) -> ScoreResponse:
    return ScoreResponse(
        id=comment_id,
        model=model.version,
        scores=a.scores,
        decision=a.decision.decision,
        violations=a.decision.violations,
        review=a.decision.review,
        reasons=a.decision.reasons,
        spans=[SpanOut(start=s.start, end=s.end, category=s.category, weight=s.weight, text=s.text,
                       source=s.source) for s in a.spans],
    )


def _finite(value: Any) -> Any:
    """The card's numbers with NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _version() -> str:
    try:
        return package_version("moderation")
    except PackageNotFoundError:
        return "0+unknown"
