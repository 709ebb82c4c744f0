"""`GeminiCodec`: Gemini generateContent <-> canonical model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    answer_too_deep,
    client_too_deep,
    upstream_too_deep,
    when_nested_too_deeply,
)
from aigateway.adapters.codecs.gemini import errors, request_in, request_out, responses
from aigateway.adapters.codecs.gemini.streams import GeminiStreamDecoder, GeminiStreamEncoder
from aigateway.adapters.codecs.gemini.wire import FORMAT, TITLE
from aigateway.domain.llm import (
    ApiError,
    ChatRequest,
    ChatResponse,
    StreamError,
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

    @when_nested_too_deeply(client_too_deep)
    def decode_request(self, body: bytes, *, model: str = "") -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s. `model`
        comes from the URL (a `model` field in the body, if any, is used when it is empty)."""
        return request_in.decode_request(body, model=model)

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the Gemini JSON document (raises UnsupportedContent)."""
        return request_out.to_wire_request(self, request)

    @when_nested_too_deeply(client_too_deep)
    def encode_request(self, request: ChatRequest) -> bytes:
        return request_out.encode_request(self, request)

    @when_nested_too_deeply(upstream_too_deep)
    def decode_response(self, body: bytes) -> ChatResponse:
        return responses.decode_response(body)

    def to_wire_response(self, response: ChatResponse) -> dict[str, Any]:
        return responses.to_wire_response(response)

    @when_nested_too_deeply(answer_too_deep(TITLE))
    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        return responses.encode_response(response)

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
