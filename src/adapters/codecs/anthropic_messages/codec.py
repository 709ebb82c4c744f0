"""`AnthropicMessagesCodec`: Anthropic Messages <-> canonical model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.anthropic_messages import errors, request_in, request_out, responses
from aigateway.adapters.codecs.anthropic_messages.streams import (
    AnthropicStreamDecoder,
    AnthropicStreamEncoder,
)
from aigateway.adapters.codecs.anthropic_messages.wire import DEFAULT_MAX_TOKENS, FORMAT, TITLE
from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    answer_too_deep,
    client_too_deep,
    upstream_too_deep,
    when_nested_too_deeply,
)
from aigateway.domain.llm import (
    ApiError,
    ChatRequest,
    ChatResponse,
    StreamError,
)


class AnthropicMessagesCodec:
    """Anthropic Messages <-> canonical model.

    `default_max_tokens` fills the required `max_tokens` when the source request had none;
    `effort_budgets` turns an OpenAI `reasoning_effort` into a thinking budget.
    """

    format = FORMAT

    def __init__(
        self,
        *,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        effort_budgets: Mapping[str, int] | None = None,
    ) -> None:
        self.default_max_tokens = default_max_tokens
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)

    @when_nested_too_deeply(client_too_deep)
    def decode_request(self, body: bytes) -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s."""
        return request_in.decode_request(body)

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the Anthropic JSON document (raises UnsupportedContent)."""
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

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(model=model)

    def decode_error(self, status: int, body: bytes) -> ApiError:
        return errors.decode_error(status, body)

    def encode_error(self, error: ApiError) -> bytes:
        return errors.encode_error(error)

    def encode_stream_error(self, error: StreamError) -> bytes:
        return errors.encode_stream_error(error)
