"""Every error the API gives has one JSON body, {"error": {"type", "message"}}: the exceptions that become one,
the handlers that write it, and its tables for the OpenAPI schema."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from corpus.errors import AskdocError, CollectionNotFoundError, IndexWriteError, InvalidInputError

log = logging.getLogger("askdoc.api")
NOT_JSON = "the request body is not valid JSON (or not UTF-8)"
INTERNAL = "internal error (see the server log)"


class ApiError(Exception):
    """An error response with the API's JSON body ({"error": {"type", "message"}})."""

    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


_ERROR_TEXT = {
    400: "Bad input: an empty or over-long question, a body that is not JSON or not UTF-8, no user message",
    401: "Missing or wrong API key (only when the server has one)",
    404: "No such section, document or collection",
    413: "The request body is larger than the server's max_request_bytes",
    415: "The body is not sent as application/json",
    422: "A field is missing or of the wrong type or range",
    503: "Too many answers in progress (with Retry-After), or the models are still loading",
    504: "No answer within the server's request timeout",
    507: "The index could not be written (the server's disk is full); the previous one is unchanged",
}
# The error type of Starlette's own errors, by status.
_KINDS = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    503: "unavailable",
    504: "timeout",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses an endpoint can give, all with the one error body."""
    return {c: {"model": ErrorBody, "description": _ERROR_TEXT[c]} for c in (401, *codes)}


def error_response(
    status: int, message: str, kind: str = "invalid_request", headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
        return error_response(400, NOT_JSON)
    first = errors[0] if errors else {}
    # The field's path, without pydantic's names for its own validators ("function-after[ensure_text(), str]").
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body" and "[" not in str(p))
    return error_response(422, f"{where or 'body'}: {first.get('msg', 'invalid value')}")


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    # Starlette's own errors (unknown path, wrong method, a body that is not UTF-8) in the API's format.
    message = str(exc.detail)
    if message == "There was an error parsing the body":
        message = NOT_JSON
    return error_response(exc.status_code, message, _KINDS.get(exc.status_code, "error"), exc.headers)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.kind, exc.headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, INTERNAL, "internal")


async def _askdoc_error(_: Request, exc: AskdocError) -> JSONResponse:
    if isinstance(exc, CollectionNotFoundError):  # said in HTTP terms: an HTTP client runs no askdoc command
        message = (
            f"collection {exc.name!r} does not exist or is empty: add documents with "
            f"POST /documents?collection={exc.name} (GET /collections lists them)"
        )
        return error_response(404, message if exc.name else str(exc), "not_found")
    status, kind = 503, "unavailable"
    if isinstance(exc, InvalidInputError):
        status, kind = 400, "invalid_request"
    elif isinstance(exc, IndexWriteError):  # the server's disk, not the request: 507 Insufficient Storage
        status, kind = 507, "insufficient_storage"
    return error_response(status, str(exc), kind)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error)  # only what escapes the gatekeeper (app.py)
    app.add_exception_handler(AskdocError, _askdoc_error)  # type: ignore[arg-type]
