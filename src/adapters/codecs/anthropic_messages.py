"""Anthropic Messages (`POST /v1/messages`) <-> canonical model.

Validation of client bodies (400 naming the field), requests, responses, stream events (both
directions) and errors, in Anthropic's shapes. Tool-use ids are written as Anthropic accepts
them (`[A-Za-z0-9_-]`), so ids from other formats are sanitised the same way every time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    WireFormatError,
    convert,
    decode_body,
    json_encode,
    validation_error,
)
from aigateway.adapters.codecs.sse import ENDED_EARLY, SSEEvent, SSEStreamDecoder, frame
from aigateway.application.errors import GatewayError, invalid_request
from aigateway.application.ports.upstream import Usage as PortUsage
from aigateway.domain.llm import (
    ApiError,
    BlockKind,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    ErrorType,
    ImagePart,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    OpaquePart,
    Part,
    Ping,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    TextPart,
    Thinking,
    ThinkingDelta,
    ThinkingPart,
    Tool,
    ToolArgumentsDelta,
    ToolCallPart,
    ToolChoice,
    ToolResultContent,
    ToolResultPart,
    UnsupportedContent,
    Usage,
    WireFormat,
    error_type_for_status,
)

FORMAT = WireFormat.ANTHROPIC_MESSAGES
TITLE = "Anthropic Messages"
DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024

_UNPORTABLE_FIELDS = frozenset({"mcp_servers", "output_format"})
_KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "tools",
        "tool_choice",
        "thinking",
        "metadata",
        *_UNPORTABLE_FIELDS,
    }
)

_STOP_IN = {
    "end_turn": StopReason.END_TURN,
    "max_tokens": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "tool_use": StopReason.TOOL_USE,
    "refusal": StopReason.CONTENT_FILTER,
    "pause_turn": StopReason.PAUSE_TURN,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
}
_STOP_OUT = {
    StopReason.END_TURN: "end_turn",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.TOOL_USE: "tool_use",
    StopReason.CONTENT_FILTER: "refusal",
    StopReason.PAUSE_TURN: "pause_turn",
    StopReason.OTHER: "end_turn",
}
_ERROR_TYPES = {
    ErrorType.INVALID_REQUEST: "invalid_request_error",
    ErrorType.AUTHENTICATION: "authentication_error",
    ErrorType.PERMISSION: "permission_error",
    ErrorType.NOT_FOUND: "not_found_error",
    ErrorType.REQUEST_TOO_LARGE: "request_too_large",
    ErrorType.RATE_LIMIT: "rate_limit_error",
    ErrorType.API_ERROR: "api_error",
    ErrorType.OVERLOADED: "overloaded_error",
    ErrorType.TIMEOUT: "timeout_error",
}
_ERROR_TYPES_IN = {name: kind for kind, name in _ERROR_TYPES.items()}

_TOOL_ID_INVALID = re.compile(r"[^A-Za-z0-9_-]")


def tool_id(value: str) -> str:
    """An id as Anthropic accepts it (`^[A-Za-z0-9_-]+$`); stable, so results still match."""
    if not value:
        return "toolu_gateway"
    return _TOOL_ID_INVALID.sub("_", value)


def stop_reason(value: str | None) -> StopReason | None:
    return None if value is None else _STOP_IN.get(value, StopReason.OTHER)


def stop_reason_out(stop: StopReason | None) -> str | None:
    return None if stop is None else _STOP_OUT[stop]


def _unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def _opaque_unsupported(part: OpaquePart) -> UnsupportedContent:
    source = "OpenAI Chat Completions" if part.format == "openai_chat" else part.format
    return _unsupported(f"{source} {part.kind} `{part.name}`")


# --- wire types -------------------------------------------------------------------------------


class _WireMessage(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class _WireToolChoice(msgspec.Struct):
    type: Literal["auto", "any", "none", "tool"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class _WireThinking(msgspec.Struct):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None


class _WireMetadata(msgspec.Struct):
    user_id: str | None = None


class _WireRequest(msgspec.Struct):
    model: str
    messages: list[_WireMessage]
    max_tokens: int
    system: str | list[dict[str, Any]] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: _WireToolChoice | None = None
    thinking: _WireThinking | None = None
    metadata: _WireMetadata | None = None


class _WireText(msgspec.Struct):
    text: str
    cache_control: dict[str, Any] | None = None


class _WireImage(msgspec.Struct):
    source: dict[str, Any]
    cache_control: dict[str, Any] | None = None


class _WireBase64Source(msgspec.Struct):
    media_type: str
    data: str


class _WireUrlSource(msgspec.Struct):
    url: str


class _WireToolUse(msgspec.Struct):
    id: str
    name: str
    input: Any = None
    cache_control: dict[str, Any] | None = None


class _WireToolResult(msgspec.Struct):
    tool_use_id: str
    content: str | list[dict[str, Any]] | None = None
    is_error: bool | None = None
    cache_control: dict[str, Any] | None = None


class _WireThinkingBlock(msgspec.Struct):
    thinking: str
    signature: str | None = None


class _WireRedacted(msgspec.Struct):
    data: str


class _WireTool(msgspec.Struct):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    cache_control: dict[str, Any] | None = None


class _WireUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class _WireResponse(msgspec.Struct):
    id: str = ""
    model: str = ""
    content: list[dict[str, Any]] = msgspec.field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: _WireUsage | None = None


class _WireErrorObject(msgspec.Struct):
    type: Any = None
    message: Any = None


class _WireErrorBody(msgspec.Struct):
    error: _WireErrorObject | str | None = None
    message: Any = None


class _StreamMessage(msgspec.Struct):
    id: str = ""
    model: str = ""
    usage: _WireUsage | None = None


class _StreamDelta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class _StreamEvent(msgspec.Struct):
    type: str
    index: int = 0
    message: _StreamMessage | None = None
    content_block: dict[str, Any] | None = None
    delta: _StreamDelta | None = None
    usage: _WireUsage | None = None
    error: _WireErrorObject | None = None


_decode_response_body = msgspec.json.Decoder(_WireResponse).decode
_decode_error_body = msgspec.json.Decoder(_WireErrorBody).decode
_decode_stream_event = msgspec.json.Decoder(_StreamEvent).decode


# --- helpers ----------------------------------------------------------------------------------


def _usage_in(wire: _WireUsage) -> Usage:
    return Usage(
        input_tokens=wire.input_tokens or 0,
        output_tokens=wire.output_tokens or 0,
        cache_read_tokens=wire.cache_read_input_tokens,
        cache_creation_tokens=wire.cache_creation_input_tokens,
    )


def _usage_merge(usage: Usage, wire: _WireUsage) -> Usage:
    """Anthropic's message_delta usage is cumulative but may hold only some fields."""
    return Usage(
        input_tokens=wire.input_tokens if wire.input_tokens is not None else usage.input_tokens,
        output_tokens=(
            wire.output_tokens if wire.output_tokens is not None else usage.output_tokens
        ),
        cache_read_tokens=(
            wire.cache_read_input_tokens
            if wire.cache_read_input_tokens is not None
            else usage.cache_read_tokens
        ),
        cache_creation_tokens=(
            wire.cache_creation_input_tokens
            if wire.cache_creation_input_tokens is not None
            else usage.cache_creation_tokens
        ),
        reasoning_tokens=usage.reasoning_tokens,
    )


def _usage_out(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.cache_creation_tokens is not None:
        out["cache_creation_input_tokens"] = usage.cache_creation_tokens
    if usage.cache_read_tokens is not None:
        out["cache_read_input_tokens"] = usage.cache_read_tokens
    return out


def _with_cache(block: dict[str, Any], cache_control: dict[str, Any] | None) -> dict[str, Any]:
    if cache_control is not None:
        block["cache_control"] = cache_control
    return block


def _image_out(part: ImagePart) -> dict[str, Any]:
    source: dict[str, Any]
    if part.data is not None:
        source = {
            "type": "base64",
            "media_type": part.media_type or "application/octet-stream",
            "data": part.data,
        }
    else:
        source = {"type": "url", "url": part.url or ""}
    return _with_cache({"type": "image", "source": source}, part.cache_control)


def _tool_input(arguments: Any) -> dict[str, Any]:
    # Anthropic's `input` is an object; arguments that were not a JSON object become {}.
    return arguments if isinstance(arguments, dict) else {}


def _error_message(value: Any) -> str:
    return value if isinstance(value, str) else json_encode(value).decode()


# --- decoding content blocks ------------------------------------------------------------------


def _image_in(raw: dict[str, Any], path: str) -> ImagePart | OpaquePart:
    image = convert(raw, _WireImage, path)
    kind = image.source.get("type")
    if kind == "base64":
        source = convert(image.source, _WireBase64Source, f"{path}.source")
        return ImagePart(
            media_type=source.media_type, data=source.data, cache_control=image.cache_control
        )
    if kind == "url":
        url = convert(image.source, _WireUrlSource, f"{path}.source")
        return ImagePart(url=url.url, cache_control=image.cache_control)
    return OpaquePart(format=FORMAT, kind="block", name=f"image:{kind}", data=raw)


def _result_content_in(raw: dict[str, Any], path: str) -> ToolResultContent:
    kind = raw.get("type")
    if kind == "text":
        text = convert(raw, _WireText, path)
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
        text = convert(raw, _WireText, path)
        return TextPart(text.text, text.cache_control)
    if kind == "image":
        return _image_in(raw, path)
    if kind == "tool_use":
        use = convert(raw, _WireToolUse, path)
        arguments = use.input if use.input is not None else {}
        return ToolCallPart(
            id=use.id, name=use.name, arguments=arguments, cache_control=use.cache_control
        )
    if kind == "tool_result":
        result = convert(raw, _WireToolResult, path)
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
        thinking = convert(raw, _WireThinkingBlock, path)
        return ThinkingPart(text=thinking.thinking, signature=thinking.signature)
    if kind == "redacted_thinking":
        return ThinkingPart(redacted_data=convert(raw, _WireRedacted, path).data)
    if not isinstance(kind, str):
        raise invalid_request(f"{path}.type is required", param=f"{path}.type")
    return OpaquePart(format=FORMAT, kind="block", name=kind, data=raw)


class AnthropicMessagesCodec:
    """Anthropic Messages <-> canonical model.

    `default_max_tokens` fills the required `max_tokens` when the source request had none;
    `effort_budgets` turns an OpenAI `reasoning_effort` into a thinking budget.
    """

    format = FORMAT
    title = TITLE

    def __init__(
        self,
        *,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        effort_budgets: Mapping[str, int] | None = None,
    ) -> None:
        self.default_max_tokens = default_max_tokens
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)

    # --- requests -----------------------------------------------------------------------------

    def decode_request(self, body: bytes) -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s."""
        document = decode_body(body)
        wire = convert(document, _WireRequest, None)
        if not wire.model.strip():
            raise invalid_request("model is required", param="model")
        if not wire.messages:
            raise invalid_request("messages must contain at least one message", param="messages")
        if wire.max_tokens < 1:
            raise invalid_request("max_tokens must be at least 1", param="max_tokens")
        messages = tuple(
            Message(message.role, self._content_in(message.content, f"messages[{i}].content"))
            for i, message in enumerate(wire.messages)
        )
        system: tuple[TextPart, ...] = ()
        if isinstance(wire.system, str):
            system = (TextPart(wire.system),)
        elif wire.system is not None:
            system = tuple(
                self._system_block_in(raw, f"system[{k}]") for k, raw in enumerate(wire.system)
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
        extras = {k: v for k, v in document.items() if k not in _KNOWN_FIELDS}
        opaque = tuple(
            OpaquePart(format=FORMAT, kind="field", name=key, data=document[key])
            for key in sorted(_UNPORTABLE_FIELDS.intersection(document))
        )
        stream = bool(wire.stream)
        return ChatRequest(
            model=wire.model,
            messages=messages,
            system=system,
            tools=tuple(
                self._tool_in(raw, f"tools[{k}]") for k, raw in enumerate(wire.tools or ())
            ),
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

    def _content_in(self, content: str | list[dict[str, Any]], path: str) -> tuple[Part, ...]:
        if isinstance(content, str):
            return (TextPart(content),)
        return tuple(block_in(raw, f"{path}[{k}]") for k, raw in enumerate(content))

    def _system_block_in(self, raw: dict[str, Any], path: str) -> TextPart:
        if raw.get("type") != "text":
            raise invalid_request(
                f"{path}.type must be text: system takes text blocks only", param=f"{path}.type"
            )
        text = convert(raw, _WireText, path)
        return TextPart(text.text, text.cache_control)

    def _tool_in(self, raw: dict[str, Any], path: str) -> Tool | OpaquePart:
        kind = raw.get("type")
        if kind not in (None, "custom"):
            return OpaquePart(format=FORMAT, kind="tool", name=str(kind), data=raw)
        tool = convert(raw, _WireTool, path)
        return Tool(
            name=tool.name,
            description=tool.description,
            parameters=tool.input_schema,
            cache_control=tool.cache_control,
        )

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the Anthropic JSON document (raises UnsupportedContent)."""
        body: dict[str, Any] = dict(request.extras.get(FORMAT, {}))
        thinking, budget = self._thinking_out(request)
        max_tokens = request.max_tokens
        if max_tokens is None:
            max_tokens = self.default_max_tokens
            if budget is not None and budget >= max_tokens:
                max_tokens = budget + self.default_max_tokens
        body["model"] = request.model
        body["max_tokens"] = max_tokens
        if request.system:
            system = request.system
            if len(system) == 1 and system[0].cache_control is None:
                body["system"] = system[0].text
            else:
                body["system"] = [
                    _with_cache({"type": "text", "text": p.text}, p.cache_control) for p in system
                ]
        body["messages"] = [self._message_out(message) for message in request.messages]
        if request.tools:
            body["tools"] = [self._tool_out(tool) for tool in request.tools]
            choice = self._tool_choice_out(request)
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
        response_format = request.response_format
        if response_format is not None and response_format.get("type") != "text":
            raise _unsupported(f"response_format `{response_format.get('type')}`")
        for field in request.opaque:
            if field.format != FORMAT:
                raise _opaque_unsupported(field)
            body[field.name] = field.data
        return body

    def encode_request(self, request: ChatRequest) -> bytes:
        return json_encode(self.to_wire_request(request))

    def _thinking_out(self, request: ChatRequest) -> tuple[dict[str, Any] | None, int | None]:
        thinking = request.thinking
        if thinking is None:
            return None, None
        if not thinking.enabled:
            return {"type": "disabled"}, None
        budget = thinking.budget_tokens
        if budget is None and thinking.effort is not None:
            found = self.effort_budgets.get(thinking.effort)
            if found is None:
                raise _unsupported(f"reasoning_effort `{thinking.effort}`")
            budget = found
            if request.max_tokens is not None and budget >= request.max_tokens:
                budget = request.max_tokens - 1  # the budget must stay below max_tokens
            if budget < MIN_THINKING_BUDGET:
                return None, None  # too few tokens to think: answer without thinking
        if budget is None:
            return {"type": "adaptive"}, None
        return {"type": "enabled", "budget_tokens": budget}, budget

    def _tool_choice_out(self, request: ChatRequest) -> dict[str, Any] | None:
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

    def _tool_out(self, tool: Tool | OpaquePart) -> dict[str, Any]:
        if isinstance(tool, OpaquePart):
            if tool.format != FORMAT:
                raise _opaque_unsupported(tool)
            return dict(tool.data)
        out: dict[str, Any] = {"name": tool.name}
        if tool.description is not None:
            out["description"] = tool.description
        out["input_schema"] = (
            tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
        )
        return _with_cache(out, tool.cache_control)

    def _message_out(self, message: Message) -> dict[str, Any]:
        parts = message.content
        if len(parts) == 1 and isinstance(parts[0], TextPart) and parts[0].cache_control is None:
            return {"role": message.role, "content": parts[0].text}
        blocks = [b for b in (self._block_out(p, request=True) for p in parts) if b is not None]
        if len(parts) > 1:  # Anthropic rejects empty text blocks next to other content
            blocks = [b for b in blocks if b.get("type") != "text" or b.get("text")]
        return {"role": message.role, "content": blocks}

    def _block_out(self, part: Part, *, request: bool) -> dict[str, Any] | None:
        if isinstance(part, TextPart):
            return _with_cache({"type": "text", "text": part.text}, part.cache_control)
        if isinstance(part, ToolCallPart):
            block = {
                "type": "tool_use",
                "id": tool_id(part.id),
                "name": part.name,
                "input": _tool_input(part.arguments),
            }
            return _with_cache(block, part.cache_control)
        if isinstance(part, ThinkingPart):
            if part.redacted_data is not None:
                return {"type": "redacted_thinking", "data": part.redacted_data}
            if request and not part.signature:
                return None  # unsigned thinking (another model's reasoning) cannot be sent back
            return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
        if isinstance(part, ImagePart):
            if not request:
                raise _unsupported("an image in an assistant answer")
            return _image_out(part)
        if isinstance(part, ToolResultPart):
            if not request:
                raise _unsupported("a tool result in an assistant answer")
            return self._tool_result_out(part)
        if part.format != FORMAT:
            raise _opaque_unsupported(part)
        return dict(part.data)

    def _tool_result_out(self, part: ToolResultPart) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(part.tool_call_id)}
        content = part.content
        if (
            len(content) == 1
            and isinstance(content[0], TextPart)
            and content[0].cache_control is None
        ):
            block["content"] = content[0].text
        elif content:
            items: list[dict[str, Any]] = []
            for item in content:
                if isinstance(item, TextPart):
                    items.append(
                        _with_cache({"type": "text", "text": item.text}, item.cache_control)
                    )
                elif isinstance(item, ImagePart):
                    items.append(_image_out(item))
                elif item.format == FORMAT:
                    items.append(dict(item.data))
                else:
                    raise _opaque_unsupported(item)
            block["content"] = items
        if part.is_error:
            block["is_error"] = True
        return _with_cache(block, part.cache_control)

    # --- responses ----------------------------------------------------------------------------

    def decode_response(self, body: bytes) -> ChatResponse:
        try:
            wire = _decode_response_body(body)
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
            usage=_usage_in(wire.usage) if wire.usage else Usage(),
        )

    def to_wire_response(self, response: ChatResponse) -> dict[str, Any]:
        content = [self._block_out(part, request=False) for part in response.content]
        return {
            "id": response.id,
            "type": "message",
            "role": "assistant",
            "model": response.model,
            "content": [block for block in content if block is not None],
            "stop_reason": stop_reason_out(response.stop_reason),
            "stop_sequence": response.stop_sequence,
            "usage": _usage_out(response.usage),
        }

    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        return json_encode(self.to_wire_response(response))

    # --- streams ------------------------------------------------------------------------------

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(model=model)

    # --- errors -------------------------------------------------------------------------------

    def decode_error(self, status: int, body: bytes) -> ApiError:
        message = ""
        try:
            wire = _decode_error_body(body)
        except msgspec.MsgspecError:
            message = body.decode("utf-8", "replace")[:2000]
        else:
            if isinstance(wire.error, _WireErrorObject):
                message = _error_message(wire.error.message) if wire.error.message else ""
            elif isinstance(wire.error, str):
                message = wire.error
            elif wire.message is not None:
                message = _error_message(wire.message)
        return ApiError(
            status=status,
            type=error_type_for_status(status),
            message=message or f"upstream answered HTTP {status}",
        )

    def encode_error(self, error: ApiError) -> bytes:
        return error_body(error.message, type=_ERROR_TYPES[error.type])

    def encode_stream_error(self, error: StreamError) -> bytes:
        return frame(error_body(error.message, type=_ERROR_TYPES[error.type]), "error")


def error_body(message: str, *, type: str) -> bytes:
    """`{"type":"error","error":{"type":...,"message":...}}` with an Anthropic error type."""
    return json_encode({"type": "error", "error": {"type": type, "message": message}})


def error_type_name(error_type: ErrorType) -> str:
    return _ERROR_TYPES[error_type]


# --- streams ----------------------------------------------------------------------------------


class AnthropicStreamDecoder(SSEStreamDecoder):
    """Anthropic SSE bytes -> canonical events (one to one, usage merged to cumulative)."""

    __slots__ = ("_done", "_usage")

    def __init__(self) -> None:
        super().__init__()
        self._usage = Usage()
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if not self._done:
            self._done = True
            events.append(StreamError(ErrorType.API_ERROR, ENDED_EARLY))

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done:
            return
        try:
            event = _decode_stream_event(sse.data)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"malformed Anthropic stream event: {exc}") from None
        kind = event.type
        delta = event.delta
        if kind == "content_block_delta" and delta is not None:
            if delta.type == "text_delta" and delta.text is not None:
                events.append(TextDelta(event.index, delta.text))
            elif delta.type == "input_json_delta" and delta.partial_json is not None:
                events.append(ToolArgumentsDelta(event.index, delta.partial_json))
            elif delta.type == "thinking_delta" and delta.thinking is not None:
                events.append(ThinkingDelta(event.index, delta.thinking))
            elif delta.type == "signature_delta" and delta.signature is not None:
                events.append(SignatureDelta(event.index, delta.signature))
            # citations_delta: annotations of text already sent; not carried
        elif kind == "content_block_start":
            self._block_start(event.index, event.content_block or {}, events)
        elif kind == "content_block_stop":
            events.append(BlockStop(event.index))
        elif kind == "message_start":
            start = event.message or _StreamMessage()
            if start.usage is not None:
                self._usage = _usage_in(start.usage)
            events.append(MessageStart(id=start.id, model=start.model, usage=self._usage))
        elif kind == "message_delta":
            if event.usage is not None:
                self._usage = _usage_merge(self._usage, event.usage)
            events.append(
                MessageDelta(
                    stop_reason=stop_reason(delta.stop_reason if delta else None),
                    stop_sequence=delta.stop_sequence if delta else None,
                    usage=self._usage,
                )
            )
        elif kind == "message_stop":
            self._done = True
            events.append(MessageStop())
        elif kind == "ping":
            events.append(Ping())
        elif kind == "error":
            self._done = True
            error = event.error or _WireErrorObject()
            name = error.type if isinstance(error.type, str) else ""
            message = _error_message(error.message) if error.message else "upstream stream error"
            events.append(StreamError(_ERROR_TYPES_IN.get(name, ErrorType.API_ERROR), message))

    def _block_start(self, index: int, block: dict[str, Any], events: list[StreamEvent]) -> None:
        kind = block.get("type")
        if kind == "text":
            events.append(BlockStart(index=index, kind=BlockKind.TEXT))
            text = block.get("text")
            if isinstance(text, str) and text:
                events.append(TextDelta(index, text))
        elif kind == "tool_use":
            events.append(
                BlockStart(
                    index=index,
                    kind=BlockKind.TOOL_USE,
                    id=str(block.get("id") or ""),
                    name=str(block.get("name") or ""),
                )
            )
            given = block.get("input")
            if given:  # some proxies send the whole input here
                events.append(ToolArgumentsDelta(index, json_encode(given).decode()))
        elif kind == "thinking":
            events.append(BlockStart(index=index, kind=BlockKind.THINKING))
            text, signature = block.get("thinking"), block.get("signature")
            if isinstance(text, str) and text:
                events.append(ThinkingDelta(index, text))
            if isinstance(signature, str) and signature:
                events.append(SignatureDelta(index, signature))
        elif kind == "redacted_thinking":
            data = block.get("data")
            events.append(
                BlockStart(
                    index=index,
                    kind=BlockKind.REDACTED_THINKING,
                    data=data if isinstance(data, str) else "",
                )
            )
        else:
            events.append(
                BlockStart(
                    index=index, kind=BlockKind.OPAQUE, name=str(kind), data=block, format=FORMAT
                )
            )


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + json_encode(payload) + b"\n\n"


_PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


class AnthropicStreamEncoder:
    """Canonical events -> Anthropic SSE bytes, always in a valid order: one `message_start`
    first (synthesised if a block comes first, never repeated), blocks renumbered from 0 and
    closed before the next opens, open blocks closed before `message_delta`, which carries the
    stop reason and the full usage, then `message_stop`. `model` overrides the upstream's name.
    """

    __slots__ = (
        "_delta_sent",
        "_done",
        "_indices",
        "_kinds",
        "_model",
        "_open",
        "_started",
        "_usage",
    )

    def __init__(self, *, model: str | None = None) -> None:
        self._model = model
        self._started = False
        self._done = False
        self._delta_sent = False
        self._indices: dict[int, int] = {}  # canonical block index -> output index
        self._kinds: dict[int, BlockKind] = {}
        self._open: int | None = None  # canonical index of the open block
        self._usage = Usage()

    @property
    def done(self) -> bool:
        return self._done

    def encode_all(self, events: Iterable[StreamEvent]) -> bytes:
        return b"".join([self.encode(event) for event in events])

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, TextDelta):
            return self._delta(
                event.index, BlockKind.TEXT, {"type": "text_delta", "text": event.text}
            )
        if isinstance(event, ToolArgumentsDelta):
            return self._delta(
                event.index,
                BlockKind.TOOL_USE,
                {"type": "input_json_delta", "partial_json": event.partial_json},
            )
        if isinstance(event, ThinkingDelta):
            return self._delta(
                event.index, BlockKind.THINKING, {"type": "thinking_delta", "thinking": event.text}
            )
        if isinstance(event, SignatureDelta):
            return self._delta(
                event.index,
                BlockKind.THINKING,
                {"type": "signature_delta", "signature": event.signature},
            )
        if isinstance(event, BlockStart):
            return self._block_start(event)
        if isinstance(event, BlockStop):
            return self._close() if self._open == event.index else b""
        if isinstance(event, MessageStart):
            if self._started:
                return b""  # never a second message_start (e.g. after a mid-stream failover)
            if event.usage is not None:
                self._usage = event.usage
            return self._message_start(event.id, event.model)
        if isinstance(event, MessageDelta):
            if event.usage is not None:
                self._usage = event.usage
            return self._message_delta(event.stop_reason, event.stop_sequence)
        if isinstance(event, MessageStop):
            out = b"" if self._delta_sent else self._message_delta(None, None)
            self._done = True
            return out + _MESSAGE_STOP
        if isinstance(event, StreamError):
            self._done = True
            body = error_body(event.message, type=_ERROR_TYPES[event.type])
            return self._ensure_started() + frame(body, "error")
        return _PING if self._started else b""

    def _ensure_started(self) -> bytes:
        return b"" if self._started else self._message_start("msg_gateway", "")

    def _message_start(self, id_: str, model: str) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": id_,
            "type": "message",
            "role": "assistant",
            "model": self._model or model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage_out(self._usage),
        }
        return _sse("message_start", {"type": "message_start", "message": message})

    def _block_start(self, event: BlockStart) -> bytes:
        out = self._ensure_started() + self._close()
        index = self._indices[event.index] = len(self._indices)
        self._kinds[event.index] = event.kind
        self._open = event.index
        block: dict[str, Any]
        if event.kind is BlockKind.TEXT:
            block = {"type": "text", "text": ""}
        elif event.kind is BlockKind.TOOL_USE:
            block = {
                "type": "tool_use",
                "id": tool_id(event.id or ""),
                "name": event.name or "",
                "input": {},
            }
        elif event.kind is BlockKind.THINKING:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        elif event.kind is BlockKind.REDACTED_THINKING:
            block = {"type": "redacted_thinking", "data": event.data or ""}
        else:
            if event.format != FORMAT or not isinstance(event.data, dict):
                raise _unsupported(f"{event.format} block `{event.name}`")
            block = event.data
        payload = {"type": "content_block_start", "index": index, "content_block": block}
        return out + _sse("content_block_start", payload)

    def _delta(self, index: int, kind: BlockKind, delta: dict[str, Any]) -> bytes:
        out = b""
        if index not in self._indices:  # a delta with no block_start: open one
            out = self._block_start(BlockStart(index=index, kind=kind))
        payload = {"type": "content_block_delta", "index": self._indices[index], "delta": delta}
        return out + _sse("content_block_delta", payload)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index = self._indices[self._open]
        self._open = None
        return _sse("content_block_stop", {"type": "content_block_stop", "index": index})

    def _message_delta(self, stop: StopReason | None, stop_sequence: str | None) -> bytes:
        out = self._ensure_started() + self._close()
        if self._delta_sent:
            return out
        self._delta_sent = True
        if stop is None:
            has_tools = BlockKind.TOOL_USE in self._kinds.values()
            stop = StopReason.TOOL_USE if has_tools else StopReason.END_TURN
        payload = {
            "type": "message_delta",
            "delta": {"stop_reason": _STOP_OUT[stop], "stop_sequence": stop_sequence},
            "usage": _usage_out(self._usage),
        }
        return out + _sse("message_delta", payload)


# --- same-format passthrough helpers (no canonical model) --------------------------------------


class MessagesRequestHead(msgspec.Struct):
    """What the passthrough path validates in an Anthropic body; the rest is forwarded as is."""

    model: str
    messages: list[_WireMessage]
    max_tokens: int
    stream: bool | None = None
    system: str | list[dict[str, Any]] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: _WireToolChoice | None = None
    thinking: _WireThinking | None = None
    metadata: _WireMetadata | None = None


_decode_head = msgspec.json.Decoder(MessagesRequestHead).decode


def decode_request_head(body: bytes) -> MessagesRequestHead:
    """Validate a client body cheaply (one typed decode); malformed JSON, wrong types, missing
    model/messages/max_tokens -> 400 naming the field. Content blocks are not inspected."""
    if not body:
        raise invalid_request("request body is empty; expected a JSON object")
    try:
        head = _decode_head(body)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from None
    if not head.model.strip():
        raise invalid_request("model is required", param="model")
    if not head.messages:
        raise invalid_request("messages must contain at least one message", param="messages")
    if head.max_tokens < 1:
        raise invalid_request("max_tokens must be at least 1", param="max_tokens")
    return head


class _WithUsage(msgspec.Struct):
    usage: _WireUsage | None = None


class _StreamUsageEvent(msgspec.Struct):
    message: _WithUsage | None = None
    usage: _WireUsage | None = None


_decode_with_usage = msgspec.json.Decoder(_WithUsage).decode
_decode_usage_event = msgspec.json.Decoder(_StreamUsageEvent).decode


def usage_from_body(body: bytes) -> PortUsage | None:
    """Token usage of an Anthropic message body (prompt = input + cache read + cache write)."""
    try:
        found = _decode_with_usage(body).usage
    except msgspec.MsgspecError:
        return None
    if found is None:
        return None
    usage = _usage_in(found)
    return PortUsage(usage.prompt_tokens, usage.output_tokens)


_MAX_TAIL = 1 << 20


class StreamUsageScanner:
    """Watches an Anthropic SSE byte stream for usage (message_start, then message_delta),
    however the bytes are split; only lines mentioning `"usage"` are decoded."""

    __slots__ = ("_merged", "_tail", "usage")

    def __init__(self) -> None:
        self._tail = b""
        self._merged: Usage | None = None
        self.usage: PortUsage | None = None

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._tail = data if len(data) <= _MAX_TAIL else b""
            return
        complete, self._tail = data[: end + 1], data[end + 1 :]
        if b'"usage"' not in complete:
            return
        for line in complete.split(b"\n"):
            if line.startswith(b"data:") and b'"usage"' in line:
                self._line(line[5:].strip())

    def _line(self, payload: bytes) -> None:
        try:
            event = _decode_usage_event(payload)
        except msgspec.MsgspecError:
            return
        if event.message is not None and event.message.usage is not None:
            self._merged = _usage_in(event.message.usage)
        elif event.usage is not None:
            self._merged = _usage_merge(self._merged or Usage(), event.usage)
        else:
            return
        self.usage = PortUsage(self._merged.prompt_tokens, self._merged.output_tokens)
