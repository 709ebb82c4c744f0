"""Error rendering: OpenAI's error object on the gateway routes (Google's to Gemini clients), a
JSON error on the admin API.

No handler ever echoes a traceback, a SQL statement or a credential.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from aigateway.application.errors import (
    GatewayError,
    ServiceUnavailable,
    UpstreamRefused,
    ValidationFailed,
    internal_error,
)
from aigateway.application.ports.repositories import Conflict, NotFound, StoreUnavailable
from aigateway.entrypoints.http.formats import gemini, openai_chat
from aigateway.entrypoints.http.formats.spec import ClientFormat

log = logging.getLogger(__name__)

_ADMIN_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
}


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _error_format(request: Request[Any, Any, Any]) -> ClientFormat:
    """Google's format for a path under `/v1beta` or a client sending Google's key header."""
    scope = request.scope
    if scope["path"].startswith("/v1beta/") or any(
        name == b"x-goog-api-key" for name, _ in scope["headers"]
    ):
        return gemini.SPECS[0]
    return openai_chat.SPEC


def gateway_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Errors outside the raw chat routes (e.g. an unknown path), in OpenAI's format or, to a
    Gemini client, Google's."""
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.detail if status < 500 else "internal error"
        exc = GatewayError(status, message, code=_HTTP_CODES.get(status, "http_error"))
    elif not isinstance(exc, GatewayError):
        log.exception("unhandled error on the gateway path")
        exc = internal_error()
    return Response(
        _error_format(request).render_error(exc),
        status_code=exc.status,
        media_type=MediaType.JSON,
        headers=exc.headers,
    )


class ApiError(msgspec.Struct):
    type: str
    message: str


class ApiErrorBody(msgspec.Struct):
    error: ApiError


def api_error_response(status: int, type_: str, message: str) -> Response[ApiErrorBody]:
    return Response(ApiErrorBody(ApiError(type_, message)), status_code=status)


def admin_exception_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[ApiErrorBody]:
    if isinstance(exc, NotFound):
        return api_error_response(404, "not_found", str(exc) or "not found")
    if isinstance(exc, ValidationFailed):
        return api_error_response(422, "validation_error", str(exc))
    if isinstance(exc, Conflict):
        return api_error_response(409, "conflict", str(exc))
    if isinstance(exc, UpstreamRefused):
        return api_error_response(502, "upstream_error", str(exc))
    if isinstance(exc, StoreUnavailable | ServiceUnavailable):
        return api_error_response(
            503, "service_unavailable", "the database is unavailable; retry later"
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.detail if status < 500 else "internal error"
        return api_error_response(status, _ADMIN_TYPES.get(status, "error"), message)
    log.exception("unhandled error on the admin API")
    return api_error_response(500, "internal_error", "internal error")
