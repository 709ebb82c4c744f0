"""The upstream's delay hint for a failed call: headers and body fields, in dialect order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import msgspec

from aigateway.domain.errors.bodies import ErrorBody
from aigateway.domain.errors.dialects import ErrorDialect, RateLimitHeaders
from aigateway.domain.errors.durations import (
    decimal_seconds,
    epoch_delay,
    go_duration_seconds,
    message_delay_seconds,
    retry_after_seconds,
    timestamp_delay,
)

HEADER_VALUE_MAX = 256

_OPENAI_WINDOWS = ("requests", "tokens")
_ANTHROPIC_WINDOWS = ("requests", "tokens", "input-tokens", "output-tokens")
_MESSAGE = "message"


class Hint(msgspec.Struct, frozen=True):
    seconds: float
    source: str


def find_hint(
    dialect: ErrorDialect,
    body: ErrorBody,
    text: str,
    headers: Mapping[str, str],
    now: datetime,
    *,
    rate_headers: bool,
    message_ceiling: float,
) -> Hint | None:
    """The upstream's delay hint, in the precedence of the dialect.

    Google: RetryInfo.retryDelay, quotaResetDelay, quotaResetTimeStamp, a duration in the
    message, Retry-After. Others: the Retry-After family, then (`rate_headers`) the reset of
    the exhausted rate-limit window, then the body. `headers` have lower-cased names.

    A duration in the message is free text the upstream may echo from the prompt: it is only
    taken when it is no longer than what would be taken without it (the next hint in the
    order, or `message_ceiling`, the gateway's own default), so it can shorten a rest but
    never lengthen one.
    """
    in_message = message_delay_seconds(text) if text else None
    body_hints = (
        (body.retry_delay, "RetryInfo.retryDelay"),
        (body.quota_reset_delay, "quotaResetDelay"),
        (
            timestamp_delay(body.quota_reset_timestamp, now)
            if body.quota_reset_timestamp
            else None,
            "quotaResetTimeStamp",
        ),
        (in_message, _MESSAGE),
    )
    retry_after = (
        (
            _header(headers, "retry-after-ms", lambda v: decimal_seconds(v, scale=1e-3)),
            "retry-after-ms",
        ),
        (_header(headers, "retry-after", lambda v: retry_after_seconds(v, now)), "Retry-After"),
    )
    ordered: tuple[tuple[float | None, str], ...]
    if dialect.body_hints_first:
        ordered = (*body_hints, *retry_after)
    else:
        window = _window_reset(dialect, headers, now) if rate_headers else None
        ordered = (*retry_after, window or (None, ""), *body_hints)
    for index, (seconds, source) in enumerate(ordered):
        if seconds is None:
            continue
        if source == _MESSAGE:
            later = next((s for s, _ in ordered[index + 1 :] if s is not None), message_ceiling)
            if seconds > min(later, message_ceiling):
                continue
        return Hint(seconds, source)
    return None


def _header(
    headers: Mapping[str, str], name: str, parse: Callable[[str], float | None]
) -> float | None:
    value = headers.get(name)
    if value is None or len(value) > HEADER_VALUE_MAX:
        return None
    return parse(value)


def _window_reset(
    dialect: ErrorDialect, h: Mapping[str, str], now: datetime
) -> tuple[float | None, str] | None:
    """The reset of the exhausted rate-limit window (the dialect's header families).

    When the headers tell which window is exhausted (remaining = 0), the longest reset among
    those; otherwise the shortest announced reset (a 429 means at least one is exhausted).
    """
    found: list[tuple[float, str, bool]] = []
    families = dialect.rate_limit_headers
    if RateLimitHeaders.OPENAI in families:
        for window in _OPENAI_WINDOWS:
            name = f"x-ratelimit-reset-{window}"
            seconds = _header(h, name, go_duration_seconds)
            if seconds is not None:
                found.append((seconds, name, h.get(f"x-ratelimit-remaining-{window}") == "0"))
    if RateLimitHeaders.ANTHROPIC in families:
        for window in _ANTHROPIC_WINDOWS:
            name = f"anthropic-ratelimit-{window}-reset"
            seconds = _header(h, name, lambda v: timestamp_delay(v, now))
            if seconds is not None:
                gone = h.get(f"anthropic-ratelimit-{window}-remaining") == "0"
                found.append((seconds, name, gone))
        if h.get("anthropic-ratelimit-unified-status") == "rejected":
            name = "anthropic-ratelimit-unified-reset"
            seconds = _header(h, name, lambda v: epoch_delay(v, now))
            if seconds is not None:
                found.append((seconds, name, True))
    exhausted = [(s, n) for s, n, gone in found if gone]
    if exhausted:
        return max(exhausted)
    if found:
        return min((s, n) for s, n, _ in found)
    return None
