"""The HTTP contract: request and response bodies of every endpoint, errors included."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_TEXT = "You are a disgrace and a senseless thief."


class _Request(BaseModel):
    """Requests are strict: no coercion (a number is not a string) and no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class ScoreRequest(_Request):
    """One comment to score."""

    text: str = Field(description="The comment, as posted. Not blank; at most the policy's `max_chars` characters.",
                      examples=[EXAMPLE_TEXT])
    id: str | None = Field(default=None, description="Your identifier for the comment; echoed back.",
                           examples=["c-1042"])

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "c-1042", "text": EXAMPLE_TEXT}]})


class BatchComment(_Request):
    """One comment of a batch."""

    id: str | None = Field(default=None, description="Your identifier for the comment; echoed back.")
    text: str = Field(description="The comment, as posted.")


class BatchRequest(_Request):
    """Up to the policy's `max_batch` comments, scored together."""

    comments: list[BatchComment] = Field(min_length=1, description="The comments; results come back in this order.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"comments": [
        {"id": "c-1", "text": "Thank you for this balanced article."},
        {"id": "c-2", "text": EXAMPLE_TEXT},
    ]}]})


class SpanOut(BaseModel):
    """Evidence: characters `[start, end)` of the original text pushed `category` up by `weight`."""

    start: int = Field(description="Offset of the first character in the submitted text (Python string index).")
    end: int = Field(description="Offset just past the last character.")
    category: str
    weight: float = Field(description="Contribution to the category's raw score (1.0 for a policy word-list hit).")
    text: str = Field(description="`text[start:end]` of the submitted comment.")
    source: str = Field(description="`model` (learned words) or `lexicon` (policy word list).")


class ScoreResponse(BaseModel):
    """Scores, the policy's decision and the evidence for one comment."""

    id: str | None = Field(description="The request's `id`, or null.")
    model: str = Field(description="Version of the model that scored the comment.")
    scores: dict[str, float] = Field(description="Probability (0–1) that the comment violates each category.")
    decision: Literal["allow", "review", "reject"]
    violations: list[str] = Field(description="Categories at or above their reject threshold (or a reject word-list hit).")
    review: list[str] = Field(description="Categories that send the comment to a moderator.")
    reasons: list[str] = Field(description="Why, in words: each threshold crossed and each word-list hit.")
    spans: list[SpanOut] = Field(description="Evidence spans, in text order.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "c-1042", "model": "20260101-120000-ab12",
        "scores": {"profanity": 0.02, "personal_attack": 0.97, "identity_attack": 0.01, "threat": 0.0},
        "decision": "reject", "violations": ["personal_attack"], "review": [],
        "reasons": ["personal_attack score 0.97 ≥ reject threshold 0.85"],
        "spans": [{"start": 10, "end": 18, "category": "personal_attack", "weight": 0.91,
                   "text": "disgrace", "source": "model"}],
    }]})


class BatchResponse(BaseModel):
    """One result per comment, in request order."""

    model: str = Field(description="Version of the model that scored the batch.")
    results: list[ScoreResponse]


class Threshold(BaseModel):
    """A category's decision thresholds."""

    reject: float
    review: float


class ModelInfo(BaseModel):
    """What is being served: from the model card."""

    version: str
    description: str | None = Field(default=None, description="The model's pipeline, in one line.")
    policy: str | None = Field(default=None, description="Name of the policy the model was trained under.")
    categories: list[str]
    thresholds: dict[str, Threshold]
    limits: dict[str, int] = Field(description="`max_chars` per comment and `max_batch` comments per batch request.")
    training_data: dict[str, Any] = Field(description="Label files (with hashes), row counts, sources and weights.")
    metrics: dict[str, Any] | None = Field(description="Cross-validated metrics per category; null if training skipped CV.")
    cross_validation: str | None = Field(default=None, description="How the metrics were obtained.")
    created: str | None = None
    libraries: dict[str, str]


class Health(BaseModel):
    """Liveness: the service is up and serving `model`."""

    status: Literal["ok"]
    model: str


class ErrorDetail(BaseModel):
    """One problem with the request."""

    field: str | None = Field(description="Where: `text`, `comments[2].text`, `body`, `X-API-Key`, … or null.")
    message: str


class ErrorBody(BaseModel):
    """The error: a stable machine code, a human message and the field at fault."""

    code: str = Field(description="invalid_text, text_too_long, invalid_type, missing_field, unknown_field, "
                                  "invalid_value, empty_batch, malformed_json, body_too_large, batch_too_large, "
                                  "unsupported_media_type, unauthorized, "
                                  "not_found, method_not_allowed, model_unavailable, internal")
    message: str
    field: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list,
                                       description="Every problem found, when there is more than one.")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx response."""

    error: ErrorBody

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "code": "invalid_text", "message": "text: empty text: there is nothing to score", "field": "text",
        "details": [],
    }}]})


# ------------------------------------------------------------------ review queue (service.review)


class QueueComment(_Request):
    """One comment to add to the review queue."""

    id: str = Field(min_length=1, description="Your identifier for the comment; moderators' labels are stored under it.",
                    examples=["000_c87f713ab8df9e35:12"])
    text: str = Field(description="The comment, as posted.")


class QueueRequest(_Request):
    """Comments to add to the review queue; an id already queued has its text replaced."""

    comments: list[QueueComment] = Field(min_length=1, description="At most the policy's `max_batch` comments.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"comments": [
        {"id": "c-1", "text": "Thank you for this balanced article."},
        {"id": "c-2", "text": EXAMPLE_TEXT},
    ]}]})


class QueueUpdate(BaseModel):
    """What `POST /v1/review/queue` did."""

    added: int = Field(description="Comments new to the queue.")
    replaced: int = Field(description="Comments whose id was already queued (their text is replaced).")
    queued: int = Field(description="Comments in the queue now, decided ones included.")


class QueueItem(ScoreResponse):
    """A queued comment: its text, archive fields, the served model's verdict and its place in the queue."""

    id: str
    text: str = Field(description="The comment. Show it as text, never as HTML.")
    article: str | None = Field(default=None, description="Archive page id, when known.")
    number: int | None = Field(default=None, description="The comment's printed number on its page, when known.")
    parent: str | None = Field(default=None, description="Id of the comment it replies to, when known.")
    author: str | None = Field(default=None, description="Author as printed, when known.")
    lane: Literal["likely", "uncertain", "allow"] = Field(
        description="`likely`: rejected by the model; `uncertain`: sent to review; `allow`: neither.")
    priority: float = Field(description="Rank within the lane: confidence for `likely`, uncertainty for "
                                        "`uncertain`, highest score for `allow` (1.0 = a word-list hit).")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "000_c87f713ab8df9e35:12", "text": EXAMPLE_TEXT, "article": "000_c87f713ab8df9e35", "number": 12,
        "parent": None, "author": "Aram", "model": "20260101-120000-ab12",
        "scores": {"profanity": 0.02, "personal_attack": 0.62, "identity_attack": 0.01, "threat": 0.0},
        "decision": "review", "violations": [], "review": ["personal_attack"],
        "reasons": ["personal_attack score 0.62 ≥ review threshold 0.45"],
        "spans": [{"start": 10, "end": 18, "category": "personal_attack", "weight": 0.91,
                   "text": "disgrace", "source": "model"}],
        "lane": "uncertain", "priority": 0.76,
    }]})


class QueuePage(BaseModel):
    """A page of the review queue, most urgent first (see `GET /v1/review/queue`)."""

    model: str = Field(description="Version of the model that scored the queue.")
    total: int = Field(description="Comments still waiting for a decision.")
    decided: int = Field(description="Queued comments left out because the feedback files hold a decision.")
    offset: int
    limit: int
    items: list[QueueItem]


# ------------------------------------------------------------ moderators' feedback (`/v1/labels`)


class LabelRequest(_Request):
    """A moderator's decision on one comment, stored as a label row for the next training."""

    comment_id: str = Field(description="Your identifier for the comment; becomes the label row's `id`.",
                            examples=["c-1042"])
    text: str = Field(description="The comment, as posted. Not blank; at most the policy's `max_chars` characters.")
    labels: dict[str, int | None] = Field(
        description="Per policy category: 1 (applies), 0 (does not apply), null or absent (not judged). "
                    "At least one category must be judged.")
    moderator: str | None = Field(
        default=None, description="Who decided. Required with an unnamed token; with a named token it may be "
                                  "omitted, and if given must equal the token's name (403 otherwise).")
    model: str | None = Field(default=None, description="Version of the model that scored the comment, if known.")
    note: str | None = Field(default=None, description="Free text kept with the label.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "comment_id": "c-1042", "text": EXAMPLE_TEXT,
        "labels": {"profanity": 0, "personal_attack": 1, "identity_attack": 0, "threat": None},
        "moderator": "maria", "model": "20260101-120000-ab12", "note": "aimed at another reader",
    }]})


class LabelStored(BaseModel):
    """Where the decision was appended, and the time recorded with it."""

    stored: str = Field(description="The label file the row was appended to.", examples=["labels/feedback/2026-11.jsonl"])
    time: str = Field(description="The row's `time`: ISO 8601 UTC with microseconds.",
                      examples=["2026-11-23T09:15:02.123456Z"])
    moderator: str = Field(description="The moderator recorded as the row's `annotator`.")


# ------------------------------------------------------------ Perspective API compatibility (`/v1alpha1`)


def _camel(name: str) -> str:
    """`span_annotations` → `spanAnnotations`: Perspective's JSON names."""
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


class _Perspective(BaseModel):
    """Perspective's JSON: camelCase names (snake_case accepted too), unknown names refused, like Google's parser."""

    model_config = ConfigDict(extra="forbid", alias_generator=_camel, validate_by_name=True,
                              validate_by_alias=True, serialize_by_alias=True)


class PerspectiveComment(_Perspective):
    """The comment to analyse."""

    text: str | None = Field(default=None, description="The comment's text. Must be non-empty.")
    type: str | None = Field(default=None, description="`PLAIN_TEXT` (the default; the only type supported).")


class PerspectiveAttributeParameters(_Perspective):
    """Options for one requested attribute."""

    score_type: str | None = Field(default=None, description="`PROBABILITY` (the default; the only type supported).")
    score_threshold: float | None = Field(
        default=None, description="Leave the attribute out of the response when its score is below this.")


class AnalyzeCommentRequest(_Perspective):
    """Perspective's `comments:analyze` request."""

    comment: PerspectiveComment | None = None
    requested_attributes: dict[str, PerspectiveAttributeParameters | None] | None = Field(
        default=None, description="PROFANITY, INSULT, IDENTITY_ATTACK, THREAT and/or TOXICITY.")
    span_annotations: bool = Field(default=False, description="Also return `spanScores` per attribute.")
    languages: list[str] | None = Field(default=None, description="Must include `en` when given.")
    do_not_store: bool = Field(default=False, description="Accepted; analysed comments are never stored.")
    client_token: str | None = Field(default=None, description="Echoed back.")
    context: dict[str, Any] | None = Field(default=None, description="Accepted and ignored.")
    community_id: str | None = Field(default=None, description="Accepted and ignored.")
    session_id: str | None = Field(default=None, description="Accepted and ignored.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "comment": {"text": EXAMPLE_TEXT}, "requestedAttributes": {"TOXICITY": {}, "INSULT": {}},
        "languages": ["en"], "spanAnnotations": True,
    }]})


class PerspectiveScore(_Perspective):
    """A probability."""

    value: float
    type: str = "PROBABILITY"


class PerspectiveSpanScore(_Perspective):
    """The score of characters `[begin, end)` of the comment."""

    begin: int
    end: int
    score: PerspectiveScore


class PerspectiveAttributeScore(_Perspective):
    """One attribute's scores."""

    summary_score: PerspectiveScore
    span_scores: list[PerspectiveSpanScore] | None = None


class AnalyzeCommentResponse(_Perspective):
    """Perspective's `comments:analyze` response."""

    attribute_scores: dict[str, PerspectiveAttributeScore]
    languages: list[str]
    detected_languages: list[str]
    client_token: str | None = None


class PerspectiveSuggestedValue(_Perspective):
    """A suggested value; `type`, when given, must be PROBABILITY."""

    value: float
    type: str | None = None


class PerspectiveSuggestedScore(_Perspective):
    """A suggested score for one attribute; `summaryScore.value` ≥ 0.5 means the attribute applies."""

    summary_score: PerspectiveSuggestedValue | None = None
    span_scores: list[dict[str, Any]] | None = Field(default=None, description="Accepted and ignored.")


class SuggestCommentScoreRequest(_Perspective):
    """Perspective's `comments:suggestscore` request: a moderator's verdict, stored as a label."""

    comment: PerspectiveComment | None = None
    attribute_scores: dict[str, PerspectiveSuggestedScore] | None = None
    languages: list[str] | None = None
    context: dict[str, Any] | None = None
    community_id: str | None = None
    client_token: str | None = None
    session_id: str | None = None


class SuggestCommentScoreResponse(_Perspective):
    """Perspective's `comments:suggestscore` response."""

    client_token: str | None = None


class PerspectiveErrorBody(BaseModel):
    """Google's error shape (not the service's own) on the Perspective-compatible routes."""

    code: int = Field(description="The HTTP status.")
    message: str
    status: str = Field(description="INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE or INTERNAL.")


class PerspectiveErrorResponse(BaseModel):
    """The body of every error on `/v1alpha1/…`."""

    error: PerspectiveErrorBody

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "code": 400, "message": "Comment must be non-empty.", "status": "INVALID_ARGUMENT"}}]})
