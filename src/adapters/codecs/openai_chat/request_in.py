"""OpenAI client request body -> canonical request (400 naming the field).

What a translated request keeps of the current Chat Completions API (same-format traffic is a
byte passthrough and keeps everything):

- carried: `system` and `developer` messages (as the system prompt, in order), user /
  assistant / tool messages, text and `image_url` parts, `refusal` parts (as text),
  `prompt_cache_breakpoint` on text parts (as a cache hint), function tools (`strict` too),
  function tool calls, `tool_choice` (auto / none / required / a named function /
  `allowed_tools`, which narrows `tools` to the allowed ones), `parallel_tool_calls`,
  `max_completion_tokens` (or `max_tokens`), `reasoning_effort` (none … xhigh, max),
  `response_format` `json_schema` (and `text`), `temperature`, `top_p`, `stop`, `stream`,
  `stream_options.include_usage`, `safety_identifier` (or `user`).
- dropped (only OpenAI acts on them): `verbosity`, `prediction`, `store`, `metadata`,
  `prompt_cache_key`, `prompt_cache_options`, `prompt_cache_retention`, `moderation`,
  `service_tier`, `seed`, `frequency_penalty`, `presence_penalty`, `logit_bias`,
  `stream_options.include_obfuscation` and any other unknown field; message `name`; assistant
  `audio` references; reasoning of earlier turns.
- refused (400 `unsupported_content` when the upstream speaks another format): `n` > 1,
  `logprobs`, `top_logprobs`, audio output (`audio`, `modalities` with audio), `functions` /
  `function_call` and the `function` role, `web_search_options`, `input_audio` and `file`
  parts, custom tools and custom tool calls or choices, `response_format` `json_object` where
  the upstream has no JSON mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from aigateway.adapters.codecs.base import (
    convert,
    json_decode,
    present,
    typed_extras,
)
from aigateway.adapters.codecs.openai_chat.wire import (
    EFFORTS,
    FAST_EXTRAS,
    FORMAT,
    KNOWN_FIELDS,
    TOOL_CHOICES,
    UNPORTABLE_FIELDS,
    FastImage,
    FastMessage,
    FastPart,
    FastRefusal,
    FastRequest,
    FastText,
    FastToolCall,
    WireImage,
    WireMessage,
    WireNamedChoice,
    WireRefusal,
    WireRequest,
    WireText,
    WireTool,
    WireToolCall,
    decode_fast_request,
    decode_fast_tools,
    image_in,
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
    ToolResultPart,
    parse_tool_arguments,
)

_Content = str | list[dict[str, Any]] | list[FastPart] | None


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
    system: list[TextPart] = []
    messages: list[Message] = []
    tool_turn = False  # the last canonical message holds only tool results
    wire_messages: Sequence[WireMessage | FastMessage] = wire.messages
    for i, message in enumerate(wire_messages):
        path = f"messages[{i}]"
        role = message.role
        if role in ("system", "developer"):
            system.extend(_system_in(message.content, path))
            tool_turn = False
        elif role == "user":
            messages.append(Message("user", _user_content_in(message.content, path)))
            tool_turn = False
        elif role == "assistant":
            messages.append(Message("assistant", _assistant_in(message, path)))
            tool_turn = False
        elif role == "tool":
            if not message.tool_call_id:
                raise invalid_request(
                    f"{path}.tool_call_id is required for a tool message",
                    param=f"{path}.tool_call_id",
                )
            result = ToolResultPart(
                tool_call_id=message.tool_call_id,
                content=_tool_content_in(message.content, path),
            )
            if tool_turn:
                last = messages[-1]
                messages[-1] = Message("user", (*last.content, result))
            else:
                messages.append(Message("user", (result,)))
            tool_turn = True
        else:  # legacy `function` role (never in a FastRequest)
            assert document is not None
            raw = document["messages"][i]
            opaque = OpaquePart(format=FORMAT, kind="message", name=role, data=raw)
            messages.append(Message("user", (opaque,)))
            tool_turn = False
    opaque_fields = (
        [
            OpaquePart(format=FORMAT, kind="field", name=key, data=document[key])
            for key in sorted(UNPORTABLE_FIELDS.intersection(document))
        ]
        if document is not None
        else []
    )
    if wire.n is not None and wire.n != 1:
        opaque_fields.append(OpaquePart(format=FORMAT, kind="field", name="n", data=wire.n))
    if wire.modalities is not None and wire.modalities != ["text"]:
        opaque_fields.append(
            OpaquePart(format=FORMAT, kind="field", name="modalities", data=wire.modalities)
        )
    if wire.logprobs:
        opaque_fields.append(OpaquePart(format=FORMAT, kind="field", name="logprobs", data=True))
    extras = (
        {k: v for k, v in document.items() if k not in KNOWN_FIELDS}
        if document is not None
        else typed_extras(wire, FAST_EXTRAS)
    )
    stream_options = dict(wire.stream_options or {})
    include_usage = bool(stream_options.pop("include_usage", False))
    if stream_options:
        extras["stream_options"] = stream_options
    if typed_tools is not None:
        tools = typed_tools
    else:
        assert isinstance(wire, WireRequest)
        tools = tuple(_tool_in(tool, f"tools[{i}]") for i, tool in enumerate(wire.tools or ()))
    tool_choice, choice_opaque = _tool_choice_in(wire.tool_choice)
    if choice_opaque is not None:
        allowed = _allowed_tools_in(choice_opaque.data)
        if allowed is None:
            opaque_fields.append(choice_opaque)
        else:
            tool_choice = allowed[0]
            tools = tuple(t for t in tools if not isinstance(t, Tool) or t.name in allowed[1])
    thinking = None
    if wire.reasoning_effort is not None:
        if wire.reasoning_effort not in EFFORTS:
            raise invalid_request(
                f"reasoning_effort must be one of {', '.join(sorted(EFFORTS))}",
                param="reasoning_effort",
            )
        thinking = Thinking(enabled=wire.reasoning_effort != "none", effort=wire.reasoning_effort)
    stop = wire.stop
    return ChatRequest(
        model=wire.model,
        messages=tuple(messages),
        system=tuple(system),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=wire.parallel_tool_calls,
        max_tokens=(
            wire.max_completion_tokens
            if wire.max_completion_tokens is not None
            else wire.max_tokens
        ),
        temperature=wire.temperature,
        top_p=wire.top_p,
        top_k=wire.top_k,
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        stream=bool(wire.stream),
        include_usage=include_usage,
        thinking=thinking,
        user=wire.safety_identifier if wire.safety_identifier is not None else wire.user,
        response_format=wire.response_format,
        opaque=tuple(opaque_fields),
        extras={FORMAT: extras} if extras else {},
    )


def _system_in(content: _Content, path: str) -> list[TextPart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[TextPart] = []
    for j, raw in enumerate(content):
        if isinstance(raw, FastText):
            parts.append(_fast_text_in(raw))
            continue
        if isinstance(raw, FastPart) or raw.get("type") != "text":
            raise invalid_request(
                f"{path}.content[{j}].type must be text: system messages take text only",
                param=f"{path}.content[{j}].type",
            )
        parts.append(_text_in(raw, f"{path}.content[{j}]"))
    return parts


def _text_in(raw: dict[str, Any], path: str) -> TextPart:
    text = convert(raw, WireText, path)
    breakpoint_ = text.prompt_cache_breakpoint
    return TextPart(text.text, {"type": "ephemeral"} if breakpoint_ is not None else None)


def _fast_text_in(text: FastText) -> TextPart:
    breakpoint_ = text.prompt_cache_breakpoint
    return TextPart(text.text, {"type": "ephemeral"} if breakpoint_ is not None else None)


def _part_in(raw: dict[str, Any] | FastPart, path: str) -> TextPart | ImagePart | OpaquePart:
    if isinstance(raw, FastText):
        return _fast_text_in(raw)
    if isinstance(raw, FastImage):
        return image_in(raw.image_url.url, raw.image_url.detail)
    if isinstance(raw, FastRefusal):
        return TextPart(raw.refusal)
    kind = raw.get("type")
    if kind == "text":
        return _text_in(raw, path)
    if kind == "image_url":
        image = convert(raw, WireImage, path).image_url
        return image_in(image.url, image.detail)
    if kind == "refusal":
        return TextPart(convert(raw, WireRefusal, path).refusal)
    if not isinstance(kind, str):
        raise invalid_request(f"{path}.type is required", param=f"{path}.type")
    return OpaquePart(format=FORMAT, kind="part", name=kind, data=raw)


def _user_content_in(content: _Content, path: str) -> tuple[Part, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (TextPart(content),)
    return tuple(_part_in(raw, f"{path}.content[{j}]") for j, raw in enumerate(content))


def _tool_content_in(content: _Content, path: str) -> tuple[TextPart | ImagePart | OpaquePart, ...]:
    if not content:
        return ()
    if isinstance(content, str):
        return (TextPart(content),)
    return tuple(_part_in(raw, f"{path}.content[{j}]") for j, raw in enumerate(content))


def _assistant_in(message: WireMessage | FastMessage, path: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    if message.reasoning_content:
        parts.append(ThinkingPart(text=message.reasoning_content))
    parts.extend(_user_content_in(message.content, path))
    if message.refusal:
        parts.append(TextPart(message.refusal))
    calls: Sequence[dict[str, Any] | FastToolCall] = message.tool_calls or ()
    for j, raw in enumerate(calls):
        parts.append(tool_call_in(raw, f"{path}.tool_calls[{j}]"))
    if message.function_call is not None:
        parts.append(
            OpaquePart(format=FORMAT, kind="part", name="function_call", data=message.function_call)
        )
    return tuple(parts)


def tool_call_in(raw: dict[str, Any] | FastToolCall, path: str) -> ToolCallPart | OpaquePart:
    call: WireToolCall | FastToolCall
    if isinstance(raw, FastToolCall):
        call = raw
    else:
        kind = raw.get("type", "function")
        if kind != "function":
            return OpaquePart(format=FORMAT, kind="part", name=f"tool_call:{kind}", data=raw)
        call = convert(raw, WireToolCall, path)
    arguments, invalid = parse_tool_arguments(call.function.arguments or "")
    return ToolCallPart(
        id=call.id, name=call.function.name, arguments=arguments, raw_arguments=invalid
    )


_TOOL_LISTS = ToolLists()


def _typed_tools_in(raw: bytes) -> tuple[ToolList, list[tuple[Any, bytes]]] | None:
    """A `tools` array of function tools -> their tools and schemas (with their JSON), as
    `_tool_in` makes them; None for any other array (decoded generically)."""
    try:
        typed = decode_fast_tools(raw)
    except msgspec.MsgspecError:
        return None
    tools: list[Tool | OpaquePart] = []
    schemas: list[tuple[Any, bytes]] = []
    for tool in typed:
        spec = tool.function
        parameters = None
        if present(spec.parameters):
            json = bytes(spec.parameters)
            parameters = json_decode(json)
            if not isinstance(parameters, dict):
                return None
            schemas.append((parameters, json))
        tools.append(
            Tool(
                name=spec.name,
                description=spec.description,
                parameters=parameters,
                strict=spec.strict,
            )
        )
    return tuple(tools), schemas


def _tool_in(raw: dict[str, Any], path: str) -> Tool | OpaquePart:
    kind = raw.get("type", "function")
    if kind != "function":
        return OpaquePart(format=FORMAT, kind="tool", name=str(kind), data=raw)
    spec = convert(raw, WireTool, path).function
    return Tool(
        name=spec.name,
        description=spec.description,
        parameters=spec.parameters,
        strict=spec.strict,
    )


def _tool_choice_in(
    choice: str | dict[str, Any] | None,
) -> tuple[ToolChoice | None, OpaquePart | None]:
    if choice is None:
        return None, None
    if isinstance(choice, str):
        known = TOOL_CHOICES.get(choice)
        if known is not None:
            return known, None
        raise invalid_request(
            "tool_choice must be auto, none, required or a named function",
            param="tool_choice",
        )
    if choice.get("type") == "function":
        named = convert(choice, WireNamedChoice, "tool_choice")
        return ToolChoice("tool", named.function.name), None
    return None, OpaquePart(format=FORMAT, kind="field", name="tool_choice", data=choice)


def _allowed_tools_in(choice: Any) -> tuple[ToolChoice, frozenset[str]] | None:
    """`{type: allowed_tools, allowed_tools: {mode, tools: [{type: function, function: {name}}]}}`
    -> (auto or required, the allowed function names); None for any other choice."""
    if not isinstance(choice, dict) or choice.get("type") != "allowed_tools":
        return None
    spec = choice.get("allowed_tools")
    if not isinstance(spec, dict) or spec.get("mode", "auto") not in ("auto", "required"):
        raise invalid_request(
            "tool_choice.allowed_tools needs a mode of auto or required and a tools list",
            param="tool_choice.allowed_tools",
        )
    names: set[str] = set()
    for tool in spec.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            return None  # a custom or hosted tool: kept opaque, refused by other formats
        names.add(name)
    return ToolChoice(spec.get("mode", "auto")), frozenset(names)
