"""OpenAI Chat Completions wire types, tables and small conversions shared by the codec."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from aigateway.adapters.codecs.base import ABSENT, data_url, json_encode, parse_data_url
from aigateway.domain.llm import (
    ErrorType,
    ImagePart,
    OpaquePart,
    StopReason,
    ToolCallPart,
    ToolChoice,
    UnsupportedContent,
    WireFormat,
)
from aigateway.domain.llm import Usage as CanonicalUsage

FORMAT = WireFormat("openai_chat")
TITLE = "OpenAI Chat Completions"

# Request fields whose loss would change what the client gets back: carried as opaque fields,
# written back by this codec, rejected by any other.
UNPORTABLE_FIELDS = frozenset(
    {"audio", "functions", "function_call", "top_logprobs", "web_search_options"}
)
KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "user",
        "safety_identifier",
        "modalities",
        "logprobs",
        *UNPORTABLE_FIELDS,
    }
)

_FINISH_TO_STOP = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}
STOP_TO_FINISH = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.PAUSE_TURN: "stop",
    StopReason.OTHER: "stop",
    StopReason.MAX_TOKENS: "length",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.CONTENT_FILTER: "content_filter",
}
ERROR_TYPES = {
    ErrorType.INVALID_REQUEST: "invalid_request_error",
    ErrorType.AUTHENTICATION: "authentication_error",
    ErrorType.PERMISSION: "permission_error",
    ErrorType.NOT_FOUND: "invalid_request_error",
    ErrorType.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorType.RATE_LIMIT: "rate_limit_error",
    ErrorType.API_ERROR: "server_error",
    ErrorType.OVERLOADED: "server_error",
    ErrorType.TIMEOUT: "server_error",
}
ERROR_TYPES_IN = {
    "invalid_request_error": ErrorType.INVALID_REQUEST,
    "authentication_error": ErrorType.AUTHENTICATION,
    "permission_error": ErrorType.PERMISSION,
    "not_found_error": ErrorType.NOT_FOUND,
    "rate_limit_error": ErrorType.RATE_LIMIT,
    "insufficient_quota": ErrorType.RATE_LIMIT,
    "server_error": ErrorType.API_ERROR,
    "api_error": ErrorType.API_ERROR,
    "overloaded_error": ErrorType.OVERLOADED,
    "timeout_error": ErrorType.TIMEOUT,
}


def unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def opaque_unsupported(part: OpaquePart) -> UnsupportedContent:
    return unsupported(f"{format_title(part.format)} {part.kind} `{part.name}`")


def format_title(format_: str) -> str:
    return {"anthropic_messages": "Anthropic Messages", FORMAT: TITLE}.get(format_, format_)


def finish_reason(stop: StopReason | None) -> str | None:
    return None if stop is None else STOP_TO_FINISH[stop]


def stop_reason(finish: str | None) -> StopReason | None:
    return None if finish is None else _FINISH_TO_STOP.get(finish, StopReason.OTHER)


# --- request wire types (validated; unknown fields are kept as extras) -----------------------


class WireMessage(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    function_call: dict[str, Any] | None = None


class WireRequest(msgspec.Struct):
    model: str
    messages: list[WireMessage]
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    safety_identifier: str | None = None
    modalities: list[str] | None = None
    logprobs: bool | None = None


class WireText(msgspec.Struct):
    text: str
    prompt_cache_breakpoint: dict[str, Any] | None = None  # {mode: explicit}


class _WireImageUrl(msgspec.Struct):
    url: str
    detail: str | None = None


class WireImage(msgspec.Struct):
    image_url: _WireImageUrl


class WireRefusal(msgspec.Struct):
    refusal: str


class _WireFunction(msgspec.Struct):
    name: str
    arguments: str | None = None


class WireToolCall(msgspec.Struct):
    id: str
    function: _WireFunction


class _WireFunctionSpec(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class WireTool(msgspec.Struct):
    function: _WireFunctionSpec


class _WireNamedFunction(msgspec.Struct):
    name: str


class WireNamedChoice(msgspec.Struct):
    function: _WireNamedFunction


# --- the same request, typed to the end (the common shape, decoded in one pass) -------------
# A body of this shape decodes straight into these Structs; anything else (an unknown field or
# part type, a custom tool, a legacy `function` message, an ill-typed value) fails here and is
# decoded by the general path above, which gives the same canonical request or the same 400.


class FastText(msgspec.Struct, gc=False, tag_field="type", tag="text"):
    text: str
    prompt_cache_breakpoint: dict[str, Any] | None = None


class FastImage(msgspec.Struct, gc=False, tag_field="type", tag="image_url"):
    image_url: _WireImageUrl


class FastRefusal(msgspec.Struct, gc=False, tag_field="type", tag="refusal"):
    refusal: str


FastPart = FastText | FastImage | FastRefusal


class FastToolCall(msgspec.Struct, gc=False):
    id: str
    function: _WireFunction
    type: Literal["function"] = "function"


class FastMessage(msgspec.Struct, gc=False):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[FastPart] | None = None
    name: str | None = None
    tool_calls: list[FastToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    function_call: dict[str, Any] | None = None


class _FastFunctionSpec(msgspec.Struct, gc=False):
    name: str
    description: str | None = None
    parameters: msgspec.Raw = ABSENT  # its JSON is kept (tool_lists)
    strict: bool | None = None


class FastTool(msgspec.Struct, gc=False):
    function: _FastFunctionSpec
    type: Literal["function"] = "function"


decode_fast_tools = msgspec.json.Decoder(list[FastTool]).decode


class FastRequest(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    model: str
    messages: list[FastMessage]
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    tools: msgspec.Raw = ABSENT  # a list of FastTool, converted through tool_lists
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    safety_identifier: str | None = None
    modalities: list[str] | None = None
    logprobs: bool | None = None
    # Fields only OpenAI acts on, which clients send: kept as they are, for the extras.
    verbosity: msgspec.Raw = ABSENT
    prediction: msgspec.Raw = ABSENT
    store: msgspec.Raw = ABSENT
    metadata: msgspec.Raw = ABSENT
    prompt_cache_key: msgspec.Raw = ABSENT
    prompt_cache_options: msgspec.Raw = ABSENT
    prompt_cache_retention: msgspec.Raw = ABSENT
    moderation: msgspec.Raw = ABSENT
    service_tier: msgspec.Raw = ABSENT
    seed: msgspec.Raw = ABSENT
    frequency_penalty: msgspec.Raw = ABSENT
    presence_penalty: msgspec.Raw = ABSENT
    logit_bias: msgspec.Raw = ABSENT


FAST_EXTRAS = (
    "verbosity",
    "prediction",
    "store",
    "metadata",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "moderation",
    "service_tier",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
)
decode_fast_request = msgspec.json.Decoder(FastRequest).decode


TOOL_CHOICES = {
    "auto": ToolChoice("auto"),
    "none": ToolChoice("none"),
    "required": ToolChoice("required"),
}
EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})


# --- response wire types ----------------------------------------------------------------------


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _WireUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _WireResponseMessage(msgspec.Struct):
    content: str | list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    reasoning: Any = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _WireChoice(msgspec.Struct):
    message: _WireResponseMessage
    index: int = 0
    finish_reason: str | None = None


class _WireResponse(msgspec.Struct):
    choices: list[_WireChoice]
    id: str = ""
    model: str = ""
    created: int | None = None
    usage: _WireUsage | None = None


class WireErrorObject(msgspec.Struct):
    message: Any = None
    type: Any = None
    code: Any = None
    param: Any = None


class _WireErrorBody(msgspec.Struct):
    error: WireErrorObject | str | None = None
    message: Any = None


decode_response_body = msgspec.json.Decoder(_WireResponse).decode
decode_error_body = msgspec.json.Decoder(_WireErrorBody).decode


# --- stream wire types ------------------------------------------------------------------------


class ChunkFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ChunkFunction | None = None


class _ChunkDelta(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: Any = None
    refusal: str | None = None
    tool_calls: list[ChunkToolCall] | None = None


class _ChunkChoice(msgspec.Struct):
    index: int = 0
    delta: _ChunkDelta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    id: str = ""
    model: str = ""
    choices: list[_ChunkChoice] | None = None
    usage: _WireUsage | None = None
    error: WireErrorObject | None = None


decode_chunk = msgspec.json.Decoder(_Chunk).decode


# --- helpers ----------------------------------------------------------------------------------


def usage_in(wire: _WireUsage) -> CanonicalUsage:
    prompt = wire.prompt_tokens or 0
    cached = wire.prompt_tokens_details.cached_tokens if wire.prompt_tokens_details else None
    reasoning = (
        wire.completion_tokens_details.reasoning_tokens if wire.completion_tokens_details else None
    )
    return CanonicalUsage(
        input_tokens=max(prompt - (cached or 0), 0),
        output_tokens=wire.completion_tokens or 0,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


def usage_out(usage: CanonicalUsage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
    }
    if usage.cache_read_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens}
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def reasoning_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def arguments_out(part: ToolCallPart) -> str:
    if part.raw_arguments is not None:
        return part.raw_arguments
    return json_encode(part.arguments).decode()


def image_out(part: ImagePart) -> dict[str, Any]:
    if part.data is not None:
        url = data_url(part.media_type or "application/octet-stream", part.data)
    else:
        url = part.url or ""
    image_url: dict[str, Any] = {"url": url}
    if part.detail is not None:
        image_url["detail"] = part.detail
    return {"type": "image_url", "image_url": image_url}


def image_in(url: str, detail: str | None) -> ImagePart:
    inline = parse_data_url(url)
    if inline is not None:
        return ImagePart(media_type=inline[0], data=inline[1], detail=detail)
    return ImagePart(url=url, detail=detail)


def text_content(texts: list[str]) -> str | list[dict[str, Any]]:
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": text} for text in texts]


def error_message(value: Any) -> str:
    return value if isinstance(value, str) else json_encode(value).decode()
