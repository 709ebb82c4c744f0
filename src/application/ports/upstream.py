"""Upstream ports: the raw HTTP transport (chosen by measurement) and per-kind chat executors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any, Protocol

import msgspec

from aigateway.domain.accounts import Account
from aigateway.domain.errors import ErrorDialect, NetworkErrorKind
from aigateway.domain.llm import Operation, WireFormat
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route
from aigateway.domain.redaction import REDACTED, fields_repr, mask_url


class UpstreamUnavailable(RuntimeError):
    """Connecting to or reading from the upstream failed (no HTTP status)."""

    def __init__(self, message: str, kind: NetworkErrorKind = NetworkErrorKind.OTHER) -> None:
        super().__init__(message)
        self.kind = kind  # a timeout cools the model, other trouble the whole account


class UpstreamRequest(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    headers: Mapping[str, str]
    body: bytes
    method: str = "POST"
    route: Route  # through which proxy, or directly; every caller decides, there is no default
    timeout_s: float = 600.0  # longest silence between two bytes (also a stream's idle limit)
    connect_timeout_s: float | None = None  # None: the transport's default
    total_timeout_s: float | None = None  # the whole exchange; None: no limit

    def __repr__(self) -> str:  # headers carry the credential, the body may too: never shown
        return fields_repr("UpstreamRequest", self.__rich_repr__())

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        headers = {
            name: value if name.lower() in _SHOWN_HEADERS else REDACTED
            for name, value in self.headers.items()
        }
        return [
            ("method", self.method),
            ("url", mask_url(self.url)),
            ("headers", headers),
            ("body", f"<{len(self.body)} bytes>"),
            ("route", self.route),
            ("timeout_s", self.timeout_s),
            ("connect_timeout_s", self.connect_timeout_s),
            ("total_timeout_s", self.total_timeout_s),
        ]


_SHOWN_HEADERS = frozenset({"content-type", "accept", "user-agent", "anthropic-version"})


class UpstreamResponse(Protocol):
    """An open upstream response; `close()` releases the connection (idempotent)."""

    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    async def read(self) -> bytes: ...
    def iter_chunks(self) -> AsyncIterator[bytes]: ...
    async def close(self) -> None: ...


class Upstream(Protocol):
    """HTTP out of the gateway, one bounded connection pool per route.

    A failure to reach or get through the route's proxy raises UpstreamUnavailable with kind
    `NetworkErrorKind.PROXY`: it counts against the proxy, not against the account."""

    async def open(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send the request; return once the status and headers are in."""
        ...

    async def probe(self, route: Route, url: str, timeout_s: float) -> int:
        """GET `url` through `route`; the answer's status (any status means the route works).
        Raises UpstreamUnavailable when the route or the URL cannot be reached in time."""
        ...

    async def retire(self, keep: Collection[Route]) -> None:
        """Close the pools of every proxy route not in `keep` (a removed or changed proxy)."""
        ...

    async def aclose(self) -> None: ...


class Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ChatCall(msgspec.Struct, frozen=True, kw_only=True):
    """One client request as the executor sees it: the same for every attempt."""

    provider: Provider
    model: str  # upstream model name
    requested_model: str  # what the client asked for
    body: bytes  # the client's body, in the client's wire format
    client_format: WireFormat
    stream: bool
    operation: Operation = Operation.CHAT
    # client headers a same-format upstream receives unchanged (e.g. `anthropic-beta`)
    forward_headers: Mapping[str, str] = msgspec.field(default_factory=dict)
    query: str = ""  # the client's query string, forwarded on the passthrough path


class PreparedChat(msgspec.Struct, frozen=True, kw_only=True):
    """A request ready for any account of its provider: translated (or spliced) once."""

    call: ChatCall
    body: bytes  # in the upstream's wire format
    translated: bool
    include_usage: bool = False  # the client asked for usage in its stream


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt that failed on the upstream's raw answer: an error status, an error object
    inside a 200, a stream whose first event is an error, or an empty stream. An executor that
    recognises an upgrade notice in a 200 (`version_gate_notice`) passes it as a Refusal with
    status 200 and the reply text as the body."""

    status: int
    body: bytes  # the upstream's bytes that tell why (for classification)
    headers: Mapping[str, str]
    client_body: bytes | None  # the answer in the client's format, None: nothing to show
    summary: str  # for the request log (bounded)
    # The executor knows the model is one the account lists (its model catalog): a 404 for
    # it then means the gateway's client is refused, not that the model does not exist.
    model_known: bool = False


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A whole non-streamed success, in the client's format."""

    status: int
    content_type: str
    body: bytes
    usage: Usage | None
    error: str | None = None  # set when the gateway answers 502 for an unreadable answer


class ChatExchange(Protocol):
    """One attempt's upstream answer. The exchange decides from the raw upstream bytes whether
    the attempt failed (`Refusal`) before anything is rendered for the client.

    For a stream, `open_stream` holds back the upstream's bytes until its first event is read;
    `chunks` then relays the rest. `usage` is known once the body or stream has been read;
    `stream_error` is set when a stream ended in an error (the error event was already sent to
    the client, in its format).
    """

    @property
    def usage(self) -> Usage | None: ...
    @property
    def stream_error(self) -> str | None: ...

    async def answer(self) -> Answer | Refusal: ...
    async def open_stream(self) -> AsyncIterator[bytes] | Refusal: ...
    async def close(self) -> None: ...


class ChatExecutor(Protocol):
    """Speaks one provider kind's chat API."""

    @property
    def dialect(self) -> ErrorDialect:
        """How the provider's errors read (for classifying failed attempts)."""
        ...

    def prepare(self, call: ChatCall) -> PreparedChat:
        """Translate (raises `UnsupportedContent`) or splice the body, once per request."""
        ...

    async def open(
        self, prepared: PreparedChat, account: Account, secret: str, route: Route
    ) -> ChatExchange:
        """One attempt on `account` through its `route`; `secret` is its API key or current
        OAuth access token."""
        ...
