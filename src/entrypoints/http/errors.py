"""Error rendering: OpenAI's error object on the gateway routes, a JSON error on the admin API.

No handler ever echoes a traceback, a SQL statement or a credential.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from aigateway.adapters.codecs.openai_chat import error_body
from aigateway.application.errors import GatewayError, ServiceUnavailable, ValidationFailed
from aigateway.application.ports.repositories import Conflict, NotFound, StoreUnavailable

log = logging.getLogger(__name__)

_HTTP_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


_ADMIN_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
}


def openai_error_response(
    status: int,
    message: str,
    *,
    type: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    return Response(
        error_body(message, type=type, code=code, param=param),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def gateway_exception_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, GatewayError):
        return openai_error_response(
            exc.status,
            exc.message,
            type=exc.type,
            code=exc.code,
            param=exc.param,
            headers=exc.headers,
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.detail if status < 500 else "internal error"
        return openai_error_response(status, message, type=_HTTP_TYPES.get(status, "api_error"))
    log.exception("unhandled error on the gateway path")
    return openai_error_response(500, "internal error", type="api_error", code="internal_error")


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
