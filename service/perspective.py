"""Perspective API compatibility: `comments:analyze` and `comments:suggestscore` under `/v1alpha1`.

Tools written for Google's Perspective API switch to this service by changing the base URL. These
routes speak Perspective's JSON (camelCase; snake_case accepted too) and answer errors in Google's
shape, `{"error": {"code": 400, "message": "…", "status": "INVALID_ARGUMENT"}}`, not the service's.

Attributes (`ATTRIBUTES` is the one table that maps them to policy categories):

| attribute | policy category |
|---|---|
| PROFANITY | profanity |
| INSULT | personal_attack |
| IDENTITY_ATTACK | identity_attack |
| THREAT | threat |
| TOXICITY | any of the four: the highest of their probabilities |

Only these names are accepted (no `…_EXPERIMENTAL` variants, no lower case). Error messages follow
Perspective's wording as remembered, not verified against the live API: "Comment must be
non-empty.", "Unknown attribute: FOO", "Attribute TOXICITY does not support request languages: xx",
"API key not valid. Please pass a valid API key." (400), "The request is missing a valid API key."
(403); the others are written in the same style.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Coroutine, Mapping

from fastapi import APIRouter, Depends, FastAPI, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, APIKeyQuery

from moderation.errors import PolicyError
from moderation.feedback import FeedbackError, build_record
from moderation.labels import text_key
from moderation.model import Model
from service.dependencies import check_api_key, get_model, get_settings
from service.errors import ApiError
from service.feedback import require_moderator, store
from service.schemas import (
    AnalyzeCommentRequest,
    AnalyzeCommentResponse,
    PerspectiveAttributeParameters,
    PerspectiveAttributeScore,
    PerspectiveComment,
    PerspectiveErrorResponse,
    PerspectiveScore,
    PerspectiveSpanScore,
    PerspectiveSuggestedScore,
    SuggestCommentScoreRequest,
    SuggestCommentScoreResponse,
)
from service.settings import ModeratorToken, Settings

logger = logging.getLogger("service")

# The one place Perspective's attribute names meet the policy's category names.
ATTRIBUTES: dict[str, str] = {
    "PROFANITY": "profanity",
    "INSULT": "personal_attack",
    "IDENTITY_ATTACK": "identity_attack",
    "THREAT": "threat",
}
TOXICITY = "TOXICITY"  # any violation: the highest probability of the attributes above
PROBABILITY = "PROBABILITY"
SUGGEST_ANNOTATOR = "perspective-suggestscore"  # the annotator recorded for an unnamed moderator token
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class PerspectiveError(Exception):
    """An error in Google's shape: HTTP status, message and the canonical status name."""

    def __init__(self, code: int, message: str, status: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _GOOGLE_STATUS.get(code, "UNKNOWN")
        self.headers = headers

    def response(self) -> JSONResponse:
        """The error as Perspective would send it."""
        body = {"error": {"code": self.code, "message": self.message, "status": self.status}}
        return JSONResponse(body, status_code=self.code, headers=self.headers)


def attribute_categories(categories: list[str]) -> dict[str, str]:
    """`ATTRIBUTES`, checked against the policy's categories; PolicyError naming what is missing.

    >>> attribute_categories(["profanity", "personal_attack", "identity_attack", "threat"])["INSULT"]
    'personal_attack'
    """
    missing = [f"{name} → {cat}" for name, cat in ATTRIBUTES.items() if cat not in categories]
    if missing:
        raise PolicyError(f"Perspective attributes need policy categories that the policy lacks: "
                          f"{', '.join(missing)}; the policy has {', '.join(categories)}")
    return dict(ATTRIBUTES)


def attribute_scores(scores: Mapping[str, float], mapping: Mapping[str, str]) -> dict[str, float]:
    """Every attribute's probability from the model's category scores (TOXICITY = the highest).

    >>> attribute_scores({"a": 0.2, "b": 0.7}, {"A": "a", "B": "b"})
    {'A': 0.2, 'B': 0.7, 'TOXICITY': 0.7}
    """
    out = {name: float(scores[cat]) for name, cat in mapping.items()}
    out[TOXICITY] = max(out.values())
    return out


class PerspectiveRoute(APIRoute):
    """Answers every error of its routes in Google's shape, validation errors and ApiErrors included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def perspective_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PerspectiveError as exc:
                return exc.response()
            except RequestValidationError as exc:
                return PerspectiveError(400, _validation_message(exc.errors())).response()
            except ApiError as exc:
                code = 400 if exc.status in (413, 422) else exc.status
                return PerspectiveError(code, exc.message, headers=exc.headers).response()
            except Exception:
                logger.exception("unexpected error on %s %s", request.method, request.url.path)
                return PerspectiveError(500, "Internal error encountered.").response()

        return perspective_handler


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Refuse to start when the served model's policy lacks a category an attribute maps to."""
    model = app.state.models.model
    if model is not None:
        attribute_categories(model.categories)
    yield


router = APIRouter(prefix="/v1alpha1", tags=["perspective"], route_class=PerspectiveRoute, lifespan=_lifespan)
_key_query = APIKeyQuery(name="key", auto_error=False, description="API key, as Perspective clients send it.")
_goog_header = APIKeyHeader(name="X-Goog-Api-Key", auto_error=False, description="API key, Google's header.")
_api_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key, this service's header.")


def require_perspective_key(
    settings: Settings = Depends(get_settings),
    query: str | None = Security(_key_query),
    goog: str | None = Security(_goog_header),
    header: str | None = Security(_api_header),
) -> None:
    """The service's API-key check, with Google's errors: 403 when missing, 400 when not valid."""
    if not settings.api_keys:
        return
    given = next((k for k in (query, goog, header) if k), None)
    if given is None:
        raise PerspectiveError(403, "The request is missing a valid API key.")
    try:
        check_api_key(settings, None, given)
    except ApiError:
        raise PerspectiveError(400, "API key not valid. Please pass a valid API key.") from None


_ERRORS = {status: {"model": PerspectiveErrorResponse, "description": text} for status, text in {
    400: "INVALID_ARGUMENT: empty comment, unknown attribute, unsupported language, bad JSON, invalid API key.",
    401: "UNAUTHENTICATED: moderator token missing or wrong (suggestscore).",
    403: "PERMISSION_DENIED: API key missing (when the service has keys).",
    503: "UNAVAILABLE: no model loaded, or feedback disabled (suggestscore).",
}.items()}


@router.post("/comments:analyze", response_model=AnalyzeCommentResponse, response_model_exclude_none=True,
             summary="Perspective: analyze a comment", responses=_ERRORS,
             dependencies=[Depends(require_perspective_key)])
def analyze(body: AnalyzeCommentRequest, model: Model = Depends(get_model)) -> AnalyzeCommentResponse:
    """Probabilities for the requested attributes, as Perspective's `comments:analyze` returns them.

    `scoreThreshold` leaves an attribute out when its score is below it. With `spanAnnotations`,
    `spanScores` holds first a span over the whole text with the summary score, then one span per
    evidence word (character offsets, Python/Unicode code points) scored on its own. `doNotStore`,
    `context`, `communityId` and `sessionId` are accepted and ignored: nothing analysed is stored.
    """
    text = _comment_text(body.comment, model)
    requested = _requested(body.requested_attributes)
    _check_languages(body.languages, next(iter(requested)))
    mapping = attribute_categories(model.categories)
    (assessment,) = model.assess([text], explain=False)
    scores = attribute_scores(assessment.scores, mapping)
    spans = _span_scores(model, text, list(requested), mapping, scores) if body.span_annotations else {}
    out = {}
    for name, params in requested.items():
        value = scores[name]
        if params.score_threshold is not None and value < params.score_threshold:
            continue
        out[name] = PerspectiveAttributeScore(summary_score=PerspectiveScore(value=value), span_scores=spans.get(name))
    return AnalyzeCommentResponse(attribute_scores=out, languages=["en"], detected_languages=["en"],
                                  client_token=body.client_token)


@router.post("/comments:suggestscore", response_model=SuggestCommentScoreResponse,
             response_model_exclude_none=True, summary="Perspective: suggest a comment's scores",
             responses=_ERRORS, dependencies=[Depends(require_perspective_key)])
def suggest_score(
    body: SuggestCommentScoreRequest,
    token: ModeratorToken = Depends(require_moderator),
    settings: Settings = Depends(get_settings),
    model: Model = Depends(get_model),
) -> SuggestCommentScoreResponse:
    """Store a moderator's verdict as a label row, like `POST /v1/labels`; needs a moderator token.

    Each attribute's `summaryScore.value` ≥ 0.5 records 1 for its category, < 0.5 records 0.
    TOXICITY < 0.5 records 0 for every category. TOXICITY ≥ 0.5 says a category applies but not
    which, so it is refused (400) unless one of PROFANITY, INSULT, IDENTITY_ATTACK or THREAT is
    ≥ 0.5 too. The moderator recorded is the token's name (`perspective-suggestscore` for an
    unnamed token); the row's id is `perspective:text-<hash of the normalised text>`.
    """
    text = _comment_text(body.comment, model)
    mapping = attribute_categories(model.categories)
    labels = suggested_labels(body.attribute_scores, mapping)
    _check_languages(body.languages, next(iter(body.attribute_scores or {TOXICITY: None})))
    note = "perspective suggestscore" + (f"; community {body.community_id}" if body.community_id else "")
    try:
        record = build_record(model.policy, comment_id=suggestion_id(text), text=text, labels=labels,
                              annotator=token.name or SUGGEST_ANNOTATOR, note=note)
    except FeedbackError as exc:
        raise PerspectiveError(400, str(exc)) from None
    path = store(settings, record)
    logger.info("suggestscore from %s on %s stored in %s", record["annotator"], record["id"], path)
    return SuggestCommentScoreResponse(client_token=body.client_token)


def suggested_labels(attribute_scores: Mapping[str, PerspectiveSuggestedScore | None] | None,
                     mapping: Mapping[str, str]) -> dict[str, int]:
    """Label values per category from suggested attribute scores; PerspectiveError (400) when unusable.

    >>> from service.schemas import PerspectiveSuggestedScore as S
    >>> suggested_labels({"TOXICITY": S(summaryScore={"value": 0.0})}, {"INSULT": "personal_attack"})
    {'personal_attack': 0}
    """
    if not attribute_scores:
        raise PerspectiveError(400, "attributeScores must be non-empty.")
    labels: dict[str, int] = {}
    toxicity: int | None = None
    for name, suggested in attribute_scores.items():
        if name != TOXICITY and name not in mapping:
            raise PerspectiveError(400, f"Unknown attribute: {name}")
        summary = suggested.summary_score if suggested is not None else None
        if summary is None:
            raise PerspectiveError(400, f"Attribute {name}: summaryScore is required.")
        if summary.type not in (None, PROBABILITY):
            raise PerspectiveError(400, f"Attribute {name} does not support score type: {summary.type}")
        if not (math.isfinite(summary.value) and 0.0 <= summary.value <= 1.0):
            raise PerspectiveError(400, f"Attribute {name}: summaryScore.value must be between 0 and 1, "
                                        f"found {summary.value}.")
        bit = 1 if summary.value >= 0.5 else 0
        if name == TOXICITY:
            toxicity = bit
        else:
            labels[mapping[name]] = bit
    if toxicity == 0:
        contradicted = [n for n, c in mapping.items() if labels.get(c) == 1]
        if contradicted:
            raise PerspectiveError(400, f"TOXICITY below 0.5 contradicts {', '.join(contradicted)} at 0.5 or above.")
        return {category: 0 for category in mapping.values()}
    if toxicity == 1 and 1 not in labels.values():
        raise PerspectiveError(
            400, "TOXICITY at 0.5 or above does not say which policy category applies, and nothing was stored; "
                 f"send {', '.join(mapping)} as well, with the one that applies at 0.5 or above.")
    return labels


def suggestion_id(text: str) -> str:
    """A stable label id for a suggested comment (Perspective requests carry none).

    >>> suggestion_id("You  idiot") == suggestion_id("you idiot")
    True
    """
    return "perspective:text-" + hashlib.sha1(text_key(text).encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------- helpers


def _comment_text(comment: PerspectiveComment | None, model: Model) -> str:
    if comment is not None and comment.type not in (None, "PLAIN_TEXT"):
        raise PerspectiveError(400, f"Comment type {comment.type} is not supported; use PLAIN_TEXT.")
    text = comment.text if comment is not None else None
    if text is None or not text.strip():
        raise PerspectiveError(400, "Comment must be non-empty.")
    limit = model.policy.max_chars
    if len(text) > limit:
        raise PerspectiveError(400, f"Comment text too long: {len(text)} characters; the maximum is {limit}.")
    return text


def _requested(attributes: Mapping[str, PerspectiveAttributeParameters | None] | None
               ) -> dict[str, PerspectiveAttributeParameters]:
    if not attributes:
        raise PerspectiveError(400, "requestedAttributes must be non-empty.")
    out = {}
    for name, params in attributes.items():
        if name != TOXICITY and name not in ATTRIBUTES:
            raise PerspectiveError(400, f"Unknown attribute: {name}")
        params = params or PerspectiveAttributeParameters()
        if params.score_type not in (None, PROBABILITY):
            raise PerspectiveError(400, f"Attribute {name} does not support score type: {params.score_type}")
        threshold = params.score_threshold
        if threshold is not None and not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
            raise PerspectiveError(400, f"Attribute {name}: scoreThreshold must be between 0 and 1, found {threshold}.")
        out[name] = params
    return out


def _check_languages(languages: list[str] | None, attribute: str) -> None:
    """English is the only language: a `languages` list must include it (`en`, `en-GB`, … count)."""
    if not languages:
        return  # Perspective would detect the language; the service assumes English
    if not any(lang.strip().lower().replace("_", "-").split("-")[0] == "en" for lang in languages):
        raise PerspectiveError(400, f"Attribute {attribute} does not support request languages: {','.join(languages)}")


def _span_scores(model: Model, text: str, names: list[str], mapping: Mapping[str, str],
                 scores: Mapping[str, float]) -> dict[str, list[PerspectiveSpanScore]]:
    """Per attribute: the whole text with its summary score, then each evidence span scored on its own.

    Evidence is the model's for the attribute's category (for TOXICITY, the union over the four);
    a span's score is the model's probability for the span's text alone (for TOXICITY, the highest).
    """
    wanted = {name: (list(mapping.values()) if name == TOXICITY else [mapping[name]]) for name in names}
    categories = sorted({c for cats in wanted.values() for c in cats})
    evidence = [s for s in model.explain(text, categories=categories) if s.end > s.start]
    places = sorted({(s.start, s.end) for s in evidence})
    proba = model.predict_proba([text[a:b] for a, b in places]) if places else None
    column = {c: j for j, c in enumerate(model.categories)}
    found = {(s.start, s.end, s.category) for s in evidence}
    out = {}
    for name, cats in wanted.items():
        spans = [PerspectiveSpanScore(begin=0, end=len(text), score=PerspectiveScore(value=scores[name]))]
        for k, (a, b) in enumerate(places):
            hit = [c for c in cats if (a, b, c) in found]
            if hit:
                value = round(max(float(proba[k, column[c]]) for c in cats), 6)
                spans.append(PerspectiveSpanScore(begin=a, end=b, score=PerspectiveScore(value=value)))
        out[name] = spans
    return out


_TYPES = {"string": "TYPE_STRING", "bool": "TYPE_BOOL", "float": "TYPE_FLOAT", "int": "TYPE_INT32",
          "dict": "TYPE_MESSAGE", "model": "TYPE_MESSAGE", "model_attributes": "TYPE_MESSAGE", "list": "TYPE_LIST"}


def _validation_message(errors: list[dict]) -> str:
    """The first problem in Google's words: `Invalid JSON payload received. Unknown name "x": …`."""
    error = next((e for e in errors if e.get("type") == "json_invalid"), errors[0])
    kind = error.get("type", "")
    loc = [p for p in error.get("loc", ()) if p != "body"]
    path = ".".join(str(p) for p in loc)
    if kind == "json_invalid":
        return f"Invalid JSON payload received. {(error.get('ctx') or {}).get('error', 'Unexpected token')}."
    if kind == "missing" and not loc:
        return "Invalid JSON payload received. Empty body: send a JSON object."
    if kind == "extra_forbidden":
        parent = ".".join(str(p) for p in loc[:-1])
        where = f" at '{parent}'" if parent else ""
        return f'Invalid JSON payload received. Unknown name "{loc[-1]}"{where}: Cannot find field.'
    if not loc and isinstance(error.get("input"), (bytes, bytearray)):
        return "Invalid JSON payload received. Send the body as JSON, with Content-Type: application/json."
    if not loc:
        return "Invalid JSON payload received. Expected a JSON object."
    base = kind.rsplit("_", 1)[0] if kind.endswith(("_type", "_parsing")) else kind
    try:
        shown = json.dumps(error.get("input"), ensure_ascii=False)[:100]
    except (TypeError, ValueError):
        shown = str(error.get("input"))[:100]
    if base in _TYPES:
        return f"Invalid value at '{path}' ({_TYPES[base]}), {shown}"
    return f"Invalid value at '{path}', {shown}: {error.get('msg', 'invalid value')}"
