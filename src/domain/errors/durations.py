"""Delay hints from upstream errors: Go/protobuf durations, Retry-After, timestamps, messages.

Every parser returns seconds as a finite, non-negative float, or None for anything it cannot
read (garbage, negative, NaN, infinities, absurdly long text). Capping happens in the caller.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_HINT_TEXT = 64  # a duration or date longer than this is garbage, not a hint

_UNIT_SECONDS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,  # Go prints the micro sign
    "μs": 1e-6,  # Greek mu, also accepted by Go
    "ns": 1e-9,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = r"(?:ms|us|µs|μs|ns|h|m|s)"
_GO_DURATION_RE = re.compile(rf"(?:{_NUMBER}{_UNIT})+")
_GO_PART_RE = re.compile(rf"({_NUMBER})({_UNIT})")
_DECIMAL_RE = re.compile(r"\d+(?:\.\d*)?|\.\d+")

# "reset after 35s", "Please retry in 2.5s", "try again in 6m0s", "Resets in 71h15m27s",
# "retry after 30 seconds": a keyword, then `in`/`after`, then a duration.
_WORD_UNITS = {
    "ms": 1e-3,
    "millisecond": 1e-3,
    "milliseconds": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_MESSAGE_RE = re.compile(
    r"(?:retry|reset|resets|try again|available)\s+(?:in|after)\s+"
    rf"(?:(?P<go>(?:{_NUMBER}{_UNIT})+)\b|(?P<num>{_NUMBER})\s*(?P<word>[a-z]+))",
    re.IGNORECASE,
)
MAX_MESSAGE_SCAN = 4096


def _finite(seconds: float) -> float | None:
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def go_duration_seconds(text: str) -> float | None:
    """Seconds in a Go / protobuf-JSON duration: "1s", "6m0s", "20ms", "12.5s", "1h2m3.5s"."""
    text = text.strip()
    if not text or len(text) > MAX_HINT_TEXT or not _GO_DURATION_RE.fullmatch(text):
        return None
    total = 0.0
    for number, unit in _GO_PART_RE.findall(text):
        total += float(number) * _UNIT_SECONDS[unit]
    return _finite(total)


def decimal_seconds(text: str, *, scale: float = 1.0) -> float | None:
    """A plain non-negative decimal ("120", "1.5"), times `scale` (1e-3 for milliseconds)."""
    text = text.strip()
    if not text or len(text) > MAX_HINT_TEXT or not _DECIMAL_RE.fullmatch(text):
        return None
    return _finite(float(text) * scale)


def timestamp_delay(text: str, now: datetime) -> float | None:
    """Seconds from `now` until an RFC 3339 timestamp; 0 when it is already past."""
    text = text.strip()
    if not text or len(text) > MAX_HINT_TEXT:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _delay_until(when, now)


def http_date_delay(text: str, now: datetime) -> float | None:
    """Seconds from `now` until an HTTP-date (RFC 9110 IMF-fixdate and the obsolete forms)."""
    text = text.strip()
    if not text or len(text) > MAX_HINT_TEXT:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _delay_until(when, now)


def retry_after_seconds(text: str, now: datetime) -> float | None:
    """The `Retry-After` header: delay-seconds or an HTTP-date (a past date means now)."""
    seconds = decimal_seconds(text)
    return seconds if seconds is not None else http_date_delay(text, now)


def epoch_delay(text: str, now: datetime) -> float | None:
    """Seconds from `now` until a Unix timestamp in seconds ("1764140400")."""
    seconds = decimal_seconds(text)
    if seconds is None:
        return None
    try:
        when = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return _delay_until(when, now)


def message_delay_seconds(message: str) -> float | None:
    """A delay announced in an error message ("Your quota will reset after 2h21m50s.")."""
    match = _MESSAGE_RE.search(message[:MAX_MESSAGE_SCAN])
    if match is None:
        return None
    if match["go"] is not None:
        return go_duration_seconds(match["go"])
    scale = _WORD_UNITS.get(match["word"].lower())
    if scale is None:
        return None
    return decimal_seconds(match["num"], scale=scale)


def _delay_until(when: datetime, now: datetime) -> float | None:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
