"""`google.rpc.Status` error bodies: decoding upstream errors, encoding for clients."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.gemini.wire import (
    STATUS_NAMES,
    STATUS_TYPES,
    WireErrorBody,
    WireStatus,
    decode_json,
    error_message,
)
from aigateway.adapters.codecs.sse import frame
from aigateway.domain.llm import ApiError, ErrorType, StreamError, error_type_for_status


def decode_error(status: int, body: bytes) -> ApiError:
    message, code = "", None
    try:
        document = decode_json(body)
        if isinstance(document, list) and document:  # some endpoints wrap it in a list
            document = document[0]
        wire = msgspec.convert(document, WireErrorBody)
    except (msgspec.MsgspecError, RecursionError, TypeError):
        message = body.decode("utf-8", "replace")[:2000]
    else:
        if isinstance(wire.error, WireStatus):
            message = error_message(wire.error.message) if wire.error.message else ""
            code = wire.error.status if isinstance(wire.error.status, str) else None
        elif isinstance(wire.error, str):
            message = wire.error
    error_type = error_type_for_status(status)
    if status not in (400, 401, 403, 404, 408, 413, 429, 500, 503, 504) and code:
        error_type = STATUS_TYPES.get(code, error_type)
    return ApiError(
        status=status,
        type=error_type,
        message=message or f"upstream answered HTTP {status}",
        code=code,
    )


def encode_error(error: ApiError) -> bytes:
    return error_body(error.message, status=error.status, type=error.type)


def encode_stream_error(error: StreamError) -> bytes:
    return frame(error_body(error.message, type=error.type))


def error_body(message: str, *, type: ErrorType, status: int | None = None) -> bytes:
    """A `google.rpc.Status`: `{"error":{"code":..., "message":..., "status":...}}`."""
    code = status if status is not None else _STATUS_CODES[type]
    return json_encode({"error": {"code": code, "message": message, "status": STATUS_NAMES[type]}})


_STATUS_CODES = {
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
