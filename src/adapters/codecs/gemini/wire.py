"""Gemini wire types, tables and small conversions shared by the codec."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import json_encode
from aigateway.domain.llm import (
    ErrorType,
    OpaquePart,
    StopReason,
    UnsupportedContent,
    Usage,
    WireFormat,
)

FORMAT = WireFormat("gemini")
TITLE = "Gemini generateContent"
LEADING_USER_TEXT = "(continued)"
# what Gemini CLI puts on a function call no model signed (Gemini's "accept it unsigned"): not a
# signature, so it is not carried to other models as one
SKIP_SIGNATURE = "skip_thought_signature_validator"

KNOWN_FIELDS = frozenset(
    {"model", "contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
)
KNOWN_GENERATION = frozenset(
    {
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "stopSequences",
        "thinkingConfig",
        "responseMimeType",
    }
)

_FINISH_IN = {
    "STOP": StopReason.END_TURN,
    "MAX_TOKENS": StopReason.MAX_TOKENS,
    "SAFETY": StopReason.CONTENT_FILTER,
    "RECITATION": StopReason.CONTENT_FILTER,
    "BLOCKLIST": StopReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": StopReason.CONTENT_FILTER,
    "SPII": StopReason.CONTENT_FILTER,
    "OTHER": StopReason.CONTENT_FILTER,
    "IMAGE_SAFETY": StopReason.CONTENT_FILTER,
    "LANGUAGE": StopReason.CONTENT_FILTER,
}
_FINISH_OUT = {
    StopReason.END_TURN: "STOP",
    StopReason.MAX_TOKENS: "MAX_TOKENS",
    StopReason.STOP_SEQUENCE: "STOP",
    StopReason.TOOL_USE: "STOP",
    StopReason.CONTENT_FILTER: "SAFETY",
    StopReason.PAUSE_TURN: "STOP",
    StopReason.OTHER: "OTHER",
}
STATUS_NAMES = {
    ErrorType.INVALID_REQUEST: "INVALID_ARGUMENT",
    ErrorType.AUTHENTICATION: "UNAUTHENTICATED",
    ErrorType.PERMISSION: "PERMISSION_DENIED",
    ErrorType.NOT_FOUND: "NOT_FOUND",
    ErrorType.REQUEST_TOO_LARGE: "INVALID_ARGUMENT",
    ErrorType.RATE_LIMIT: "RESOURCE_EXHAUSTED",
    ErrorType.API_ERROR: "INTERNAL",
    ErrorType.OVERLOADED: "UNAVAILABLE",
    ErrorType.TIMEOUT: "DEADLINE_EXCEEDED",
}
STATUS_TYPES = {
    "INVALID_ARGUMENT": ErrorType.INVALID_REQUEST,
    "FAILED_PRECONDITION": ErrorType.INVALID_REQUEST,
    "UNAUTHENTICATED": ErrorType.AUTHENTICATION,
    "PERMISSION_DENIED": ErrorType.PERMISSION,
    "NOT_FOUND": ErrorType.NOT_FOUND,
    "RESOURCE_EXHAUSTED": ErrorType.RATE_LIMIT,
    "INTERNAL": ErrorType.API_ERROR,
    "UNAVAILABLE": ErrorType.OVERLOADED,
    "DEADLINE_EXCEEDED": ErrorType.TIMEOUT,
}


def finish_reason(value: str | None, *, has_calls: bool) -> StopReason | None:
    """A Gemini finishReason -> canonical; an answer with a function call is a tool use."""
    if value is None:
        return StopReason.TOOL_USE if has_calls else None
    stop = _FINISH_IN.get(value, StopReason.OTHER)
    return StopReason.TOOL_USE if has_calls and stop is StopReason.END_TURN else stop


def finish_reason_out(stop: StopReason | None) -> str:
    return "STOP" if stop is None else _FINISH_OUT[stop]


def unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def opaque_unsupported(part: OpaquePart) -> UnsupportedContent:
    return unsupported(f"{part.format} {part.kind} `{part.name}`")


# --- wire types -------------------------------------------------------------------------------


class _WireContent(msgspec.Struct):
    parts: list[dict[str, Any]] = msgspec.field(default_factory=list)
    role: str | None = None


class WireDeclaration(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # Gemini's `Schema` (OpenAPI style)
    parametersJsonSchema: dict[str, Any] | None = None  # JSON Schema (Gemini CLI sends this)


class _WireCallingConfig(msgspec.Struct):
    mode: str | None = None
    allowedFunctionNames: list[str] | None = None


class WireToolConfig(msgspec.Struct):
    functionCallingConfig: _WireCallingConfig | None = None


class WireThinkingConfig(msgspec.Struct):
    includeThoughts: bool | None = None
    thinkingBudget: int | None = None
    thinkingLevel: str | None = None


class WireGeneration(msgspec.Struct):
    maxOutputTokens: int | None = None
    temperature: float | None = None
    topP: float | None = None
    topK: int | None = None
    stopSequences: list[str] | None = None
    thinkingConfig: WireThinkingConfig | None = None
    responseMimeType: str | None = None


class WireRequest(msgspec.Struct):
    contents: list[_WireContent]
    model: str | None = None
    systemInstruction: _WireContent | None = None
    tools: list[dict[str, Any]] | None = None
    toolConfig: WireToolConfig | None = None
    generationConfig: WireGeneration | None = None


class WireInlineData(msgspec.Struct):
    mimeType: str
    data: str


class WireFileData(msgspec.Struct):
    fileUri: str
    mimeType: str | None = None


class WireFunctionCall(msgspec.Struct):
    name: str
    args: Any = None
    id: str | None = None


class WireFunctionResponse(msgspec.Struct):
    name: str = ""
    response: Any = None
    id: str | None = None


class _WireUsage(msgspec.Struct):
    promptTokenCount: int | None = None
    candidatesTokenCount: int | None = None
    thoughtsTokenCount: int | None = None
    cachedContentTokenCount: int | None = None


class WireCandidate(msgspec.Struct):
    content: _WireContent | None = None
    finishReason: str | None = None


class WireStatus(msgspec.Struct):
    code: Any = None
    message: Any = None
    status: Any = None


class _WireResponse(msgspec.Struct):
    candidates: list[WireCandidate] = msgspec.field(default_factory=list)
    usageMetadata: _WireUsage | None = None
    modelVersion: str | None = None
    responseId: str | None = None
    error: WireStatus | None = None
    response: _WireResponse | None = None  # the Antigravity envelope


class WireErrorBody(msgspec.Struct):
    error: WireStatus | str | None = None


_decode_response_body = msgspec.json.Decoder(_WireResponse).decode


def decode_answer(body: bytes) -> _WireResponse:
    """Antigravity wraps each answer as `{"response": {...}, "traceId": ...}`: unwrapped."""
    found = _decode_response_body(body)
    return found.response if found.response is not None else found


def decode_json(body: bytes) -> Any:
    return msgspec.json.decode(body)


# --- helpers ----------------------------------------------------------------------------------


def usage_in(wire: _WireUsage) -> Usage:
    prompt = wire.promptTokenCount or 0
    cached = wire.cachedContentTokenCount
    thoughts = wire.thoughtsTokenCount
    return Usage(
        input_tokens=max(prompt - (cached or 0), 0),
        output_tokens=(wire.candidatesTokenCount or 0) + (thoughts or 0),
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def usage_out(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    out: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": max(usage.output_tokens - (usage.reasoning_tokens or 0), 0),
        "totalTokenCount": prompt + usage.output_tokens,
    }
    if usage.reasoning_tokens is not None:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cache_read_tokens is not None:
        out["cachedContentTokenCount"] = usage.cache_read_tokens
    return out


def error_message(value: Any) -> str:
    return value if isinstance(value, str) else json_encode(value).decode()


def next_call_id(given: str | None, counter: list[int]) -> str:
    index = counter[0]
    counter[0] += 1
    return given if given else f"call_{index}"
