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
    400: ErrorType.INVALID_REQUEST,
    401: ErrorType.AUTHENTICATION,
    403: ErrorType.PERMISSION,
    404: ErrorType.NOT_FOUND,
    408: ErrorType.TIMEOUT,
    413: ErrorType.REQUEST_TOO_LARGE,
    429: ErrorType.RATE_LIMIT,
    503: ErrorType.OVERLOADED,
    504: ErrorType.TIMEOUT,
    529: ErrorType.OVERLOADED,
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
