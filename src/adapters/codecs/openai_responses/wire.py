"""OpenAI Responses: tables and shared helpers (statuses, usage, ids, the stateless rule)."""

from __future__ import annotations

import secrets
from typing import Any

from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ErrorType,
    StopReason,
    UnsupportedContent,
    Usage,
    WireFormat,
)

FORMAT = WireFormat("openai_responses")
TITLE = "OpenAI Responses"

# A signature of a redacted thinking block travels as the reasoning item's `encrypted_content`
# with this prefix, so that a replayed item becomes a redacted block again.
REDACTED_PREFIX = "aigateway-redacted:"

# the least `max_output_tokens` OpenAI accepts; a lower limit (Claude Code's quota probe asks
# for 1 token) is raised to it
MIN_OUTPUT_TOKENS = 16

# A reasoning item's summary parts are one thinking text, joined by this (whole or streamed)
SUMMARY_SEPARATOR = "\n\n"

# `response.failed` codes a client acts on (Codex retries after rate limits and overloads,
# and stops on an invalid prompt or an overlong context)
FAILED_CODES = {
    ErrorType.RATE_LIMIT: "rate_limit_exceeded",
    ErrorType.OVERLOADED: "server_is_overloaded",
    ErrorType.INVALID_REQUEST: "invalid_prompt",
    ErrorType.REQUEST_TOO_LARGE: "context_length_exceeded",
}
FAILED_TYPES = {
    "rate_limit_exceeded": ErrorType.RATE_LIMIT,
    "insufficient_quota": ErrorType.RATE_LIMIT,
    "server_is_overloaded": ErrorType.OVERLOADED,
    "slow_down": ErrorType.OVERLOADED,
    "invalid_prompt": ErrorType.INVALID_REQUEST,
    "context_length_exceeded": ErrorType.REQUEST_TOO_LARGE,
}

# fields of a request that ask the server to keep or read conversation state
STATELESS_HINT = (
    "this gateway keeps no conversation state: send the whole conversation in `input`, "
    "with `store: false`"
)


def refuse_state(
    *, previous_response_id: bool, conversation: bool, store: bool | None, background: bool | None
) -> None:
    """A 400 for a request that relies on server-side state: `previous_response_id` or
    `conversation` given, `store: true` or `background: true`."""
    for name, given in (
        ("previous_response_id", previous_response_id),
        ("conversation", conversation),
    ):
        if given:
            raise invalid_request(f"{name} is not supported; {STATELESS_HINT}", param=name)
    if store:
        raise invalid_request(f"store: true is not supported; {STATELESS_HINT}", param="store")
    if background:
        raise invalid_request(
            "background: true is not supported: this gateway keeps no responses to poll",
            param="background",
        )


def unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def response_id(upstream_id: str) -> str:
    """A `resp_` id: the upstream's when it has the prefix, else a fresh one."""
    return upstream_id if upstream_id.startswith("resp_") else new_id("resp")


def status_of(stop: StopReason | None) -> tuple[str, dict[str, str] | None]:
    """(status, incomplete_details) of a finished answer."""
    if stop is StopReason.MAX_TOKENS:
        return "incomplete", {"reason": "max_output_tokens"}
    if stop is StopReason.CONTENT_FILTER:
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def stop_of(status: object, details: object, called: bool) -> StopReason:
    if status == "incomplete":
        reason = details.get("reason") if isinstance(details, dict) else None
        return StopReason.CONTENT_FILTER if reason == "content_filter" else StopReason.MAX_TOKENS
    return StopReason.TOOL_USE if called else StopReason.END_TURN


def usage_out(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens or 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": prompt + usage.output_tokens,
    }


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_in(wire: object) -> Usage:
    if not isinstance(wire, dict):
        return Usage()
    details = wire.get("input_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    output_details = wire.get("output_tokens_details")
    reasoning = (
        _count(output_details.get("reasoning_tokens")) if isinstance(output_details, dict) else 0
    )
    return Usage(
        input_tokens=max(_count(wire.get("input_tokens")) - cached, 0),
        output_tokens=_count(wire.get("output_tokens")),
        cache_read_tokens=cached or None,
        reasoning_tokens=reasoning or None,
    )
