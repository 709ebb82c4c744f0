"""Anthropic message bodies <-> canonical responses."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.anthropic_messages.request_in import block_in
from aigateway.adapters.codecs.anthropic_messages.request_out import block_out
from aigateway.adapters.codecs.anthropic_messages.wire import (
    decode_response_body,
    stop_reason,
    stop_reason_out,
    usage_in,
    usage_out,
)
from aigateway.adapters.codecs.base import WireFormatError, json_encode
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import ChatResponse, Usage


def decode_response(body: bytes) -> ChatResponse:
    try:
        wire = decode_response_body(body)
    except msgspec.MsgspecError as exc:
        raise WireFormatError(f"not an Anthropic message: {exc}") from None
    try:
        content = tuple(block_in(raw, f"content[{k}]") for k, raw in enumerate(wire.content))
    except GatewayError as exc:  # a 400 about the upstream's body is not the client's
        raise WireFormatError(f"malformed Anthropic content block: {exc}") from None
    return ChatResponse(
        id=wire.id,
        model=wire.model,
        content=content,
        stop_reason=stop_reason(wire.stop_reason),
        stop_sequence=wire.stop_sequence,
        usage=usage_in(wire.usage) if wire.usage else Usage(),
    )


def to_wire_response(response: ChatResponse) -> dict[str, Any]:
    content = [block_out(part, request=False) for part in response.content]
    return {
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": [block for block in content if block is not None],
        "stop_reason": stop_reason_out(response.stop_reason),
        "stop_sequence": response.stop_sequence,
        "usage": usage_out(response.usage),
    }


def encode_response(response: ChatResponse, *, created: int | None = None) -> bytes:
    return json_encode(to_wire_response(response))
