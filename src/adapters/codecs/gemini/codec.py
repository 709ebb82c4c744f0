"""`GeminiCodec`: Gemini generateContent <-> canonical model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    NESTED_TOO_DEEPLY,
    UPSTREAM_NESTED_TOO_DEEPLY,
    WireFormatError,
)
from aigateway.adapters.codecs.gemini import errors, request_in, request_out, responses
from aigateway.adapters.codecs.gemini.streams import GeminiStreamDecoder, GeminiStreamEncoder
from aigateway.adapters.codecs.gemini.wire import FORMAT, TITLE
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ApiError,
    ChatRequest,
    ChatResponse,
    StreamError,
    UnsupportedContent,
    WireFormat,
)


class GeminiCodec:
    """Gemini generateContent <-> canonical model.

    `effort_budgets` turns an OpenAI `reasoning_effort` into a `thinkingBudget`.
    """

    def __init__(self, *, effort_budgets: Mapping[str, int] | None = None) -> None:
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)

    @property
    def format(self) -> WireFormat:
        return FORMAT

    def decode_request(self, body: bytes, *, model: str = "") -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s. `model`
        comes from the URL (a `model` field in the body, if any, is used when it is empty)."""
        try:
            return request_in.decode_request(body, model=model)
        except RecursionError:
            raise invalid_request(NESTED_TOO_DEEPLY) from None

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the Gemini JSON document (raises UnsupportedContent)."""
        return request_out.to_wire_request(self, request)

    def encode_request(self, request: ChatRequest) -> bytes:
        try:
            return request_out.encode_request(self, request)
        except RecursionError:
            raise invalid_request(NESTED_TOO_DEEPLY) from None

    def decode_response(self, body: bytes) -> ChatResponse:
        try:
            return responses.decode_response(body)
        except RecursionError:
            raise WireFormatError(UPSTREAM_NESTED_TOO_DEEPLY) from None

    def to_wire_response(self, response: ChatResponse) -> dict[str, Any]:
        return responses.to_wire_response(response)

    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        try:
            return responses.encode_response(response)
        except RecursionError:
            raise UnsupportedContent("an answer nested this deeply", TITLE) from None

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> GeminiStreamEncoder:
        return GeminiStreamEncoder(model=model)

    def decode_error(self, status: int, body: bytes) -> ApiError:
        return errors.decode_error(status, body)

    def encode_error(self, error: ApiError) -> bytes:
        return errors.encode_error(error)

    def encode_stream_error(self, error: StreamError) -> bytes:
        return errors.encode_stream_error(error)
