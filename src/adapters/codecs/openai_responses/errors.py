"""Errors: the same error object as OpenAI's Chat Completions for whole answers; a stream that
fails ends with a `response.failed` event whose `error.code` says what happened."""

from __future__ import annotations

from aigateway.adapters.codecs.openai_chat.errors import decode_error, encode_error
from aigateway.adapters.codecs.openai_responses.wire import FAILED_CODES
from aigateway.domain.llm import StreamError

__all__ = ["decode_error", "encode_error", "failed_error"]


def failed_error(error: StreamError) -> dict[str, str]:
    """The `error` of a `response.failed` event."""
    return {"code": FAILED_CODES.get(error.type, "server_error"), "message": error.message}
