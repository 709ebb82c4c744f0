"""Canonical request -> OpenAI request body (raises UnsupportedContent)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.openai_chat.wire import (
    FORMAT,
    arguments_out,
    image_out,
    opaque_unsupported,
    text_content,
    unsupported,
)
from aigateway.adapters.codecs.tool_lists import as_sent
from aigateway.domain.llm import (
    ChatRequest,
    ImagePart,
    OpaquePart,
    Part,
    TextPart,
    Thinking,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

if TYPE_CHECKING:
    from aigateway.adapters.codecs.openai_chat.codec import OpenAIChatCodec

MAX_USER_LENGTH = 64


def to_wire_request(codec: OpenAIChatCodec, request: ChatRequest) -> dict[str, Any]:
    """Canonical request -> the OpenAI JSON document (raises UnsupportedContent)."""
    body: dict[str, Any] = dict(request.extras.get(FORMAT, {}))
    stream_options = body.pop("stream_options", None)
    body["model"] = request.model
    body["messages"] = _messages_out(codec, request)
    tools = [
        tool
        for tool in request.tools
        if not (isinstance(tool, OpaquePart) and tool.droppable and tool.format != FORMAT)
    ]
    if tools:
        body["tools"] = [_tool_out(tool) for tool in tools]
    if request.tool_choice is not None:
        choice = request.tool_choice
        body["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name or ""}}
            if choice.mode == "tool"
            else choice.mode
        )
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.max_tokens is not None:
        body[codec.max_tokens_field] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.top_k is not None and codec.send_top_k:
        body["top_k"] = request.top_k
    if request.stop:
        body["stop"] = list(request.stop)
    if request.stream:
        body["stream"] = True
        if request.include_usage or stream_options:
            body["stream_options"] = {
                **(stream_options or {}),
                "include_usage": request.include_usage,
            }
    effort = _effort_out(codec, request.thinking) if codec.send_reasoning_effort else None
    if effort is not None:
        body["reasoning_effort"] = effort
    if request.user is not None:
        body["user"] = _user_out(request.user)
    if request.response_format is not None:
        body["response_format"] = request.response_format
    for field in request.opaque:
        if field.format == FORMAT:
            body[field.name] = field.data
        elif not field.droppable:
            raise opaque_unsupported(field)
    return body


def _user_out(user: str) -> str:
    """OpenAI refuses a `user` over 64 characters; Claude Code's `metadata.user_id` is a JSON
    document of about 150. A longer id is sent as its SHA-256 (stable per user, 64 hex)."""
    if len(user) <= MAX_USER_LENGTH:
        return user
    return hashlib.sha256(user.encode()).hexdigest()


def encode_request(codec: OpenAIChatCodec, request: ChatRequest) -> bytes:
    return json_encode(to_wire_request(codec, request))


def _effort_out(codec: OpenAIChatCodec, thinking: Thinking | None) -> str | None:
    if thinking is None:
        return None
    if thinking.effort is not None:
        return thinking.effort
    if not thinking.enabled or thinking.budget_tokens is None:
        return None
    for effort in ("low", "medium", "high"):
        if thinking.budget_tokens <= codec.effort_budgets.get(effort, 0):
            return effort
    return "high"


def _messages_out(codec: OpenAIChatCodec, request: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": text_content([p.text for p in request.system])})
    for message in request.messages:
        if message.role == "assistant":
            out.append(_assistant_out(codec, message.content))
            continue
        results = [p for p in message.content if isinstance(p, ToolResultPart)]
        others: list[Part] = [p for p in message.content if not isinstance(p, ToolResultPart)]
        if len(others) == 1 and isinstance(others[0], OpaquePart):
            opaque = others[0]
            if opaque.kind == "message":
                if opaque.format != FORMAT:
                    raise opaque_unsupported(opaque)
                out.append(opaque.data)
                continue
        hoisted: list[Part] = []
        for result in results:
            out.append(_tool_result_out(result, hoisted))
        others = hoisted + others
        if others or not results:
            out.append({"role": "user", "content": _user_content_out(others)})
    return out


def _tool_result_out(result: ToolResultPart, hoisted: list[Part]) -> dict[str, Any]:
    texts: list[str] = []
    images: list[ImagePart] = []
    for part in result.content:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ImagePart):
            images.append(part)
        else:
            raise opaque_unsupported(part)
    if images:
        # Tool messages take text only: the images follow in a user message.
        hoisted.append(TextPart(f"[images returned by tool call {result.tool_call_id}]"))
        hoisted.extend(images)
    content: str | list[dict[str, Any]] = text_content(texts) if texts else ""
    return {"role": "tool", "tool_call_id": result.tool_call_id, "content": content}


def _user_content_out(parts: list[Part]) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            out.append(image_out(part))
        elif isinstance(part, OpaquePart) and part.format == FORMAT and part.kind == "part":
            out.append(part.data)
        elif isinstance(part, OpaquePart):
            raise opaque_unsupported(part)
        elif isinstance(part, ThinkingPart):
            raise unsupported("thinking in a user message")
        else:
            raise unsupported("a tool call in a user message")
    return out


def _assistant_out(codec: OpenAIChatCodec, parts: tuple[Part, ...]) -> dict[str, Any]:
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    message: dict[str, Any] = {"role": "assistant"}
    for part in parts:
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
            # Earlier reasoning is not content the model needs; sent only when configured.
            if not part.redacted and part.text:
                reasoning.append(part.text)
        elif isinstance(part, OpaquePart) and part.format == FORMAT:
            if part.name == "function_call":
                message["function_call"] = part.data
            else:
                calls.append(part.data)
        elif isinstance(part, OpaquePart):
            raise opaque_unsupported(part)
        elif isinstance(part, ImagePart):
            raise unsupported("an image in an assistant message")
        else:
            raise unsupported("a tool result in an assistant message")
    message["content"] = text_content(texts) if texts else None
    if reasoning and codec.reasoning_history:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_out(tool: Tool | OpaquePart) -> dict[str, Any]:
    if isinstance(tool, OpaquePart):
        if tool.format != FORMAT:
            raise opaque_unsupported(tool)
        return dict(tool.data)
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = as_sent(tool.parameters)
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}
