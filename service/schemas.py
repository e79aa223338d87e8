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
