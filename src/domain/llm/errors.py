"""Errors of the canonical model: content that cannot cross, and format-neutral API errors."""

from __future__ import annotations

import enum

import msgspec


class UnsupportedContent(ValueError):
    """The target wire format cannot express something the request or response holds."""

    def __init__(self, what: str, target: str) -> None:
        super().__init__(f"{what} cannot be expressed in {target}")
        self.what = what
        self.target = target


class ErrorType(enum.StrEnum):
    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMIT = "rate_limit"
    API_ERROR = "api_error"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"


_BY_STATUS = {
    ErrorType.INVALID_REQUEST: 400,
    ErrorType.AUTHENTICATION: 401,
    ErrorType.PERMISSION: 403,
    ErrorType.NOT_FOUND: 404,
    ErrorType.REQUEST_TOO_LARGE: 413,
    ErrorType.RATE_LIMIT: 429,
    ErrorType.API_ERROR: 500,
    ErrorType.OVERLOADED: 503,
    ErrorType.TIMEOUT: 504,
}


def error_type_for_status(status: int) -> ErrorType:
    found = _BY_STATUS.get(status)
    if found is not None:
        return found
    return ErrorType.INVALID_REQUEST if 400 <= status < 500 else ErrorType.API_ERROR


class ApiError(msgspec.Struct, frozen=True, kw_only=True):
    """An error answer, decoded from one format and renderable in any."""

    status: int
    type: ErrorType
    message: str
    code: str | None = None
    param: str | None = None
