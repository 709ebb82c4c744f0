"""Anthropic client request body -> canonical request (400 naming the field)."""

from __future__ import annotations

from typing import Any

from aigateway.adapters.codecs.anthropic_messages.wire import (
    FORMAT,
    KNOWN_FIELDS,
    UNPORTABLE_FIELDS,
    WireBase64Source,
    WireImage,
    WireRedacted,
    WireRequest,
    WireText,
    WireThinkingBlock,
    WireTool,
    WireToolResult,
    WireToolUse,
    WireUrlSource,
)
from aigateway.adapters.codecs.base import convert, decode_body
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ChatRequest,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    TextPart,
    Thinking,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultContent,
    ToolResultPart,
)


def _image_in(raw: dict[str, Any], path: str) -> ImagePart | OpaquePart:
    image = convert(raw, WireImage, path)
    kind = image.source.get("type")
    if kind == "base64":
        source = convert(image.source, WireBase64Source, f"{path}.source")
        return ImagePart(
            media_type=source.media_type, data=source.data, cache_control=image.cache_control
        )
    if kind == "url":
        url = convert(image.source, WireUrlSource, f"{path}.source")
        return ImagePart(url=url.url, cache_control=image.cache_control)
    return OpaquePart(format=FORMAT, kind="block", name=f"image:{kind}", data=raw)


def _result_content_in(raw: dict[str, Any], path: str) -> ToolResultContent:
    kind = raw.get("type")
    if kind == "text":
        text = convert(raw, WireText, path)
        return TextPart(text.text, text.cache_control)
    if kind == "image":
        return _image_in(raw, path)
    if not isinstance(kind, str):
        raise invalid_request(f"{path}.type is required", param=f"{path}.type")
    return OpaquePart(format=FORMAT, kind="block", name=kind, data=raw)


def block_in(raw: dict[str, Any], path: str) -> Part:
    """One content block -> a canonical part (unknown block types become opaque parts)."""
    kind = raw.get("type")
    if kind == "text":
        text = convert(raw, WireText, path)
        return TextPart(text.text, text.cache_control)
    if kind == "image":
        return _image_in(raw, path)
    if kind == "tool_use":
        use = convert(raw, WireToolUse, path)
        arguments = use.input if use.input is not None else {}
        return ToolCallPart(
            id=use.id, name=use.name, arguments=arguments, cache_control=use.cache_control
        )
    if kind == "tool_result":
        result = convert(raw, WireToolResult, path)
        content: tuple[ToolResultContent, ...]
        if result.content is None:
            content = ()
        elif isinstance(result.content, str):
            content = (TextPart(result.content),)
        else:
            content = tuple(
                _result_content_in(item, f"{path}.content[{k}]")
                for k, item in enumerate(result.content)
            )
        return ToolResultPart(
            tool_call_id=result.tool_use_id,
            content=content,
            is_error=bool(result.is_error),
            cache_control=result.cache_control,
        )
    if kind == "thinking":
        thinking = convert(raw, WireThinkingBlock, path)
        return ThinkingPart(text=thinking.thinking, signature=thinking.signature)
    if kind == "redacted_thinking":
        return ThinkingPart(redacted_data=convert(raw, WireRedacted, path).data)
    if not isinstance(kind, str):
        raise invalid_request(f"{path}.type is required", param=f"{path}.type")
    return OpaquePart(format=FORMAT, kind="block", name=kind, data=raw)


def decode_request(body: bytes) -> ChatRequest:
    """A client body -> canonical request; malformed or ill-typed bodies are 400s."""
    document = decode_body(body)
    wire = convert(document, WireRequest, None)
    if not wire.model.strip():
        raise invalid_request("model is required", param="model")
    if not wire.messages:
        raise invalid_request("messages must contain at least one message", param="messages")
    if wire.max_tokens < 1:
        raise invalid_request("max_tokens must be at least 1", param="max_tokens")
    messages = tuple(
        Message(message.role, _content_in(message.content, f"messages[{i}].content"))
        for i, message in enumerate(wire.messages)
    )
    system: tuple[TextPart, ...] = ()
    if isinstance(wire.system, str):
        system = (TextPart(wire.system),)
    elif wire.system is not None:
        system = tuple(_system_block_in(raw, f"system[{k}]") for k, raw in enumerate(wire.system))
    tool_choice = None
    parallel = None
    if wire.tool_choice is not None:
        choice = wire.tool_choice
        if choice.type == "tool":
            if not choice.name:
                raise invalid_request(
                    "tool_choice.name is required when type is tool", param="tool_choice.name"
                )
            tool_choice = ToolChoice("tool", choice.name)
        else:
            tool_choice = ToolChoice("required" if choice.type == "any" else choice.type)
        if choice.disable_parallel_tool_use is not None:
            parallel = not choice.disable_parallel_tool_use
    thinking = None
    if wire.thinking is not None:
        if wire.thinking.type == "enabled":
            if wire.thinking.budget_tokens is None:
                raise invalid_request(
                    "thinking.budget_tokens is required when thinking is enabled",
                    param="thinking.budget_tokens",
                )
            thinking = Thinking(budget_tokens=wire.thinking.budget_tokens)
        else:
            thinking = Thinking(enabled=wire.thinking.type == "adaptive")
    extras = {k: v for k, v in document.items() if k not in KNOWN_FIELDS}
    opaque = tuple(
        OpaquePart(format=FORMAT, kind="field", name=key, data=document[key])
        for key in sorted(UNPORTABLE_FIELDS.intersection(document))
    )
    stream = bool(wire.stream)
    return ChatRequest(
        model=wire.model,
        messages=messages,
        system=system,
        tools=tuple(_tool_in(raw, f"tools[{k}]") for k, raw in enumerate(wire.tools or ())),
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        max_tokens=wire.max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        top_k=wire.top_k,
        stop=tuple(wire.stop_sequences or ()),
        stream=stream,
        include_usage=stream,  # Anthropic streams always report usage
        thinking=thinking,
        user=wire.metadata.user_id if wire.metadata else None,
        opaque=opaque,
        extras={FORMAT: extras} if extras else {},
    )


def _content_in(content: str | list[dict[str, Any]], path: str) -> tuple[Part, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    return tuple(block_in(raw, f"{path}[{k}]") for k, raw in enumerate(content))


def _system_block_in(raw: dict[str, Any], path: str) -> TextPart:
    if raw.get("type") != "text":
        raise invalid_request(
            f"{path}.type must be text: system takes text blocks only", param=f"{path}.type"
        )
    text = convert(raw, WireText, path)
    return TextPart(text.text, text.cache_control)


def _tool_in(raw: dict[str, Any], path: str) -> Tool | OpaquePart:
    kind = raw.get("type")
    if kind not in (None, "custom"):
        return OpaquePart(format=FORMAT, kind="tool", name=str(kind), data=raw)
    tool = convert(raw, WireTool, path)
    return Tool(
        name=tool.name,
        description=tool.description,
        parameters=tool.input_schema,
        cache_control=tool.cache_control,
    )
