"""Whole answers: canonical response <-> the `response` object.

Thinking becomes a `reasoning` item (its text as the summary, its signature as
`encrypted_content`, so a client replaying the item gives it back); consecutive text parts make
one `message` item; tool calls are `function_call` items.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aigateway.adapters.codecs.base import WireFormatError, json_decode, json_encode
from aigateway.adapters.codecs.openai_responses.request_in import CUSTOM_INPUT
from aigateway.adapters.codecs.openai_responses.wire import (
    REDACTED_PREFIX,
    SUMMARY_SEPARATOR,
    new_id,
    response_id,
    status_of,
    stop_of,
    unsupported,
    usage_in,
    usage_out,
)
from aigateway.domain.llm import (
    ChatResponse,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    parse_tool_arguments,
)

EMPTY: Mapping[str, str] = MappingProxyType({})


def reasoning_item(part: ThinkingPart, item_id: str) -> dict[str, Any]:
    encrypted = part.signature
    if part.redacted_data is not None:
        encrypted = REDACTED_PREFIX + part.redacted_data
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
    if part.text:
        item["summary"] = [{"type": "summary_text", "text": part.text}]
    if encrypted:
        item["encrypted_content"] = encrypted
    return item


def message_item(text: str, item_id: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def call_item(
    call_id: str,
    name: str,
    arguments: str,
    item_id: str,
    status: str = "completed",
    namespace: str | None = None,
) -> dict[str, Any]:
    item = {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }
    if namespace:
        item["namespace"] = namespace
    return item


def shell(
    rid: str, model: str, created: int, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    """The `response` object around `output` (the fields the SDKs require, and the usual)."""
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "store": False,
        "temperature": None,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": None,
        "metadata": {},
    }


def _output(content: tuple[Part, ...], groups: Mapping[str, str]) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    texts: list[str] = []
    for part in content:
        if not isinstance(part, TextPart) and texts:
            output.append(message_item("".join(texts), new_id("msg")))
            texts = []
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ThinkingPart):
            if part.text or part.signature or part.redacted_data is not None:
                output.append(reasoning_item(part, new_id("rs")))
        elif isinstance(part, ToolCallPart):
            arguments = part.raw_arguments
            if arguments is None:
                arguments = json_encode(part.arguments).decode()
            group = groups.get(part.name)
            output.append(call_item(part.id, part.name, arguments, new_id("fc"), namespace=group))
        elif isinstance(part, OpaquePart):
            if not part.droppable:
                raise unsupported(f"{part.format} {part.kind} `{part.name}`")
        else:
            raise unsupported(f"a {type(part).__name__} in an answer")
    if texts:
        output.append(message_item("".join(texts), new_id("msg")))
    return output


def to_wire_response(
    response: ChatResponse, *, created: int | None = None, groups: Mapping[str, str] = EMPTY
) -> dict[str, Any]:
    """`groups`: function name -> the namespace the client offered it in."""
    status, details = status_of(response.stop_reason)
    stamp = response.created or created or int(time.time())
    output = _output(response.content, groups)
    body = shell(response_id(response.id), response.model, stamp, status, output)
    body["incomplete_details"] = details
    body["usage"] = usage_out(response.usage)
    return body


def encode_response(
    response: ChatResponse, *, created: int | None = None, groups: Mapping[str, str] = EMPTY
) -> bytes:
    return json_encode(to_wire_response(response, created=created, groups=groups))


def output_parts(output: object) -> tuple[list[Part], bool]:
    """The parts of a response's `output`, and whether it holds a tool call."""
    if not isinstance(output, list):
        raise WireFormatError("Responses answer without an output array")
    parts: list[Part] = []
    called = False
    for item in output:
        if not isinstance(item, dict):
            raise WireFormatError("Responses output item is not an object")
        kind = item.get("type")
        if kind == "message":
            for piece in item.get("content") or ():
                if isinstance(piece, dict) and isinstance(piece.get("text"), str):
                    parts.append(TextPart(piece["text"]))
                elif isinstance(piece, dict) and isinstance(piece.get("refusal"), str):
                    parts.append(TextPart(piece["refusal"]))
        elif kind in ("function_call", "custom_tool_call"):
            called = True
            if kind == "function_call":
                arguments, raw = parse_tool_arguments(str(item.get("arguments") or ""))
            else:
                arguments, raw = {CUSTOM_INPUT: str(item.get("input") or "")}, None
            call_id = str(item.get("call_id") or item.get("id") or "")
            name = str(item.get("name") or "")
            parts.append(
                ToolCallPart(id=call_id, name=name, arguments=arguments, raw_arguments=raw)
            )
        elif kind == "reasoning":
            parts += _reasoning_parts(item)
        # hosted tools' items: the upstream ran them, no other format can show them
    return parts, called


def _reasoning_parts(item: dict[str, Any]) -> list[Part]:
    texts = [
        str(entry.get("text") or "")
        for entry in item.get("summary") or item.get("content") or ()
        if isinstance(entry, dict)
    ]
    encrypted = item.get("encrypted_content")
    encrypted = encrypted if isinstance(encrypted, str) and encrypted else None
    if encrypted is not None and encrypted.startswith(REDACTED_PREFIX):
        return [ThinkingPart(redacted_data=encrypted[len(REDACTED_PREFIX) :])]
    if not texts and encrypted is None:
        return []
    return [ThinkingPart(text=SUMMARY_SEPARATOR.join(texts), signature=encrypted)]


def decode_response(body: bytes) -> ChatResponse:
    try:
        document = json_decode(body)
    except Exception as exc:
        raise WireFormatError(f"malformed Responses answer: {exc}") from None
    if not isinstance(document, dict):
        raise WireFormatError("Responses answer is not an object")
    parts, called = output_parts(document.get("output"))
    created = document.get("created_at")
    return ChatResponse(
        id=str(document.get("id") or ""),
        model=str(document.get("model") or ""),
        content=tuple(parts),
        stop_reason=stop_of(document.get("status"), document.get("incomplete_details"), called),
        usage=usage_in(document.get("usage")),
        created=created if isinstance(created, int) else None,
    )
