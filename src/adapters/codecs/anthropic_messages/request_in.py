"""Anthropic client request body -> canonical request (400 naming the field).

What a translated request keeps of the current Messages API (the other side is another
format's upstream; same-format traffic is a byte passthrough and keeps everything):

- carried: `system` (string or text blocks, `cache_control` kept as a hint), `role: "system"`
  messages and `mid_conv_system` blocks (folded, in order, after `system`), text / image
  (base64, url) / tool_use / tool_result / thinking / redacted_thinking blocks, `document`
  blocks with a `text` or `content` source and `search_result` blocks (as text), `tool_reference`
  in tool results (as text), custom tools (`strict` too), `tool_choice` (all four types,
  `disable_parallel_tool_use`), `thinking` (enabled / adaptive / disabled), `output_config.effort`
  (as the reasoning effort), `output_config.format` / `output_format` (JSON schema output),
  `metadata.user_id`, `temperature`, `top_p`, `top_k`, `stop_sequences`, `stream`.
- dropped (only the Anthropic API acts on them): top-level `cache_control`,
  `context_management`, `container`, `inference_geo`, `service_tier`, `speed`, `fallbacks`,
  `fallback_credit_token`, `diagnostics` and any other unknown field; `thinking.display`; block
  `citations`, `caller` and `cache_control` where the target has no cache hints; tool
  `defer_loading`, `input_examples`, `eager_input_streaming`, `allowed_callers`; server tools
  offered in `tools` (web_search, web_fetch, code_execution, tool_search, advisor, mcp_toolset:
  the model answers without them).
- refused (400 `unsupported_content` when the upstream speaks another format): `mcp_servers`,
  Anthropic-schema client tools (bash, text_editor, memory, computer), `document` blocks with a
  base64 / url / file source, images from the Files API, and history blocks of server tools
  (`server_tool_use`, `*_tool_result`), MCP, `container_upload`, `compaction`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import msgspec

from aigateway.adapters.codecs.anthropic_messages.wire import (
    FAST_EXTRAS,
    FORMAT,
    KNOWN_FIELDS,
    SERVER_TOOL_PREFIXES,
    UNPORTABLE_FIELDS,
    FastBlock,
    FastImage,
    FastMessage,
    FastRequest,
    FastText,
    FastThinking,
    FastToolResult,
    FastToolUse,
    FastUrlSource,
    WireBase64Source,
    WireDocument,
    WireImage,
    WireMessage,
    WireMidConvSystem,
    WireRedacted,
    WireRequest,
    WireSearchResult,
    WireText,
    WireThinkingBlock,
    WireTool,
    WireToolResult,
    WireToolUse,
    WireUrlSource,
    decode_fast_request,
    decode_fast_tools,
)
from aigateway.adapters.codecs.base import (
    convert,
    json_decode,
    typed_extras,
)
from aigateway.adapters.codecs.tool_lists import ToolList, ToolLists, decode_request_body
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


def _result_content_in(raw: dict[str, Any], path: str) -> list[ToolResultContent]:
    kind = raw.get("type")
    if kind == "text":
        text = convert(raw, WireText, path)
        return [TextPart(text.text, text.cache_control)]
    if kind == "image":
        return [_image_in(raw, path)]
    if kind == "tool_reference" and isinstance(raw.get("tool_name"), str):
        return [TextPart(f"[tool reference: {raw['tool_name']}]")]
    expanded = _as_text_in(raw, path)
    if expanded is not None:
        return expanded
    if not isinstance(kind, str):
        raise invalid_request(f"{path}.type is required", param=f"{path}.type")
    return [OpaquePart(format=FORMAT, kind="block", name=kind, data=raw)]


def _as_text_in(raw: dict[str, Any], path: str) -> list[ToolResultContent] | None:
    """A document with a text or content source, or a search result, as text (and images);
    None for anything else (a PDF, a URL or Files API document stays opaque)."""
    kind = raw.get("type")
    if kind == "search_result":
        found = convert(raw, WireSearchResult, path)
        body = "\n".join(block.text for block in found.content)
        return [TextPart(f"{found.title}\n{found.source}\n\n{body}", found.cache_control)]
    if kind != "document":
        return None
    document = convert(raw, WireDocument, path)
    source = document.source
    heading = [line for line in (document.title, document.context) if line]
    parts: list[ToolResultContent]
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        parts = [TextPart("\n\n".join([*heading, source["data"]]))]
    elif source.get("type") == "content":
        content = source.get("content")
        items = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(items, list):
            return None
        parts = [TextPart("\n\n".join(heading))] if heading else []
        for k, item in enumerate(items):
            at = f"{path}.source.content[{k}]"
            if not isinstance(item, dict) or item.get("type") not in ("text", "image"):
                return None
            if item["type"] == "text":
                parts.append(TextPart(convert(item, WireText, at).text))
            else:
                parts.append(_image_in(item, at))
    else:
        return None
    last = parts[-1] if parts else None
    if document.cache_control is not None and isinstance(last, TextPart):
        parts[-1] = TextPart(last.text, document.cache_control)
    return parts


def _fast_image_in(image: FastImage) -> ImagePart:
    source = image.source
    if isinstance(source, FastUrlSource):
        return ImagePart(url=source.url, cache_control=image.cache_control)
    return ImagePart(
        media_type=source.media_type, data=source.data, cache_control=image.cache_control
    )


def _fast_block_in(block: FastBlock) -> Part:
    """A block of the typed shape -> its part, as `block_in` makes it of the same dict."""
    if isinstance(block, FastText):
        return TextPart(block.text, block.cache_control)
    if isinstance(block, FastToolUse):
        arguments = block.input if block.input is not None else {}
        return ToolCallPart(
            id=block.id, name=block.name, arguments=arguments, cache_control=block.cache_control
        )
    if isinstance(block, FastToolResult):
        content: tuple[ToolResultContent, ...]
        if block.content is None:
            content = ()
        elif isinstance(block.content, str):
            content = (TextPart(block.content),)
        else:
            content = tuple(
                TextPart(item.text, item.cache_control)
                if isinstance(item, FastText)
                else _fast_image_in(item)
                for item in block.content
            )
        return ToolResultPart(
            tool_call_id=block.tool_use_id,
            content=content,
            is_error=bool(block.is_error),
            cache_control=block.cache_control,
        )
    if isinstance(block, FastImage):
        return _fast_image_in(block)
    if isinstance(block, FastThinking):
        return ThinkingPart(text=block.thinking, signature=block.signature)
    return ThinkingPart(redacted_data=block.data)


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
                part
                for k, item in enumerate(result.content)
                for part in _result_content_in(item, f"{path}.content[{k}]")
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
    """A client body -> canonical request; malformed or ill-typed bodies are 400s.

    The common shape decodes in one typed pass (`FastRequest`); any other body is decoded
    generically, then validated piece by piece (naming the field in a 400). Both paths go on
    through the same code, so they give the same request."""
    wire: WireRequest | FastRequest
    document: dict[str, Any] | None
    typed_tools: ToolList | None
    wire, document, typed_tools = decode_request_body(
        body, decode_fast_request, WireRequest, _TOOL_LISTS, _typed_tools_in
    )
    if not wire.model.strip():
        raise invalid_request("model is required", param="model")
    if not wire.messages:
        raise invalid_request("messages must contain at least one message", param="messages")
    if wire.max_tokens < 1:
        raise invalid_request("max_tokens must be at least 1", param="max_tokens")
    system: list[TextPart] = []
    if isinstance(wire.system, str):
        system.append(TextPart(wire.system))
    elif wire.system is not None:
        blocks: Sequence[dict[str, Any] | FastText] = wire.system
        system.extend(_system_block_in(raw, f"system[{k}]") for k, raw in enumerate(blocks))
    messages: list[Message] = []
    wire_messages: Sequence[WireMessage | FastMessage] = wire.messages
    for i, message in enumerate(wire_messages):
        path = f"messages[{i}].content"
        if message.role == "system":
            system.extend(_system_content_in(message.content, path))
            continue
        content = _content_in(message.content, path, system)
        if content or isinstance(message.content, str) or not message.content:
            messages.append(Message(message.role, content))
    if not messages:
        raise invalid_request(
            "messages must contain at least one user or assistant message", param="messages"
        )
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
    extras = (
        {k: v for k, v in document.items() if k not in KNOWN_FIELDS}
        if document is not None
        else typed_extras(wire, FAST_EXTRAS)
    )
    opaque = tuple(
        OpaquePart(format=FORMAT, kind="field", name=key, data=(document or {})[key])
        for key in sorted(UNPORTABLE_FIELDS.intersection(document or ()))
    )
    stream = bool(wire.stream)
    output = wire.output_config
    if typed_tools is not None:
        tools = typed_tools
    else:
        assert isinstance(wire, WireRequest)
        tools = tuple(_tool_in(raw, f"tools[{k}]") for k, raw in enumerate(wire.tools or ()))
    return ChatRequest(
        model=wire.model,
        messages=tuple(messages),
        system=tuple(system),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        max_tokens=wire.max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        top_k=wire.top_k,
        stop=tuple(wire.stop_sequences or ()),
        stream=stream,
        include_usage=stream,  # Anthropic streams always report usage
        thinking=_thinking_in(wire, output.effort if output else None),
        user=wire.metadata.user_id if wire.metadata else None,
        response_format=_response_format_in(
            output.format if output and output.format else wire.output_format
        ),
        opaque=opaque,
        extras={FORMAT: extras} if extras else {},
    )


def _thinking_in(wire: WireRequest | FastRequest, effort: str | None) -> Thinking | None:
    """`thinking` plus `output_config.effort` (Claude Code sends adaptive + an effort)."""
    if wire.thinking is None:
        return None if effort is None else Thinking(effort=effort)
    if wire.thinking.type == "enabled":
        if wire.thinking.budget_tokens is None:
            raise invalid_request(
                "thinking.budget_tokens is required when thinking is enabled",
                param="thinking.budget_tokens",
            )
        return Thinking(budget_tokens=wire.thinking.budget_tokens, effort=effort)
    return Thinking(enabled=wire.thinking.type == "adaptive", effort=effort)


def _response_format_in(output_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """Anthropic's `{type: json_schema, schema}` as the canonical (OpenAI-shaped) format."""
    if output_format is None:
        return None
    if output_format.get("type") != "json_schema" or not isinstance(
        output_format.get("schema"), dict
    ):
        raise invalid_request(
            "output_config.format must be {type: json_schema, schema: {...}}",
            param="output_config.format",
        )
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": output_format["schema"], "strict": True},
    }


_Content = str | list[dict[str, Any]] | list[FastBlock]


def _content_in(content: _Content, path: str, system: list[TextPart]) -> tuple[Part, ...]:
    """The blocks of a user or assistant turn; `mid_conv_system` blocks go to `system`."""
    if isinstance(content, str):
        return (TextPart(content),)
    if content and not isinstance(content[0], dict):  # a FastMessage's: typed to the end
        return tuple(map(_fast_block_in, content))
    parts: list[Part] = []
    blocks = cast("list[dict[str, Any]]", content)
    for k, raw in enumerate(blocks):
        at = f"{path}[{k}]"
        if raw.get("type") == "mid_conv_system":
            system.extend(
                TextPart(text.text, text.cache_control)
                for text in convert(raw, WireMidConvSystem, at).content
            )
            continue
        expanded = _as_text_in(raw, at)
        if expanded is not None:
            parts.extend(expanded)
        else:
            parts.append(block_in(raw, at))
    return tuple(parts)


def _system_content_in(content: _Content, path: str) -> list[TextPart]:
    if isinstance(content, str):
        return [TextPart(content)]
    blocks: Sequence[dict[str, Any] | FastBlock] = content
    return [_system_block_in(raw, f"{path}[{k}]") for k, raw in enumerate(blocks)]


def _system_block_in(raw: dict[str, Any] | FastBlock, path: str) -> TextPart:
    if isinstance(raw, FastText):
        return TextPart(raw.text, raw.cache_control)
    if isinstance(raw, FastBlock) or raw.get("type") != "text":
        raise invalid_request(
            f"{path}.type must be text: system takes text blocks only", param=f"{path}.type"
        )
    text = convert(raw, WireText, path)
    return TextPart(text.text, text.cache_control)


_TOOL_LISTS = ToolLists()


def _typed_tools_in(raw: bytes) -> tuple[ToolList, list[tuple[Any, bytes]]] | None:
    """A `tools` array of custom tools -> their tools and schemas (with their JSON), as
    `_tool_in` makes them; None for any other array (decoded generically)."""
    try:
        typed = decode_fast_tools(raw)
    except msgspec.MsgspecError:
        return None
    tools: list[Tool | OpaquePart] = []
    schemas: list[tuple[Any, bytes]] = []
    for tool in typed:
        json = bytes(tool.input_schema)
        schema = json_decode(json)
        if not isinstance(schema, dict):
            return None
        schemas.append((schema, json))
        tools.append(
            Tool(
                name=tool.name,
                description=tool.description,
                parameters=schema,
                strict=tool.strict,
                cache_control=tool.cache_control,
            )
        )
    return tuple(tools), schemas


def _tool_in(raw: dict[str, Any], path: str) -> Tool | OpaquePart:
    kind = raw.get("type")
    if kind not in (None, "custom"):
        server_tool = str(kind).startswith(SERVER_TOOL_PREFIXES)
        return OpaquePart(
            format=FORMAT, kind="tool", name=str(kind), data=raw, droppable=server_tool
        )
    tool = convert(raw, WireTool, path)
    return Tool(
        name=tool.name,
        description=tool.description,
        parameters=tool.input_schema,
        strict=tool.strict,
        cache_control=tool.cache_control,
    )
