"""Canonical request -> Anthropic request body (raises UnsupportedContent)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aigateway.adapters.codecs.anthropic_messages.wire import (
    FORMAT,
    MIN_THINKING_BUDGET,
    image_out,
    opaque_unsupported,
    tool_id,
    tool_input,
    unsupported,
    with_cache,
)
from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.tool_lists import as_sent
from aigateway.domain.llm import (
    ChatRequest,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

if TYPE_CHECKING:
    from aigateway.adapters.codecs.anthropic_messages.codec import AnthropicMessagesCodec


def to_wire_request(codec: AnthropicMessagesCodec, request: ChatRequest) -> dict[str, Any]:
    """Canonical request -> the Anthropic JSON document (raises UnsupportedContent)."""
    body: dict[str, Any] = dict(request.extras.get(FORMAT, {}))
    thinking, budget = _thinking_out(codec, request)
    max_tokens = request.max_tokens
    if max_tokens is None:
        max_tokens = codec.default_max_tokens
        if budget is not None and budget >= max_tokens:
            max_tokens = budget + codec.default_max_tokens
    body["model"] = request.model
    body["max_tokens"] = max_tokens
    if request.system:
        system = request.system
        if len(system) == 1 and system[0].cache_control is None:
            body["system"] = system[0].text
        else:
            body["system"] = [
                with_cache({"type": "text", "text": p.text}, p.cache_control) for p in system
            ]
    body["messages"] = [_message_out(message) for message in request.messages]
    tools = [
        tool
        for tool in request.tools
        if not (isinstance(tool, OpaquePart) and tool.droppable and tool.format != FORMAT)
    ]
    if tools:
        body["tools"] = [_tool_out(tool) for tool in tools]
        choice = _tool_choice_out(request)
        if choice is not None:
            body["tool_choice"] = choice
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.top_k is not None:
        body["top_k"] = request.top_k
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.stream:
        body["stream"] = True
    if thinking is not None:
        body["thinking"] = thinking
    if request.user is not None:
        body["metadata"] = {"user_id": request.user}
    output_format = _output_format_out(request.response_format)
    if output_format is not None:
        body["output_config"] = {**body.get("output_config", {}), "format": output_format}
    for field in request.opaque:
        if field.format == FORMAT:
            body[field.name] = field.data
        elif not field.droppable:
            raise opaque_unsupported(field)
    return body


def _output_format_out(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's `response_format` -> Anthropic's `output_config.format` (JSON schema only)."""
    if response_format is None or response_format.get("type") == "text":
        return None
    spec = response_format.get("json_schema")
    if response_format.get("type") == "json_schema" and isinstance(spec, dict):
        schema = spec.get("schema")
        if isinstance(schema, dict):
            return {"type": "json_schema", "schema": schema}
    raise unsupported(f"response_format `{response_format.get('type')}`")


def encode_request(codec: AnthropicMessagesCodec, request: ChatRequest) -> bytes:
    return json_encode(to_wire_request(codec, request))


def _thinking_out(
    codec: AnthropicMessagesCodec, request: ChatRequest
) -> tuple[dict[str, Any] | None, int | None]:
    thinking = request.thinking
    if thinking is None:
        return None, None
    if not thinking.enabled:
        return {"type": "disabled"}, None
    budget = thinking.budget_tokens
    if budget is None and thinking.effort is not None:
        found = codec.effort_budgets.get(thinking.effort)
        if found is None:
            raise unsupported(f"reasoning_effort `{thinking.effort}`")
        budget = found
        if request.max_tokens is not None and budget >= request.max_tokens:
            budget = request.max_tokens - 1  # the budget must stay below max_tokens
        if budget < MIN_THINKING_BUDGET:
            return None, None  # too few tokens to think: answer without thinking
    if budget is None:
        return {"type": "adaptive"}, None
    return {"type": "enabled", "budget_tokens": budget}, budget


def _tool_choice_out(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    out: dict[str, Any]
    if choice is None:
        if request.parallel_tool_calls is not False:
            return None
        out = {"type": "auto"}
    elif choice.mode == "tool":
        out = {"type": "tool", "name": choice.name or ""}
    else:
        out = {"type": "any" if choice.mode == "required" else choice.mode}
    if request.parallel_tool_calls is not None and out["type"] != "none":
        out["disable_parallel_tool_use"] = not request.parallel_tool_calls
    return out


def _tool_out(tool: Tool | OpaquePart) -> dict[str, Any]:
    if isinstance(tool, OpaquePart):
        if tool.format != FORMAT:
            raise opaque_unsupported(tool)
        return dict(tool.data)
    out: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["input_schema"] = (
        as_sent(tool.parameters)
        if tool.parameters is not None
        else {"type": "object", "properties": {}}
    )
    return with_cache(out, tool.cache_control)


def _message_out(message: Message) -> dict[str, Any]:
    parts = message.content
    if len(parts) == 1 and isinstance(parts[0], TextPart) and parts[0].cache_control is None:
        return {"role": message.role, "content": parts[0].text}
    several = len(parts) > 1  # Anthropic rejects empty text blocks next to other content
    blocks: list[dict[str, Any]] = []
    for part in parts:
        block = block_out(part, request=True)
        if block is not None and not (
            several and block.get("type") == "text" and not block.get("text")
        ):
            blocks.append(block)
    return {"role": message.role, "content": blocks}


def block_out(part: Part, *, request: bool) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return with_cache({"type": "text", "text": part.text}, part.cache_control)
    if isinstance(part, ToolCallPart):
        block = {
            "type": "tool_use",
            "id": tool_id(part.id),
            "name": part.name,
            "input": tool_input(part.arguments),
        }
        return with_cache(block, part.cache_control)
    if isinstance(part, ToolResultPart):
        if not request:
            raise unsupported("a tool result in an assistant answer")
        return _tool_result_out(part)
    if isinstance(part, ThinkingPart):
        if part.redacted_data is not None:
            return {"type": "redacted_thinking", "data": part.redacted_data}
        if request and not part.signature:
            return None  # unsigned thinking (another model's reasoning) cannot be sent back
        return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    if isinstance(part, ImagePart):
        if not request:
            raise unsupported("an image in an assistant answer")
        return image_out(part)
    if part.format != FORMAT:
        raise opaque_unsupported(part)
    return dict(part.data)


def _tool_result_out(part: ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(part.tool_call_id)}
    content = part.content
    if len(content) == 1 and isinstance(content[0], TextPart) and content[0].cache_control is None:
        block["content"] = content[0].text
    elif content:
        items: list[dict[str, Any]] = []
        for item in content:
            if isinstance(item, TextPart):
                items.append(with_cache({"type": "text", "text": item.text}, item.cache_control))
            elif isinstance(item, ImagePart):
                items.append(image_out(item))
            elif item.format == FORMAT:
                items.append(dict(item.data))
            else:
                raise opaque_unsupported(item)
        block["content"] = items
    if part.is_error:
        block["is_error"] = True
    return with_cache(block, part.cache_control)
