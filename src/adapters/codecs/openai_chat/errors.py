"""OpenAI error bodies: decoding upstream errors, encoding them for clients."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.openai_chat.wire import (
    ERROR_TYPES,
    ERROR_TYPES_IN,
    WireErrorObject,
    decode_error_body,
    error_message,
)
from aigateway.adapters.codecs.sse import DONE_FRAME, frame
from aigateway.domain.llm import ApiError, ErrorType, StreamError, error_type_for_status


def error_body(message: str, *, type: str, code: str | None, param: str | None = None) -> bytes:
    return msgspec.json.encode(
        {"error": {"message": message, "type": type, "param": param, "code": code}}
    )


def decode_error(status: int, body: bytes) -> ApiError:
    """An upstream error answer (any shape) -> ApiError; the type follows the status."""
    message, code, param = "", None, None
    try:
        wire = decode_error_body(body)
    except (msgspec.MsgspecError, RecursionError):
        message = body.decode("utf-8", "replace")[:2000]
    else:
        if isinstance(wire.error, WireErrorObject):
            message = error_message(wire.error.message) if wire.error.message else ""
            code = str(wire.error.code) if wire.error.code is not None else None
            param = wire.error.param if isinstance(wire.error.param, str) else None
        elif isinstance(wire.error, str):
            message = wire.error
        elif wire.message is not None:
            message = error_message(wire.message)
    return ApiError(
        status=status,
        type=error_type_for_status(status),
        message=message or f"upstream answered HTTP {status}",
        code=code,
        param=param,
    )


def encode_error(error: ApiError) -> bytes:
    code = error.code
    if code is None and error.type is ErrorType.NOT_FOUND:
        code = "model_not_found"
    return error_body(error.message, type=ERROR_TYPES[error.type], code=code, param=error.param)


def encode_stream_error(error: StreamError) -> bytes:
    return frame(error_body(error.message, type=ERROR_TYPES[error.type], code=None)) + DONE_FRAME


def stream_error_in(error: WireErrorObject) -> StreamError:
    kind = error.type if isinstance(error.type, str) else ""
    message = error_message(error.message) if error.message else "upstream stream error"
    return StreamError(ERROR_TYPES_IN.get(kind, ErrorType.API_ERROR), message)
