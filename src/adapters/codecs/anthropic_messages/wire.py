"""Anthropic Messages wire types, tables and small conversions shared by the codec."""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from aigateway.adapters.codecs.base import ABSENT, json_encode
from aigateway.domain.llm import (
    ErrorType,
    ImagePart,
    OpaquePart,
    StopReason,
    UnsupportedContent,
    Usage,
    WireFormat,
)

FORMAT = WireFormat("anthropic_messages")
TITLE = "Anthropic Messages"
DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024

UNPORTABLE_FIELDS = frozenset({"mcp_servers"})
KNOWN_FIELDS = frozenset(
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
        "output_config",
        "output_format",
        *UNPORTABLE_FIELDS,
    }
)
# Tool types Anthropic runs itself (server tools): another upstream cannot run them, so a
# translated request goes without them (the model answers without web search, say).
SERVER_TOOL_PREFIXES = (
    "web_search_",
    "web_fetch_",
    "code_execution_",
    "tool_search_tool_",
    "advisor_",
    "mcp_toolset",
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
STOP_OUT = {
    StopReason.END_TURN: "end_turn",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.TOOL_USE: "tool_use",
    StopReason.CONTENT_FILTER: "refusal",
    StopReason.PAUSE_TURN: "pause_turn",
    StopReason.OTHER: "end_turn",
}
ERROR_TYPES = {
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
ERROR_TYPES_IN = {name: kind for kind, name in ERROR_TYPES.items()}

_TOOL_ID_INVALID = re.compile(r"[^A-Za-z0-9_-]")


def tool_id(value: str) -> str:
    """An id as Anthropic accepts it (`^[A-Za-z0-9_-]+$`); stable, so results still match."""
    if not value:
        return "toolu_gateway"
    if value.isascii() and value.replace("_", "a").replace("-", "a").isalnum():
        return value  # the usual case, checked without the regex
    return _TOOL_ID_INVALID.sub("_", value)


def stop_reason(value: str | None) -> StopReason | None:
    return None if value is None else _STOP_IN.get(value, StopReason.OTHER)


def stop_reason_out(stop: StopReason | None) -> str | None:
    return None if stop is None else STOP_OUT[stop]


def unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def opaque_unsupported(part: OpaquePart) -> UnsupportedContent:
    source = "OpenAI Chat Completions" if part.format == "openai_chat" else part.format
    return unsupported(f"{source} {part.kind} `{part.name}`")


# --- wire types -------------------------------------------------------------------------------


class WireMessage(msgspec.Struct):
    # "system": mid-conversation system instructions (Claude Code sends them)
    role: Literal["user", "assistant", "system"]
    content: str | list[dict[str, Any]]


class WireToolChoice(msgspec.Struct):
    type: Literal["auto", "any", "none", "tool"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class WireThinking(msgspec.Struct):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None


class WireMetadata(msgspec.Struct):
    user_id: str | None = None


class WireOutputConfig(msgspec.Struct):
    effort: str | None = None  # low | medium | high | xhigh | max
    format: dict[str, Any] | None = None  # {type: json_schema, schema}


class WireRequest(msgspec.Struct):
    model: str
    messages: list[WireMessage]
    max_tokens: int
    system: str | list[dict[str, Any]] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: WireToolChoice | None = None
    thinking: WireThinking | None = None
    metadata: WireMetadata | None = None
    output_config: WireOutputConfig | None = None
    output_format: dict[str, Any] | None = None  # deprecated alias of output_config.format


class WireText(msgspec.Struct):
    text: str
    cache_control: dict[str, Any] | None = None


class WireImage(msgspec.Struct):
    source: dict[str, Any]
    cache_control: dict[str, Any] | None = None


class WireBase64Source(msgspec.Struct):
    media_type: str
    data: str


class WireUrlSource(msgspec.Struct):
    url: str


class WireToolUse(msgspec.Struct):
    id: str
    name: str
    input: Any = None
    cache_control: dict[str, Any] | None = None


class WireToolResult(msgspec.Struct):
    tool_use_id: str
    content: str | list[dict[str, Any]] | None = None
    is_error: bool | None = None
    cache_control: dict[str, Any] | None = None


class WireThinkingBlock(msgspec.Struct):
    thinking: str
    signature: str | None = None


class WireRedacted(msgspec.Struct):
    data: str


class WireTool(msgspec.Struct):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    cache_control: dict[str, Any] | None = None
    strict: bool | None = None


class WireDocument(msgspec.Struct):
    source: dict[str, Any]
    title: str | None = None
    context: str | None = None
    cache_control: dict[str, Any] | None = None


class WireSearchResult(msgspec.Struct):
    source: str
    title: str
    content: list[WireText]
    cache_control: dict[str, Any] | None = None


class WireMidConvSystem(msgspec.Struct):
    content: list[WireText]


# --- the same request, typed to the end (the common shape, decoded in one pass) -------------
# A body of this shape decodes straight into these Structs; anything else (an unknown field or
# block type, a document, a server tool, an ill-typed value) fails here and is decoded by the
# general path above, which gives the same canonical request or the same 400. They hold JSON
# values only (no reference cycles), so the collector does not track them.


class FastText(msgspec.Struct, gc=False, tag_field="type", tag="text"):
    text: str
    cache_control: dict[str, Any] | None = None


class FastBase64Source(msgspec.Struct, gc=False, tag_field="type", tag="base64"):
    media_type: str
    data: str


class FastUrlSource(msgspec.Struct, gc=False, tag_field="type", tag="url"):
    url: str


class FastImage(msgspec.Struct, gc=False, tag_field="type", tag="image"):
    source: FastBase64Source | FastUrlSource
    cache_control: dict[str, Any] | None = None


class FastToolUse(msgspec.Struct, gc=False, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Any = None
    cache_control: dict[str, Any] | None = None


class FastToolResult(msgspec.Struct, gc=False, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[FastText | FastImage] | None = None
    is_error: bool | None = None
    cache_control: dict[str, Any] | None = None


class FastThinking(msgspec.Struct, gc=False, tag_field="type", tag="thinking"):
    thinking: str
    signature: str | None = None


class FastRedacted(msgspec.Struct, gc=False, tag_field="type", tag="redacted_thinking"):
    data: str


FastBlock = FastText | FastImage | FastToolUse | FastToolResult | FastThinking | FastRedacted


class FastMessage(msgspec.Struct, gc=False):
    role: Literal["user", "assistant", "system"]
    content: str | list[FastBlock]


class FastTool(msgspec.Struct, gc=False):
    name: str
    input_schema: msgspec.Raw  # its JSON is kept (tool_lists)
    description: str | None = None
    cache_control: dict[str, Any] | None = None
    strict: bool | None = None
    type: Literal["custom"] | None = None


class FastRequest(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    model: str
    messages: list[FastMessage]
    max_tokens: int
    system: str | list[FastText] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    tools: msgspec.Raw = ABSENT  # a list of FastTool, converted through tool_lists
    tool_choice: WireToolChoice | None = None
    thinking: WireThinking | None = None
    metadata: WireMetadata | None = None
    output_config: WireOutputConfig | None = None
    output_format: dict[str, Any] | None = None
    # Fields only the Anthropic API acts on, which clients send (Claude Code sends
    # `context_management`): kept as they are, for the extras.
    cache_control: msgspec.Raw = ABSENT
    context_management: msgspec.Raw = ABSENT
    container: msgspec.Raw = ABSENT
    inference_geo: msgspec.Raw = ABSENT
    service_tier: msgspec.Raw = ABSENT
    speed: msgspec.Raw = ABSENT
    fallbacks: msgspec.Raw = ABSENT
    fallback_credit_token: msgspec.Raw = ABSENT
    diagnostics: msgspec.Raw = ABSENT


FAST_EXTRAS = (
    "cache_control",
    "context_management",
    "container",
    "inference_geo",
    "service_tier",
    "speed",
    "fallbacks",
    "fallback_credit_token",
    "diagnostics",
)
decode_fast_request = msgspec.json.Decoder(FastRequest).decode
decode_fast_tools = msgspec.json.Decoder(list[FastTool]).decode


class WireUsage(msgspec.Struct):
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
    usage: WireUsage | None = None


class WireErrorObject(msgspec.Struct):
    type: Any = None
    message: Any = None


class _WireErrorBody(msgspec.Struct):
    error: WireErrorObject | str | None = None
    message: Any = None


class StreamMessage(msgspec.Struct):
    id: str = ""
    model: str = ""
    usage: WireUsage | None = None


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
    message: StreamMessage | None = None
    content_block: dict[str, Any] | None = None
    delta: _StreamDelta | None = None
    usage: WireUsage | None = None
    error: WireErrorObject | None = None


decode_response_body = msgspec.json.Decoder(_WireResponse).decode
decode_error_body = msgspec.json.Decoder(_WireErrorBody).decode
decode_stream_event = msgspec.json.Decoder(_StreamEvent).decode


# --- helpers ----------------------------------------------------------------------------------


def usage_in(wire: WireUsage) -> Usage:
    return Usage(
        input_tokens=wire.input_tokens or 0,
        output_tokens=wire.output_tokens or 0,
        cache_read_tokens=wire.cache_read_input_tokens,
        cache_creation_tokens=wire.cache_creation_input_tokens,
    )


def usage_merge(usage: Usage, wire: WireUsage) -> Usage:
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


def usage_out(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.cache_creation_tokens is not None:
        out["cache_creation_input_tokens"] = usage.cache_creation_tokens
    if usage.cache_read_tokens is not None:
        out["cache_read_input_tokens"] = usage.cache_read_tokens
    return out


def with_cache(block: dict[str, Any], cache_control: dict[str, Any] | None) -> dict[str, Any]:
    if cache_control is not None:
        block["cache_control"] = cache_control
    return block


def image_out(part: ImagePart) -> dict[str, Any]:
    source: dict[str, Any]
    if part.data is not None:
        source = {
            "type": "base64",
            "media_type": part.media_type or "application/octet-stream",
            "data": part.data,
        }
    else:
        source = {"type": "url", "url": part.url or ""}
    return with_cache({"type": "image", "source": source}, part.cache_control)


def tool_input(arguments: Any) -> dict[str, Any]:
    # Anthropic's `input` is an object; arguments that were not a JSON object become {}.
    return arguments if isinstance(arguments, dict) else {}


def error_message(value: Any) -> str:
    return value if isinstance(value, str) else json_encode(value).decode()
