"""Canonical request -> the Responses request body for an upstream that speaks it.

Always stateless (`store: false`, the whole conversation in `input`). Thinking from earlier
turns is not sent: its signature may be another provider's, which OpenAI would refuse. An
output limit below OpenAI's minimum is raised to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.base import data_url, json_encode
from aigateway.adapters.codecs.openai_responses.request_in import namespaces
from aigateway.adapters.codecs.openai_responses.wire import FORMAT, MIN_OUTPUT_TOKENS, unsupported
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ChatRequest,
    ImagePart,
    OpaquePart,
    TextPart,
    Thinking,
    Tool,
    ToolCallPart,
    ToolResultPart,
)


def _opaque(part: OpaquePart) -> Any | None:
    """Its own format's part written back; another's left out when droppable, else refused."""
    if part.format == FORMAT:
        return part.data
    if part.droppable:
        return None
    raise unsupported(f"{part.format} {part.kind} `{part.name}`")


def _image(part: ImagePart, role: str) -> dict[str, Any]:
    if role == "assistant":
        raise unsupported("an image in an assistant turn")
    url = part.url or data_url(part.media_type or "image/png", part.data or "")
    image: dict[str, Any] = {"type": "input_image", "image_url": url}
    image["detail"] = part.detail or "auto"
    return image


def _content(parts: list[Any], role: str) -> list[dict[str, Any]]:
    text_type = "output_text" if role == "assistant" else "input_text"
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": text_type, "text": part.text})
        elif isinstance(part, ImagePart):
            out.append(_image(part, role))
        elif isinstance(part, OpaquePart):
            data = _opaque(part)
            if data is not None:
                out.append(data)
    return out


def _output(result: ToolResultPart) -> str | list[dict[str, Any]]:
    if all(isinstance(part, TextPart) for part in result.content):
        return "".join(part.text for part in result.content if isinstance(part, TextPart))
    return _content(list(result.content), "user")


def _flush(items: list[dict[str, Any]], pending: list[Any], role: str) -> None:
    """The message content gathered until an item of another kind."""
    if pending:
        items.append({"type": "message", "role": role, "content": _content(pending, role)})
        pending.clear()


def _hosted(request: ChatRequest) -> dict[int, list[dict[str, Any]]]:
    """This format's hosted items by the position they go back to; another format's
    request-level parts are left out when droppable, else refused."""
    placed: dict[int, list[dict[str, Any]]] = {}
    for field in request.opaque:
        if field.format == FORMAT and field.kind == "item":
            placed.setdefault(field.data["position"], []).append(field.data["item"])
        else:
            _opaque(field)
    return placed


def _items(request: ChatRequest) -> list[dict[str, Any]]:
    hosted = _hosted(request)
    items: list[dict[str, Any]] = []
    position = 0
    for message in request.messages:
        role = message.role
        pending: list[Any] = []
        for part in message.content:
            if position in hosted:
                _flush(items, pending, role)
                items += hosted.pop(position)
            position += 1
            if isinstance(part, TextPart | ImagePart):
                pending.append(part)
            elif isinstance(part, ToolCallPart):
                _flush(items, pending, role)
                arguments = part.raw_arguments
                if arguments is None:
                    arguments = json_encode(part.arguments).decode()
                call = {"call_id": part.id, "name": part.name, "arguments": arguments}
                items.append({"type": "function_call", **call})
            elif isinstance(part, ToolResultPart):
                _flush(items, pending, role)
                output = _output(part)
                if part.is_error and isinstance(output, str):
                    output = f"Error: {output}"
                result = {"call_id": part.tool_call_id, "output": output}
                items.append({"type": "function_call_output", **result})
            elif isinstance(part, OpaquePart) and _opaque(part) is not None:
                pending.append(part)
            # ThinkingPart: left out (see the module docstring)
        _flush(items, pending, role)
    for after_the_last in sorted(hosted):
        items += hosted[after_the_last]
    return items


def _tool(tool: Tool | OpaquePart) -> dict[str, Any] | None:
    if isinstance(tool, OpaquePart):
        return _opaque(tool)
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["parameters"] = tool.parameters or {"type": "object", "properties": {}}
    out["strict"] = bool(tool.strict)
    return out


def _reasoning(thinking: Thinking | None, budgets: Mapping[str, int]) -> dict[str, Any] | None:
    if thinking is None:
        return None
    if not thinking.enabled:
        return {"effort": "none"}
    if thinking.effort is not None:
        return {"effort": thinking.effort}
    if thinking.budget_tokens is not None:
        for effort in ("low", "medium", "high"):
            if thinking.budget_tokens <= budgets.get(effort, 0):
                return {"effort": effort}
        return {"effort": "high"}
    return {"effort": "medium"}


def to_wire_request(request: ChatRequest, budgets: Mapping[str, int]) -> dict[str, Any]:
    body: dict[str, Any] = dict(request.extras.get(FORMAT, {}))
    body["model"] = request.model
    if request.system:
        body["instructions"] = "\n\n".join(part.text for part in request.system)
    body["input"] = _items(request)
    grouped = namespaces(request)  # written back inside their namespace tool
    tools = [
        out
        for tool in request.tools
        if not (isinstance(tool, Tool) and tool.name in grouped) and (out := _tool(tool))
    ]
    if tools:
        body["tools"] = tools
    choice = request.tool_choice
    if choice is not None and tools:
        if choice.mode == "tool" and choice.name is not None:
            body["tool_choice"] = {"type": "function", "name": choice.name}
        else:
            body["tool_choice"] = choice.mode if choice.mode != "tool" else "required"
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.max_tokens is not None:
        body["max_output_tokens"] = max(request.max_tokens, MIN_OUTPUT_TOKENS)
    for name, value in (
        ("temperature", request.temperature),
        ("top_p", request.top_p),
    ):
        if value is not None:
            body[name] = value
    reasoning = _reasoning(request.thinking, budgets)
    if reasoning is not None:
        body["reasoning"] = reasoning
    response_format = request.response_format
    if response_format is not None:
        kind = response_format.get("type")
        text = dict(body.get("text") or {})
        if kind == "json_schema":
            schema = response_format.get("json_schema") or {}
            if not isinstance(schema, dict):
                raise invalid_request(
                    "response_format.json_schema must be an object", param="response_format"
                )
            text["format"] = {"type": "json_schema", **schema}
        elif kind == "json_object":
            text["format"] = {"type": "json_object"}
        if text:
            body["text"] = text
    if request.user is not None:
        body["safety_identifier"] = request.user
    body["store"] = False
    body["stream"] = request.stream
    return body
