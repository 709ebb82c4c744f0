"""Anthropic error bodies: decoding upstream errors, encoding them for clients."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.anthropic_messages.wire import (
    ERROR_TYPES,
    WireErrorObject,
    decode_error_body,
    error_message,
)
from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.sse import frame
from aigateway.domain.llm import ApiError, StreamError, error_type_for_status


def decode_error(status: int, body: bytes) -> ApiError:
    message = ""
    try:
        wire = decode_error_body(body)
    except (msgspec.MsgspecError, RecursionError):
        message = body.decode("utf-8", "replace")[:2000]
    else:
        if isinstance(wire.error, WireErrorObject):
            message = error_message(wire.error.message) if wire.error.message else ""
        elif isinstance(wire.error, str):
            message = wire.error
        elif wire.message is not None:
            message = error_message(wire.message)
    return ApiError(
        status=status,
        type=error_type_for_status(status),
        message=message or f"upstream answered HTTP {status}",
    )


def encode_error(error: ApiError) -> bytes:
    return error_body(error.message, type=ERROR_TYPES[error.type])


def encode_stream_error(error: StreamError) -> bytes:
    return frame(error_body(error.message, type=ERROR_TYPES[error.type]), "error")


def error_body(message: str, *, type: str) -> bytes:
    """`{"type":"error","error":{"type":...,"message":...}}` with an Anthropic error type."""
    return json_encode({"type": "error", "error": {"type": type, "message": message}})
