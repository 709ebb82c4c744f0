"""Upstream ports: the raw HTTP transport (chosen by measurement) and per-kind chat executors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import msgspec

from aigateway.domain.accounts import Account
from aigateway.domain.llm import WireFormat
from aigateway.domain.providers import Provider
from aigateway.domain.redaction import REDACTED, fields_repr, mask_url


class UpstreamUnavailable(RuntimeError):
    """Connecting to or reading from the upstream failed (no HTTP status)."""


class UpstreamRequest(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    headers: Mapping[str, str]
    body: bytes
    proxy_url: str | None = None
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
        proxy_url = None if self.proxy_url is None else mask_url(self.proxy_url)
        return [
            ("url", mask_url(self.url)),
            ("headers", headers),
            ("body", f"<{len(self.body)} bytes>"),
            ("proxy_url", proxy_url),
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
    async def open(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send the request; return once the status and headers are in."""
        ...

    async def aclose(self) -> None: ...


class Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ChatCall(msgspec.Struct, frozen=True, kw_only=True):
    provider: Provider
    account: Account
    model: str  # upstream model name
    requested_model: str  # what the client asked for
    body: bytes  # the client's body, in the client's wire format
    client_format: WireFormat
    stream: bool


class ChatExchange(Protocol):
    """An upstream answer being relayed, already in the client's wire format.

    `usage` is known once the body has been read; `stream_error` is set when a stream ended in
    an error (the error event itself was already sent to the client, in its format).
    """

    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str: ...
    @property
    def usage(self) -> Usage | None: ...
    @property
    def stream_error(self) -> str | None: ...
    @property
    def headers(self) -> Mapping[str, str]:
        """The upstream's response headers (lower-case names), for error classification."""
        ...

    async def read_error(self) -> tuple[bytes, bytes]:
        """For an error status: the upstream's body as sent, and as the client's format."""
        ...

    async def read(self) -> bytes: ...
    def iter_chunks(self) -> AsyncIterator[bytes]: ...
    async def close(self) -> None: ...


class ChatExecutor(Protocol):
    """Speaks one provider kind's chat API."""

    async def open(self, call: ChatCall) -> ChatExchange: ...
