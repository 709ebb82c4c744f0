"""The fake upstream's answers in Google's formats: Gemini generateContent as the Gemini API
serves it (`/v1beta/models/<model>:generateContent`) and inside the Cloud Code `v1internal`
envelope (Antigravity), whole and as `?alt=sse` streams, and the other `v1internal` methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from answers import (
    PROMPT_TOKENS,
    THOUGHT_SIGNATURE,
    TOOL_ARGS,
    TOOL_NAME,
    dump_json,
    piece,
)

GEMINI_MODEL = "gemini-3-flash"
PROJECT = "bench-project"


def _cloudcode(response: dict[str, Any]) -> bytes:
    return dump_json({"response": response, "traceId": "bench-trace"})


def _gemini_usage(chunks: int) -> dict[str, int]:
    return {
        "promptTokenCount": PROMPT_TOKENS,
        "candidatesTokenCount": chunks,
        "totalTokenCount": PROMPT_TOKENS + chunks,
    }


def _function_call_part() -> dict[str, Any]:
    return {
        "functionCall": {"name": TOOL_NAME, "args": TOOL_ARGS},
        "thoughtSignature": THOUGHT_SIGNATURE,
    }


def _wrapper(envelope: bool) -> Callable[[dict[str, Any]], bytes]:
    return _cloudcode if envelope else dump_json


def gemini_completion(chunks: int, tool: bool = False, *, envelope: bool = False) -> bytes:
    """A GenerateContentResponse; with `envelope`, inside Cloud Code's `{"response": ...}`."""
    parts: list[dict[str, Any]] = [{"text": "".join(piece(i) for i in range(chunks))}]
    if tool:
        parts.append(_function_call_part())
    return _wrapper(envelope)(
        {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
            "usageMetadata": _gemini_usage(chunks),
            "modelVersion": GEMINI_MODEL,
            "responseId": "bench-response",
        }
    )


def gemini_events(
    chunks: int, tool: bool = False, *, envelope: bool = False
) -> tuple[list[bytes], list[bytes]]:
    """(content events, closing events) of `streamGenerateContent?alt=sse` (with `envelope`,
    Cloud Code's, the envelope on every line): CRLF framing as Google sends it, the stream
    just ends (no `[DONE]`)."""
    wrap = _wrapper(envelope)

    def event(response: dict[str, Any]) -> bytes:
        return b"data: " + wrap(response) + b"\r\n\r\n"

    def response(part: dict[str, Any], last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}}
        found: dict[str, Any] = {"candidates": [candidate]}
        if last:
            candidate["finishReason"] = "STOP"
            found["usageMetadata"] = _gemini_usage(chunks)
        return found | {"modelVersion": GEMINI_MODEL, "responseId": "bench-response"}

    content = [
        event(response({"text": piece(i)}, last=i == chunks - 1 and not tool))
        for i in range(chunks)
    ]
    closing = [event(response(_function_call_part(), last=True))] if tool else []
    return content, closing


def cloudcode_fixed() -> dict[bytes, bytes]:
    """The other `v1internal` methods a Cloud Code client may call, with fixed answers."""
    models = {
        name: {
            "displayName": name,
            "maxOutputTokens": 65536,
            "quotaInfo": {"remainingFraction": 1.0, "resetTime": "2099-01-01T00:00:00Z"},
        }
        for name in (GEMINI_MODEL, "gemini-3.1-pro-low", "claude-sonnet-4-6")
    }
    return {
        b"/v1internal:loadCodeAssist": dump_json(
            {
                "cloudaicompanionProject": PROJECT,
                "currentTier": {"id": "standard-tier"},
                "allowedTiers": [{"id": "standard-tier", "isDefault": True}],
            }
        ),
        b"/v1internal:fetchAvailableModels": dump_json({"models": models}),
        b"/v1internal:countTokens": dump_json({"totalTokens": PROMPT_TOKENS}),
    }
