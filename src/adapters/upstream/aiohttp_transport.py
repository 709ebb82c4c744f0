"""Upstream transport on aiohttp: one pooled session per egress route (direct or a proxy).

Chosen by measurement (docs/decisions.md, record 2): aiohttp's client serves several times the
requests per second of httpx's default transport at the same CPU.

A broken or hostile upstream cannot exhaust memory: a non-stream body is cut at `max_body_bytes`
(counted after decompression, so a gzip bomb stops there too) and fails like a lost connection;
aiohttp (>= 3.13.3) decompresses in bounded steps, so a stream arrives in chunks of about
`_READ_BUFSIZE`, whatever the compression ratio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp

from aigateway.application.ports.upstream import UpstreamRequest, UpstreamUnavailable
from aigateway.domain.errors import NetworkErrorKind

MAX_BODY_BYTES = 32 * 1024 * 1024  # a non-stream answer (decompressed); chat answers are far less
_READ_BUFSIZE = 64 * 1024  # aiohttp's read buffer, also the step of its decompression


class AiohttpResponse:
    __slots__ = ("_max_body_bytes", "_response", "content_type", "status")

    def __init__(self, response: aiohttp.ClientResponse, max_body_bytes: int) -> None:
        self._response = response
        self._max_body_bytes = max_body_bytes
        self.status = response.status
        self.content_type = response.headers.get("Content-Type", "application/json")

    @property
    def headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self._response.headers.items()}

    async def read(self) -> bytes:
        """The whole body, decompressed; over `max_body_bytes` it fails as UpstreamUnavailable."""
        content = self._response.content
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := await content.readany():
                size += len(chunk)
                if size > self._max_body_bytes:
                    raise UpstreamUnavailable(
                        f"upstream response body exceeds {self._max_body_bytes} bytes"
                    )
                chunks.append(chunk)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from None

    async def close(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:  # a partly read body: drop the connection rather than reuse it
            self._response.close()


def _unavailable(exc: BaseException) -> UpstreamUnavailable:
    """The failure, with an error text without URLs (a proxy URL may carry a password)."""
    if isinstance(exc, asyncio.TimeoutError):
        return UpstreamUnavailable("upstream timed out", NetworkErrorKind.TIMEOUT)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnavailable(
            f"cannot connect to upstream host {exc.host}:{exc.port}", NetworkErrorKind.CONNECT
        )
    kind = NetworkErrorKind.OTHER
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        kind = NetworkErrorKind.RESET
    return UpstreamUnavailable(f"upstream connection failed ({type(exc).__name__})", kind)


class AiohttpUpstream:
    def __init__(
        self,
        *,
        connect_timeout_s: float = 10.0,
        pool_size: int = 1000,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._max_body_bytes = max_body_bytes
        self._pool_size = pool_size
        self._sessions: dict[str | None, aiohttp.ClientSession] = {}
        self._timeouts: dict[tuple[float, float | None, float | None], aiohttp.ClientTimeout] = {}

    def _session(self, proxy_url: str | None) -> aiohttp.ClientSession:
        session = self._sessions.get(proxy_url)
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, ttl_dns_cache=300, enable_cleanup_closed=True
            )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                read_bufsize=_READ_BUFSIZE,
                skip_auto_headers=("User-Agent",),
                trust_env=False,
            )
            self._sessions[proxy_url] = session
        return session

    def _timeout(self, request: UpstreamRequest) -> aiohttp.ClientTimeout:
        key = (request.timeout_s, request.connect_timeout_s, request.total_timeout_s)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=request.total_timeout_s,
                connect=request.connect_timeout_s or self._connect_timeout_s,
                sock_read=request.timeout_s,
            )
            self._timeouts[key] = timeout
        return timeout

    async def open(self, request: UpstreamRequest) -> AiohttpResponse:
        try:
            response = await self._session(request.proxy_url).post(
                request.url,
                data=request.body,
                headers=request.headers,
                timeout=self._timeout(request),
                proxy=request.proxy_url,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unavailable(exc) from None
        return AiohttpResponse(response, self._max_body_bytes)

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()
