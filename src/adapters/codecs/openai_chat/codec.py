"""`OpenAIChatCodec`: OpenAI Chat Completions <-> canonical model, per upstream options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    answer_too_deep,
    client_too_deep,
    upstream_too_deep,
    when_nested_too_deeply,
)
from aigateway.adapters.codecs.openai_chat import errors, request_in, request_out, responses
from aigateway.adapters.codecs.openai_chat.streams import OpenAIStreamDecoder, OpenAIStreamEncoder
from aigateway.adapters.codecs.openai_chat.wire import FORMAT, TITLE
from aigateway.domain.llm import (
    ApiError,
    ChatRequest,
    ChatResponse,
    StreamError,
)


class OpenAIChatCodec:
    """OpenAI Chat Completions <-> canonical model.

    Options (per upstream): `max_tokens_field` is the name sent upstream (`max_tokens`, or
    `max_completion_tokens` for OpenAI's reasoning models); `reasoning_history` sends thinking
    from earlier assistant turns back as `reasoning_content` (DeepSeek-style servers want it;
    api.openai.com rejects it, so it is off by default); `send_top_k` forwards `top_k` (not an
    OpenAI parameter; many compatible servers accept it); `send_reasoning_effort` turns a
    thinking request into `reasoning_effort` (off for models that reject the parameter);
    `effort_budgets` maps a thinking budget to a `reasoning_effort`.
    """

    format = FORMAT

    def __init__(
        self,
        *,
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        reasoning_history: bool = False,
        send_top_k: bool = False,
        send_reasoning_effort: bool = True,
        effort_budgets: Mapping[str, int] | None = None,
    ) -> None:
        self.max_tokens_field = max_tokens_field
        self.reasoning_history = reasoning_history
        self.send_top_k = send_top_k
        self.send_reasoning_effort = send_reasoning_effort
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)

    @when_nested_too_deeply(client_too_deep)
    def decode_request(self, body: bytes) -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s."""
        return request_in.decode_request(body)

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the OpenAI JSON document (raises UnsupportedContent)."""
        return request_out.to_wire_request(self, request)

    @when_nested_too_deeply(client_too_deep)
    def encode_request(self, request: ChatRequest) -> bytes:
        return request_out.encode_request(self, request)

    @when_nested_too_deeply(upstream_too_deep)
    def decode_response(self, body: bytes) -> ChatResponse:
        return responses.decode_response(body)

    def to_wire_response(
        self, response: ChatResponse, *, created: int | None = None
    ) -> dict[str, Any]:
        return responses.to_wire_response(response, created=created)

    @when_nested_too_deeply(answer_too_deep(TITLE))
    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        """`created` (unix seconds) when the response came from a format without one."""
        return responses.encode_response(response, created=created)

    def stream_decoder(self) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> OpenAIStreamEncoder:
        return OpenAIStreamEncoder(include_usage=include_usage, created=created, model=model)

    def decode_error(self, status: int, body: bytes) -> ApiError:
        """An upstream error answer (any shape) -> ApiError; the type follows the status."""
        return errors.decode_error(status, body)

    def encode_error(self, error: ApiError) -> bytes:
        return errors.encode_error(error)

    def encode_stream_error(self, error: StreamError) -> bytes:
        return errors.encode_stream_error(error)
