"""`OpenAIResponsesCodec`: OpenAI Responses <-> canonical model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    answer_too_deep,
    client_too_deep,
    json_encode,
    upstream_too_deep,
    when_nested_too_deeply,
)
from aigateway.adapters.codecs.openai_responses import errors, request_in, request_out, responses
from aigateway.adapters.codecs.openai_responses.request_in import namespaces
from aigateway.adapters.codecs.openai_responses.responses import EMPTY
from aigateway.adapters.codecs.openai_responses.streams import (
    ResponsesStreamDecoder,
    ResponsesStreamEncoder,
)
from aigateway.adapters.codecs.openai_responses.wire import FORMAT, TITLE
from aigateway.domain.llm import ApiError, ChatRequest, ChatResponse, StreamError


class OpenAIResponsesCodec:
    """OpenAI Responses <-> canonical model. `effort_budgets` maps a thinking budget to a
    `reasoning.effort` for a Responses upstream."""

    format = FORMAT

    def __init__(
        self,
        *,
        effort_budgets: Mapping[str, int] | None = None,
        groups: Mapping[str, str] = EMPTY,
    ) -> None:
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)
        self.groups = groups  # function name -> its namespace, for one request's answers

    def for_request(self, request: ChatRequest) -> OpenAIResponsesCodec:
        """The codec that renders the answers to `request`: calls of functions the client
        offered inside a `namespace` tool name that namespace (Codex runs them only then)."""
        groups = namespaces(request)
        if not groups:
            return self
        return OpenAIResponsesCodec(effort_budgets=self.effort_budgets, groups=groups)

    @when_nested_too_deeply(client_too_deep)
    def decode_request(self, body: bytes) -> ChatRequest:
        return request_in.decode_request(body)

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        return request_out.to_wire_request(request, self.effort_budgets)

    @when_nested_too_deeply(client_too_deep)
    def encode_request(self, request: ChatRequest) -> bytes:
        return json_encode(self.to_wire_request(request))

    @when_nested_too_deeply(upstream_too_deep)
    def decode_response(self, body: bytes) -> ChatResponse:
        return responses.decode_response(body)

    @when_nested_too_deeply(answer_too_deep(TITLE))
    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        return responses.encode_response(response, created=created, groups=self.groups)

    def stream_decoder(self) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(created=created, model=model, groups=self.groups)

    def decode_error(self, status: int, body: bytes) -> ApiError:
        return errors.decode_error(status, body)

    def encode_error(self, error: ApiError) -> bytes:
        return errors.encode_error(error)

    def encode_stream_error(self, error: StreamError) -> bytes:
        encoder = ResponsesStreamEncoder()
        return encoder.encode(error)
