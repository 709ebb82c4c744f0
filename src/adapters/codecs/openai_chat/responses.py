"""OpenAI chat completion bodies <-> canonical responses."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import WireFormatError, json_encode
from aigateway.adapters.codecs.openai_chat.request_in import tool_call_in
from aigateway.adapters.codecs.openai_chat.wire import (
    FORMAT,
    arguments_out,
    decode_response_body,
    finish_reason,
    opaque_unsupported,
    reasoning_text,
    stop_reason,
    unsupported,
    usage_in,
    usage_out,
)
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import (
    ChatResponse,
    ImagePart,
    OpaquePart,
    Part,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
)
from aigateway.domain.llm import Usage as CanonicalUsage


def decode_response(body: bytes) -> ChatResponse:
    try:
        wire = decode_response_body(body)
    except msgspec.MsgspecError as exc:
        raise WireFormatError(f"not an OpenAI chat completion: {exc}") from None
    if not wire.choices:
        raise WireFormatError("OpenAI chat completion without choices")
    choice = wire.choices[0]
    message = choice.message
    parts: list[Part] = []
    reasoning = message.reasoning_content or reasoning_text(message.reasoning)
    if reasoning:
        parts.append(ThinkingPart(text=reasoning))
    if isinstance(message.content, str):
        if message.content:
            parts.append(TextPart(message.content))
    elif message.content:
        for raw in message.content:
            if raw.get("type") == "text" and isinstance(raw.get("text"), str):
                parts.append(TextPart(raw["text"]))
            elif raw.get("type") == "refusal" and isinstance(raw.get("refusal"), str):
                parts.append(TextPart(raw["refusal"]))
    if message.refusal:
        parts.append(TextPart(message.refusal))
    has_calls = False
    for j, raw in enumerate(message.tool_calls or ()):
        try:
            call = tool_call_in(raw, f"choices[0].message.tool_calls[{j}]")
        except GatewayError as exc:
            raise WireFormatError(exc.message) from None
        has_calls = True
        parts.append(call)
    stop = stop_reason(choice.finish_reason)
    if has_calls and stop is StopReason.END_TURN:
        stop = StopReason.TOOL_USE
    return ChatResponse(
        id=wire.id,
        model=wire.model,
        content=tuple(parts),
        stop_reason=stop,
        usage=usage_in(wire.usage) if wire.usage else CanonicalUsage(),
        created=wire.created,
    )


def to_wire_response(response: ChatResponse, *, created: int | None = None) -> dict[str, Any]:
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in response.content:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ToolCallPart):
            calls.append(
                {
                    "id": part.id,
                    "type": "function",
                    "function": {"name": part.name, "arguments": arguments_out(part)},
                }
            )
        elif isinstance(part, ThinkingPart):
            if part.text:
                reasoning.append(part.text)
        elif isinstance(part, OpaquePart):
            if part.format != FORMAT:
                raise opaque_unsupported(part)
            calls.append(part.data)
        elif isinstance(part, ImagePart):
            raise unsupported("an image in an assistant answer")
        else:
            raise unsupported("a tool result in an assistant answer")
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
    }
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    return {
        "id": response.id,
        "object": "chat.completion",
        "created": created if created is not None else response.created or 0,
        "model": response.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(response.stop_reason),
            }
        ],
        "usage": usage_out(response.usage),
    }


def encode_response(response: ChatResponse, *, created: int | None = None) -> bytes:
    """`created` (unix seconds) when the response came from a format without one."""
    return json_encode(to_wire_response(response, created=created))
