"""Upstream transport on aiohttp: one pooled session per egress route (direct or a proxy).

Chosen by measurement (docs/decisions.md, record 2): aiohttp's client serves several times the
requests per second of httpx's default transport at the same CPU.

Every call leaves through the route it names: `DIRECT` uses the direct pool (`pool_size`
connections); a proxy route uses that proxy's own pool (`proxy_pool_size` connections, see
`proxy_connector`), keyed by the proxy's id and endpoint, so a proxy whose URL changed gets a
new pool and `retire()` closes the pools of proxies gone. A failure of the proxy itself raises
UpstreamUnavailable with kind PROXY and a message naming the proxy by id and address.

A broken or hostile upstream cannot exhaust memory: a non-stream body is cut at `max_body_bytes`
(counted after decompression, so a gzip bomb stops there too) and fails like a lost connection;
aiohttp (>= 3.13.3) decompresses in bounded steps, so a stream arrives in chunks of about
`_READ_BUFSIZE`, whatever the compression ratio.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any

import aiohttp

from aigateway.adapters.upstream.proxy_connector import (
    ConnectAttempt,
    ProxyFailure,
    ProxyRouteConnector,
    TargetUnreachable,
    connect_attempt,
    proxy_name,
    sends_absolute_form,
)
from aigateway.application.ports.upstream import UpstreamRequest, UpstreamUnavailable
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.proxies import Route

MAX_BODY_BYTES = 32 * 1024 * 1024  # a non-stream answer (decompressed); chat answers are far less
_READ_BUFSIZE = 64 * 1024  # aiohttp's read buffer, also the step of its decompression
_PROBE_BYTES = 64 * 1024  # what a probe reads of the answer's body, at most


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
    if isinstance(exc, ProxyFailure):
        return UpstreamUnavailable(str(exc), NetworkErrorKind.PROXY)
    if isinstance(exc, TargetUnreachable):
        return UpstreamUnavailable(str(exc), NetworkErrorKind.CONNECT)
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


def _proxy_unavailable(route: Route, attempt: ConnectAttempt, exc: BaseException) -> Exception:
    """A failure on a proxy route: the proxy's when it happened before the tunnel was up."""
    if isinstance(exc, asyncio.TimeoutError) and attempt.at_proxy:
        return UpstreamUnavailable(
            f"cannot reach {proxy_name(route)}: timed out", NetworkErrorKind.PROXY
        )
    return _unavailable(exc)


class AiohttpUpstream:
    """`pool_size` bounds the direct pool, `proxy_pool_size` each proxy's; `ssl_context`
    (default: the system's trust store) verifies upstreams and HTTPS proxies."""

    def __init__(
        self,
        *,
        connect_timeout_s: float = 10.0,
        pool_size: int = 1000,
        proxy_pool_size: int = 100,
        max_body_bytes: int = MAX_BODY_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._max_body_bytes = max_body_bytes
        self._pool_size = pool_size
        self._proxy_pool_size = proxy_pool_size
        self._ssl_context = ssl_context
        self._sessions: dict[Route, aiohttp.ClientSession] = {}
        self._timeouts: dict[tuple[float, float | None, float | None], aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        return f"<AiohttpUpstream {len(self._sessions)} pools>"

    def _session(self, route: Route) -> aiohttp.ClientSession:
        session = self._sessions.get(route)
        if session is None:
            connector: aiohttp.TCPConnector
            if route.endpoint is None:
                connector = aiohttp.TCPConnector(
                    limit=self._pool_size,
                    ttl_dns_cache=300,
                    enable_cleanup_closed=True,
                    ssl=self._ssl_context if self._ssl_context is not None else True,
                )
            else:
                connector = ProxyRouteConnector(
                    route, limit=self._proxy_pool_size, ssl_context=self._ssl_context
                )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                read_bufsize=_READ_BUFSIZE,
                skip_auto_headers=("User-Agent",),
                trust_env=False,
            )
            self._sessions[route] = session
        return session

    def _timeout(
        self, timeout_s: float, connect_s: float | None, total_s: float | None
    ) -> aiohttp.ClientTimeout:
        key = (timeout_s, connect_s, total_s)
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect = connect_s or self._connect_timeout_s
            # `sock_connect` bounds each step (reaching the proxy and its tunnel, TLS with the
            # target), `connect` the whole (with a wait for a free connection of the pool)
            timeout = aiohttp.ClientTimeout(
                total=total_s, connect=connect, sock_connect=connect, sock_read=timeout_s
            )
            self._timeouts[key] = timeout
        return timeout

    def _via(self, route: Route, url: str) -> dict[str, Any]:
        """aiohttp's arguments for an absolute-form request through an HTTP(S) proxy."""
        endpoint = route.endpoint
        assert endpoint is not None
        if not sends_absolute_form(endpoint, url):
            return {}
        proxy = f"{endpoint.protocol.value}://{endpoint.address}"
        return {"proxy": proxy}

    def _with_proxy_auth(self, route: Route, headers: Mapping[str, str]) -> Mapping[str, str]:
        endpoint = route.endpoint
        if endpoint is None or endpoint.username is None:
            return headers
        auth = aiohttp.encode_basic_auth(endpoint.username, endpoint.password or "")
        return {**headers, "Proxy-Authorization": auth}

    async def open(self, request: UpstreamRequest) -> AiohttpResponse:
        route = request.route
        timeout = self._timeout(
            request.timeout_s, request.connect_timeout_s, request.total_timeout_s
        )
        if route.endpoint is None:
            try:
                response = await self._session(route).request(
                    request.method,
                    request.url,
                    data=request.body,
                    headers=request.headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise _unavailable(exc) from None
            return AiohttpResponse(response, self._max_body_bytes)
        response = await self._through_proxy(
            request.method, route, request.url, request.headers, request.body, timeout
        )
        return AiohttpResponse(response, self._max_body_bytes)

    async def _through_proxy(
        self,
        method: str,
        route: Route,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        limits: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        via = self._via(route, url)
        if via:  # the proxy reads this request itself: its credentials go with it
            headers = self._with_proxy_auth(route, headers)
        attempt = ConnectAttempt()
        token = connect_attempt.set(attempt)
        try:
            response = await self._session(route).request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=limits,
                allow_redirects=False,
                **via,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _proxy_unavailable(route, attempt, exc) from None
        finally:
            connect_attempt.reset(token)
        if via and response.status == 407:
            response.close()
            raise UpstreamUnavailable(
                f"{proxy_name(route)} refused the authentication", NetworkErrorKind.PROXY
            )
        return response

    async def probe(self, route: Route, url: str, timeout_s: float) -> int:
        """GET `url` through `route`, read at most 64 KiB of the body; its status."""
        timeout = self._timeout(timeout_s, min(timeout_s, self._connect_timeout_s), timeout_s)
        if route.endpoint is None:
            try:
                response = await self._session(route).get(
                    url, timeout=timeout, allow_redirects=False
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise _unavailable(exc) from None
        else:
            response = await self._through_proxy("GET", route, url, {}, None, timeout)
        try:
            read = 0
            while read < _PROBE_BYTES and (chunk := await response.content.readany()):
                read += len(chunk)
        except (TimeoutError, aiohttp.ClientError) as exc:
            response.close()
            raise _unavailable(exc) from None
        if response.content.at_eof():
            response.release()
        else:
            response.close()
        return response.status

    async def retire(self, keep: Collection[Route]) -> None:
        """Close the pools of the proxy routes not in `keep`; their in-flight calls fail."""
        kept = set(keep)
        gone = [r for r in self._sessions if r.endpoint is not None and r not in kept]
        sessions = [self._sessions.pop(route) for route in gone]
        for session in sessions:
            await session.close()

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()
