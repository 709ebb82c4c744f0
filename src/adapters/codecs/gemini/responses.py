"""Gemini generateContent bodies <-> canonical responses."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import WireFormatError, json_encode
from aigateway.adapters.codecs.gemini.parts import Ids, parts_in, parts_out
from aigateway.adapters.codecs.gemini.wire import (
    WireCandidate,
    decode_answer,
    finish_reason,
    finish_reason_out,
    usage_in,
    usage_out,
)
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import ChatResponse, ToolCallPart, Usage


def decode_response(body: bytes) -> ChatResponse:
    try:
        wire = decode_answer(body)
    except msgspec.MsgspecError as exc:
        raise WireFormatError(f"not a Gemini response: {exc}") from None
    candidate = wire.candidates[0] if wire.candidates else WireCandidate()
    raw_parts = candidate.content.parts if candidate.content else []
    try:
        content = parts_in(raw_parts, "candidates[0].content.parts", Ids())
    except GatewayError as exc:  # a 400 about the upstream's body is not the client's
        raise WireFormatError(f"malformed Gemini part: {exc}") from None
    has_calls = any(isinstance(part, ToolCallPart) for part in content)
    return ChatResponse(
        id=wire.responseId or "",
        model=wire.modelVersion or "",
        content=tuple(content),
        stop_reason=finish_reason(candidate.finishReason, has_calls=has_calls),
        usage=usage_in(wire.usageMetadata) if wire.usageMetadata else Usage(),
    )


def to_wire_response(response: ChatResponse) -> dict[str, Any]:
    parts = parts_out(response.content, {}, request=False)
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": finish_reason_out(response.stop_reason),
                "index": 0,
            }
        ],
        "usageMetadata": usage_out(response.usage),
        "modelVersion": response.model,
        "responseId": response.id,
    }


def encode_response(response: ChatResponse, *, created: int | None = None) -> bytes:
    return json_encode(to_wire_response(response))
