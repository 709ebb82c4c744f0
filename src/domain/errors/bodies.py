"""Defensive reading of upstream error bodies (OpenAI, Anthropic, Google RPC, OAuth).

Any bytes decode to an `ErrorBody` without raising: bodies that are too large, not JSON, badly
encoded or nested too deep simply carry no fields. The extracted texts are for matching only:
they are bounded but not sanitised, so they must never be shown or logged as they are.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.domain.errors.durations import MAX_HINT_TEXT, go_duration_seconds

MAX_ERROR_BODY = 64 * 1024  # real error bodies are a few KiB; larger ones are not read
MAX_TEXT = 2048  # bound on each extracted text
MAX_DETAILS = 16  # google.rpc.Status details looked at
MAX_SSE_LINES = 64  # lines of an event stream looked at for an error event
MAX_LINK = 768  # a longer link in ErrorInfo metadata is not read

_DECODE_ERRORS = (msgspec.MsgspecError, RecursionError, ValueError, TypeError, OverflowError)
_RAW_ABSENT = msgspec.Raw(b"")
_SUCCESS_KEYS = ("choices", "content", "candidates", "response")


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """What an upstream error body says, as far as it could be read."""

    has_error: bool = False  # a non-null `error` at the top level
    code: str | None = None  # error.code (OpenAI code, Google numeric code as text)
    type: str | None = None  # error.type (OpenAI, Anthropic) or an OAuth `error` string
    status: str | None = None  # error.status (google.rpc.Status)
    reasons: tuple[str, ...] = ()  # ErrorInfo.reason values, error.reason
    message: str = ""  # error.message / error_description, bounded, unsanitised
    retry_delay: float | None = None  # RetryInfo.retryDelay, seconds
    quota_reset_delay: float | None = None  # ErrorInfo.metadata.quotaResetDelay, seconds
    quota_reset_timestamp: str | None = None  # ErrorInfo.metadata.quotaResetTimeStamp
    # links for the account's owner (ErrorInfo.metadata), unchecked: see `Call.link`
    validation_url: str | None = None  # metadata.validation_url (VALIDATION_REQUIRED)
    appeal_url: str | None = None  # metadata.appeal_url (TOS_VIOLATION)

    def codes(self) -> tuple[str, ...]:
        """Every machine-readable code in the body, most specific first (as sent)."""
        return tuple(v for v in (*self.reasons, self.code, self.type, self.status) if v)

    def tokens(self) -> frozenset[str]:
        """The codes lower-cased, for matching."""
        return frozenset(v.lower() for v in self.codes())


class _Top(msgspec.Struct):
    error: msgspec.Raw = _RAW_ABSENT
    error_description: msgspec.Raw = _RAW_ABSENT
    message: msgspec.Raw = _RAW_ABSENT
    code: msgspec.Raw = _RAW_ABSENT
    status: msgspec.Raw = _RAW_ABSENT
    choices: msgspec.Raw = _RAW_ABSENT
    content: msgspec.Raw = _RAW_ABSENT
    candidates: msgspec.Raw = _RAW_ABSENT
    response: msgspec.Raw = _RAW_ABSENT


class _Error(msgspec.Struct):
    code: msgspec.Raw = _RAW_ABSENT
    type: msgspec.Raw = _RAW_ABSENT
    status: msgspec.Raw = _RAW_ABSENT
    reason: msgspec.Raw = _RAW_ABSENT
    message: msgspec.Raw = _RAW_ABSENT
    error_message: msgspec.Raw = _RAW_ABSENT
    details: msgspec.Raw = _RAW_ABSENT


class _Detail(msgspec.Struct):
    type: msgspec.Raw = msgspec.field(default=_RAW_ABSENT, name="@type")
    reason: msgspec.Raw = _RAW_ABSENT
    metadata: msgspec.Raw = _RAW_ABSENT
    retry_delay: msgspec.Raw = msgspec.field(default=_RAW_ABSENT, name="retryDelay")


class _ProtoDuration(msgspec.Struct):
    seconds: msgspec.Raw = _RAW_ABSENT
    nanos: msgspec.Raw = _RAW_ABSENT


_top_decoder = msgspec.json.Decoder(_Top)
_error_decoder = msgspec.json.Decoder(_Error)
_detail_decoder = msgspec.json.Decoder(_Detail)
_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_map_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_duration_decoder = msgspec.json.Decoder(_ProtoDuration)
_scalar_decoder = msgspec.json.Decoder(str | int | float | bool | None)


def _decode(decoder: msgspec.json.Decoder[Any], raw: bytes | msgspec.Raw) -> Any:
    if not raw:
        return None
    try:
        return decoder.decode(raw)
    except _DECODE_ERRORS:
        return None


def _present(raw: msgspec.Raw) -> bool:
    return bool(raw) and bytes(raw) != b"null"


def _text(raw: msgspec.Raw) -> str | None:
    """A JSON scalar as bounded text; objects, arrays, null and booleans give None."""
    value = _decode(_scalar_decoder, raw)
    if isinstance(value, bool) or value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_TEXT] if text else None


def _starts_like_json(body: bytes) -> bytes:
    return body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]


def _json_payload(body: bytes) -> bytes | None:
    """The JSON document in `body`: the body itself, the first element of a JSON array, or
    the first `data:` line of an event stream that looks like an error."""
    first = _starts_like_json(body)
    if first == b"{":
        return body
    if first == b"[":
        items = _decode(_list_decoder, body)
        if items and _starts_like_json(bytes(items[0])) == b"{":
            return bytes(items[0])
        return None
    for line in body.splitlines()[:MAX_SSE_LINES]:
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if _starts_like_json(payload) == b"{" and b'"error"' in payload:
                return payload
    return None


def read_error_body(body: bytes) -> ErrorBody:
    """Read what an upstream error body says; never raises."""
    if not body or len(body) > MAX_ERROR_BODY:
        return ErrorBody()
    payload = _json_payload(body)
    top: _Top | None = _decode(_top_decoder, payload) if payload is not None else None
    if top is None:
        return ErrorBody()
    if not _present(top.error):
        # Some services answer {"message": ..., "code": ...} without an `error` wrapper.
        return ErrorBody(
            code=_text(top.code),
            status=_text(top.status),
            message=_text(top.message) or "",
        )
    error_text = _text(top.error)
    if error_text is not None:  # OAuth: {"error": "invalid_grant", "error_description": ...}
        return ErrorBody(
            has_error=True,
            type=error_text,
            message=_text(top.error_description) or _text(top.message) or "",
        )
    error: _Error | None = _decode(_error_decoder, top.error)
    if error is None:
        return ErrorBody(has_error=True)
    details = _read_details(error.details)
    reason = _text(error.reason)
    return ErrorBody(
        has_error=True,
        code=_text(error.code),
        type=_text(error.type),
        status=_text(error.status),
        reasons=((reason,) if reason else ()) + details.reasons,
        message=_text(error.message) or _text(error.error_message) or "",
        retry_delay=details.retry_delay,
        quota_reset_delay=details.quota_reset_delay,
        quota_reset_timestamp=details.quota_reset_timestamp,
        validation_url=details.validation_url,
        appeal_url=details.appeal_url,
    )


class _Details(msgspec.Struct, frozen=True):
    reasons: tuple[str, ...] = ()
    retry_delay: float | None = None
    quota_reset_delay: float | None = None
    quota_reset_timestamp: str | None = None
    validation_url: str | None = None
    appeal_url: str | None = None


def _read_details(raw: msgspec.Raw) -> _Details:
    items = _decode(_list_decoder, raw)
    if not isinstance(items, list):
        return _Details()
    reasons: list[str] = []
    retry_delay: float | None = None
    reset_delay: float | None = None
    reset_stamp: str | None = None
    links: dict[str, str] = {}
    for item in items[:MAX_DETAILS]:
        detail: _Detail | None = _decode(_detail_decoder, item)
        if detail is None:
            continue
        reason = _text(detail.reason)
        if reason:
            reasons.append(reason)
        if retry_delay is None:
            retry_delay = _duration(detail.retry_delay)
        metadata = _decode(_map_decoder, detail.metadata)
        if isinstance(metadata, dict):
            if reset_delay is None:
                reset_delay = _duration(metadata.get("quotaResetDelay", _RAW_ABSENT))
            if reset_stamp is None:
                stamp = _text(metadata.get("quotaResetTimeStamp", _RAW_ABSENT))
                reset_stamp = stamp if stamp and len(stamp) <= MAX_HINT_TEXT else None
            for name in ("validation_url", "appeal_url"):
                link = _link(metadata.get(name, _RAW_ABSENT))
                if link is not None:
                    links.setdefault(name, link)
    return _Details(
        tuple(reasons),
        retry_delay,
        reset_delay,
        reset_stamp,
        links.get("validation_url"),
        links.get("appeal_url"),
    )


def _link(raw: msgspec.Raw) -> str | None:
    value = _decode(_scalar_decoder, raw) if raw and len(raw) <= 4 * MAX_LINK else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_LINK else None


def _duration(raw: msgspec.Raw) -> float | None:
    """A protobuf Duration: JSON text ("12.5s") or an object {"seconds", "nanos"}."""
    text = _text(raw)
    if text is not None:
        return go_duration_seconds(text)
    value: _ProtoDuration | None = _decode(_duration_decoder, raw)
    if value is None:
        return None
    seconds, nanos = _text(value.seconds), _text(value.nanos)
    try:
        total = float(seconds or 0) + float(nanos or 0) / 1e9
    except ValueError:
        return None
    if seconds is None and nanos is None:
        return None
    return total if 0 <= total < float("inf") else None


def error_in_success(body: bytes) -> bool:
    """True when a 2xx body is really an error: a JSON object (or the first object of a JSON
    array) with a non-null top-level `error` and no `choices`/`content`/`candidates`."""
    if not body or len(body) > MAX_ERROR_BODY:
        return False  # an error object is small; a big body is an answer
    first = _starts_like_json(body)
    if first == b"[":
        payload = _json_payload(body)
        if payload is None:
            return False
        body = payload
    elif first != b"{":
        return False
    top: _Top | None = _decode(_top_decoder, body)
    if top is None or not _present(top.error):
        return False
    return not any(_present(getattr(top, key)) for key in _SUCCESS_KEYS)
