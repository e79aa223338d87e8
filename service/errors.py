"""Every error leaves the service as `{"error": {"code", "message", "field", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moderation.errors import InputError, ModelError, ModerationError

logger = logging.getLogger("service")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    503: "model_unavailable",
}

_EXPECTED = {
    "string": "a string", "list": "an array", "dict": "an object", "model": "an object",
    "model_attributes": "an object", "int": "an integer", "float": "a number", "bool": "a boolean",
}


class ApiError(Exception):
    """An error the client can act on: HTTP status, machine code, message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def error_body(code: str, message: str, field: str | None = None,
               details: Iterable[tuple[str | None, str]] = ()) -> dict[str, Any]:
    """The JSON body of an error response (the `ErrorResponse` schema)."""
    return {"error": {"code": code, "message": message, "field": field,
                      "details": [{"field": f, "message": m} for f, m in details]}}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   details: Iterable[tuple[str | None, str]] = (), headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    """An error as a JSON response."""
    return JSONResponse(error_body(code, message, field, details), status_code=status, headers=headers)


def field_path(loc: Iterable[Any]) -> str:
    """A pydantic location as a path: ("body", "comments", 2, "text") → "comments[2].text"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "header", "path", "cookie"):
        where, parts = parts[0], parts[1:]
        if where == "body" and (not parts or isinstance(parts[0], int)):
            return "body"  # the whole body (an int here is a JSON decode position)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _describe(error: dict) -> tuple[int, str, str, str]:
    """Status, code, field and message for one pydantic/FastAPI validation error."""
    kind = error.get("type", "")
    field = field_path(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return 400, "malformed_json", "body", f"body: malformed JSON: {ctx.get('error', error.get('msg'))}"
    if kind == "missing":
        if field == "body":
            return 422, "missing_field", "body", "body: empty request body; send a JSON object"
        return 422, "missing_field", field, f"{field}: required field is missing"
    if kind == "extra_forbidden":
        return 422, "unknown_field", field, f"{field}: unknown field; remove it"
    if field == "body" and kind in ("model_attributes_type", "model_type", "dict_type"):
        if isinstance(error.get("input"), (bytes, bytearray)):
            return (415, "unsupported_media_type", "body",
                    "body: send JSON with the header Content-Type: application/json")
        return 422, "invalid_type", "body", f"body: expected a JSON object, found {_json_type(error.get('input'))}"
    if kind.endswith("_type"):
        expected = _EXPECTED.get(kind[: -len("_type")], "a " + kind[: -len("_type")].replace("_", " "))
        return 422, "invalid_type", field, f"{field}: expected {expected}, found {_json_type(error.get('input'))}"
    if kind == "too_short" and field == "comments":
        return 422, "empty_batch", field, "comments: the batch is empty; send at least one comment"
    return 422, "invalid_value", field, f"{field}: {error.get('msg', 'invalid value')}"


def _json_type(value: Any) -> str:
    """The JSON name of a Python value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    described = [_describe(e) for e in exc.errors()]
    status, code, field, message = described[0]
    if any(d[0] == 400 for d in described):  # unparseable JSON trumps everything else
        status, code, field, message = next(d for d in described if d[0] == 400)
    if len(described) > 1:
        message += f" (and {len(described) - 1} more problem{'s' if len(described) > 2 else ''})"
    details = [(d[2], d[3]) for d in described] if len(described) > 1 else []
    return error_response(status, code, message, field, details)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field, headers=exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    code = _HTTP_CODES.get(status, "internal" if status >= 500 else "bad_request")
    if status == 404:
        message = f"not found: {request.method} {request.url.path}; see /docs for the endpoints"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(status, code, message, headers=getattr(exc, "headers", None))


async def _moderation_error(request: Request, exc: ModerationError) -> JSONResponse:
    if isinstance(exc, InputError):
        return error_response(422, "invalid_input", str(exc))
    if isinstance(exc, ModelError):
        logger.error("model error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(503, "model_unavailable", "the model is not available; try again later")
    logger.error("unexpected %s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    return error_response(500, "internal", "internal error; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    """Replace FastAPI's default error bodies with the ErrorResponse shape."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ModerationError, _moderation_error)
