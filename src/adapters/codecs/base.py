"""What every wire codec offers, and helpers they share.

A codec turns one wire format into the canonical model (aigateway.domain.llm) and back. The
translating path is: client codec `decode_request` -> upstream codec `encode_request` ->
upstream codec `decode_response` / `stream_decoder` -> client codec `encode_response` /
`stream_encoder`; errors go through `decode_error` / `encode_error`. Same-format traffic does
not use codecs at all (it stays a byte passthrough).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

import msgspec

from aigateway.application.errors import GatewayError, invalid_request
from aigateway.domain.llm import (
    ApiError,
    ChatRequest,
    ChatResponse,
    ErrorType,
    StreamError,
    StreamEvent,
    UnsupportedContent,
    WireFormat,
)

T = TypeVar("T")


class WireFormatError(ValueError):
    """An upstream answer that does not follow its format (malformed JSON, missing fields)."""


class StreamDecoder(Protocol):
    """Stateful: bytes of one upstream SSE stream, split anywhere -> canonical events.

    Raises `WireFormatError` on an event it cannot read. `finish()` at end of stream flushes
    what is held and reports a stream that ended early as a `StreamError`.
    """

    def feed(self, chunk: bytes) -> list[StreamEvent]: ...
    def finish(self) -> list[StreamEvent]: ...


class StreamEncoder(Protocol):
    """Stateful: canonical events -> SSE bytes of one client stream (may be b"" for an event
    the format does not show). Raises `UnsupportedContent` for a block it cannot express."""

    @property
    def done(self) -> bool: ...
    def encode(self, event: StreamEvent) -> bytes: ...


class WireCodec(Protocol):
    @property
    def format(self) -> WireFormat: ...

    def decode_request(self, body: bytes) -> ChatRequest: ...
    def encode_request(self, request: ChatRequest) -> bytes: ...
    def decode_response(self, body: bytes) -> ChatResponse: ...
    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes: ...
    def stream_decoder(self) -> StreamDecoder: ...
    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> StreamEncoder: ...
    def decode_error(self, status: int, body: bytes) -> ApiError: ...
    def encode_error(self, error: ApiError) -> bytes: ...
    def encode_stream_error(self, error: StreamError) -> bytes: ...


# Thinking budget per reasoning effort (OpenAI `reasoning_effort`, Anthropic
# `output_config.effort`; and back: a budget maps to the smallest of low/medium/high whose
# budget covers it). Configurable per codec.
DEFAULT_EFFORT_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 32768,  # as xhigh: more is past what most models take as a budget
}

json_encode = msgspec.json.Encoder().encode
json_decode = msgspec.json.Decoder().decode


ABSENT = msgspec.Raw(b"")  # the default of a Raw field: the key was not in the body


def present(raw: msgspec.Raw) -> bool:
    """A Raw field that was in the body with a value other than null."""
    return bool(raw) and bytes(raw) != b"null"


def validation_error(text: str, prefix: str | None = None) -> GatewayError:
    """A msgspec validation message -> 400 naming the field, e.g. `messages[0].role`.

    msgspec says "Object missing required field `model`" or "Expected `str`, got `int` - at
    `$.model`"; `prefix` is the path of the value that was validated, when not the body.
    """
    where: str | None = None
    if " - at `$" in text:
        text, _, located = text.partition(" - at `$")
        where = located.rstrip("`").lstrip(".")
    container = _join_path(prefix, where)
    if "missing required field `" in text:
        missing = text.split("`")[1]
        param = _join_path(container, missing)
        message = f"{text} (in {container})" if container else text
        return invalid_request(message, param=param)
    message = f"{text} (at {container})" if container else text
    return invalid_request(message, param=container)


def _join_path(prefix: str | None, where: str | None) -> str | None:
    if not where:
        return prefix
    if not prefix:
        return where
    return prefix + where if where.startswith("[") else f"{prefix}.{where}"


NESTED_TOO_DEEPLY = "request body is nested too deeply"
UPSTREAM_NESTED_TOO_DEEPLY = "upstream answer is nested too deeply"

P = ParamSpec("P")
R = TypeVar("R")


def when_nested_too_deeply(
    error: Callable[[], Exception],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """msgspec raises RecursionError on JSON nested thousands deep: a codec method turns it
    into the error its caller handles (a client's 400, an upstream's bad answer)."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except RecursionError:
                raise error() from None

        return guarded

    return decorate


def client_too_deep() -> GatewayError:
    return invalid_request(NESTED_TOO_DEEPLY)


def upstream_too_deep() -> WireFormatError:
    return WireFormatError(UPSTREAM_NESTED_TOO_DEEPLY)


def answer_too_deep(target: str) -> Callable[[], UnsupportedContent]:
    return lambda: UnsupportedContent("an answer nested this deeply", target)


def convert(value: Any, type_: type[T], path: str | None) -> T:
    """`msgspec.convert` whose validation errors are 400s naming the field under `path`."""
    try:
        return msgspec.convert(value, type_)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc), path) from None
    except RecursionError:
        raise invalid_request(NESTED_TOO_DEEPLY) from None


def decode_client(decode: Callable[[bytes], T], body: bytes) -> T:
    """A client body through `decode` (a typed msgspec decoder), or a 400 saying why not:
    empty, not JSON, ill-typed (naming the field) or nested deeper than can be decoded."""
    if not body:
        raise invalid_request("request body is empty; expected a JSON object")
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise invalid_request(NESTED_TOO_DEEPLY) from None


def decode_body(body: bytes) -> dict[str, Any]:
    """A client body -> its JSON object, or a 400 saying why not."""
    document = decode_client(json_decode, body)
    if not isinstance(document, dict):
        raise invalid_request("request body must be a JSON object")
    return document


class RoutingHead(msgspec.Struct, kw_only=True):
    """What routing needs of a chat body; the messages are counted, not read."""

    model: str
    messages: list[msgspec.Raw]
    stream: bool | None = None


H = TypeVar("H", bound=RoutingHead)


def decode_routing_head(decode: Callable[[bytes], H], body: bytes) -> H:
    """A client body's routing head through `decode` (a decoder of a `RoutingHead` type), and
    nothing more: a JSON object with a non-empty string `model`, a non-empty `messages` array
    and `stream` a bool or absent. Message shapes, content-part types and unknown fields are
    the upstream's to judge; malformed input is a 400 naming the field."""
    head = decode_client(decode, body)
    if not head.model.strip():
        raise invalid_request("model is required", param="model")
    if not head.messages:
        raise invalid_request("messages must contain at least one message", param="messages")
    return head


def api_error_from_gateway(exc: GatewayError) -> ApiError:
    return ApiError(
        status=exc.status,
        type=exc.type,
        message=exc.message,
        code=exc.code,
        param=exc.param,
    )


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:<media type>[;params];base64,<data>` -> (media type, base64 data), else None."""
    if not url.startswith("data:"):
        return None
    header, comma, data = url[5:].partition(",")
    if not comma:
        return None
    params = header.split(";")
    if len(params) < 2 or params[-1].strip().lower() != "base64":
        return None
    return params[0].strip() or "application/octet-stream", data


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


__all__ = [
    "DEFAULT_EFFORT_BUDGETS",
    "NESTED_TOO_DEEPLY",
    "UPSTREAM_NESTED_TOO_DEEPLY",
    "ErrorType",
    "RoutingHead",
    "StreamDecoder",
    "StreamEncoder",
    "WireCodec",
    "WireFormatError",
    "api_error_from_gateway",
    "convert",
    "data_url",
    "decode_body",
    "decode_client",
    "decode_routing_head",
    "json_decode",
    "json_encode",
    "parse_data_url",
    "validation_error",
]


def typed_extras(wire: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields `names` of a typed request that are present (msgspec.Raw, empty when
    absent), decoded as the generic decode keeps them."""
    return {name: json_decode(raw) for name in names if (raw := getattr(wire, name))}
