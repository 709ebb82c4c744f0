"""The connection pool of one proxy route, and how its failures are told apart.

One `ProxyRouteConnector` per proxy (an aiohttp connector, bounded by `limit`):
- an https target goes through a tunnel opened by python-socks (aiohttp-socks underneath): an
  HTTP CONNECT (HTTP and HTTPS proxies; HTTPS = TLS to the proxy itself) or a SOCKS5 CONNECT.
  `socks5` resolves the target's name here, `socks5h` hands the name to the proxy. TLS with
  the target is done over the tunnel once it is open. Measured against aiohttp's own CONNECT
  support, this costs less CPU per request (`bench/proxy_transport.py`).
- an http target through an HTTP(S) proxy is sent in absolute form (`POST http://host/path`)
  on a connection to the proxy (aiohttp's own proxy support): proxies that allow CONNECT only
  to port 443, as many do, still serve it.

Whatever goes wrong before the tunnel is up (the proxy cannot be reached or times out, TLS with
the proxy fails, the proxy refuses the credentials or does not open the tunnel) raises
`ProxyFailure`, whose message names the proxy by id and address: never its user, password or
URL. A timeout that cuts the connection short is the proxy's while `ConnectAttempt.at_proxy`
is set. What fails after that (TLS with the target, the request itself) is the target's.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from contextvars import ContextVar
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

import aiohttp
import python_socks
from aiohttp.client_proto import ResponseHandler
from aiohttp_socks import ProxyConnector, ProxyType
from python_socks.async_.asyncio.v2 import Proxy

from aigateway.domain.proxies import ProxyEndpoint, ProxyProtocol, Route

if TYPE_CHECKING:
    from aiohttp import ClientRequest, ClientTimeout
    from aiohttp.connector import AddrInfoType
    from python_socks.async_.asyncio.v2._stream import AsyncioSocketStream


class ProxyFailure(aiohttp.ClientError):
    """The route's proxy failed before the tunnel was up; the message is safe to show."""


class TargetUnreachable(aiohttp.ClientError):
    """The proxy works but says it cannot reach the target (a CONNECT answered 502, 503 or
    504; a SOCKS reply "network unreachable", "host unreachable", "connection refused",
    "TTL expired"): the target's failure, as if the gateway had connected itself."""


# The proxy's answers that blame the target, not the proxy.
_TARGET_STATUSES = frozenset({502, 503, 504})
_TARGET_REPLIES = frozenset({3, 4, 5, 6})


class ConnectAttempt:
    """One request's connection attempt: set while the proxy is being reached."""

    __slots__ = ("at_proxy",)

    def __init__(self) -> None:
        self.at_proxy = False


connect_attempt: ContextVar[ConnectAttempt | None] = ContextVar("connect_attempt", default=None)


def proxy_name(route: Route) -> str:
    """`proxy 3 (127.0.0.1:1080)`: how messages name a proxy."""
    endpoint = route.endpoint
    assert endpoint is not None
    return f"proxy {route.proxy_id} ({endpoint.address})"


def sends_absolute_form(endpoint: ProxyEndpoint, url: str) -> bool:
    """An http target through an HTTP(S) proxy: the request goes to the proxy as it is."""
    return endpoint.protocol in _HTTP_PROXIES and url[:5].lower() == "http:"


_HTTP_PROXIES = frozenset({ProxyProtocol.HTTP, ProxyProtocol.HTTPS})
_SOCKS_REPLIES = {
    1: "general failure",
    2: "connection not allowed by its rules",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused by the target",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


class _TunnelHandler(ResponseHandler):
    """aiohttp's protocol on a tunnel; it keeps the stream writer alive (a collected
    StreamWriter closes its transport)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        super().__init__(loop)
        self._writer = writer


class ProxyRouteConnector(ProxyConnector):
    """The pool of one proxy route (`limit` connections at most)."""

    def __init__(self, route: Route, *, limit: int, ssl_context: ssl.SSLContext | None) -> None:
        endpoint = route.endpoint
        assert endpoint is not None
        protocol = endpoint.protocol
        proxy_ssl = None
        if protocol is ProxyProtocol.HTTPS:
            proxy_ssl = ssl_context or ssl.create_default_context()
        super().__init__(
            host=endpoint.host,
            port=endpoint.port,
            proxy_type=ProxyType.HTTP if protocol in _HTTP_PROXIES else ProxyType.SOCKS5,
            username=endpoint.username,
            password=endpoint.password,
            rdns=protocol is ProxyProtocol.SOCKS5H,
            proxy_ssl=proxy_ssl,
            limit=limit,
            ssl=ssl_context if ssl_context is not None else True,
            enable_cleanup_closed=True,
        )
        self._name = proxy_name(route)
        self._resolve_here = protocol is ProxyProtocol.SOCKS5
        self._socks = protocol not in _HTTP_PROXIES

    def __repr__(self) -> str:
        return f"<ProxyRouteConnector {self._name}>"

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: list[AddrInfoType],
        req: ClientRequest,
        timeout: ClientTimeout,  # noqa: ASYNC109 - aiohttp's name for it
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, ResponseHandler]:
        attempt = connect_attempt.get() or ConnectAttempt()
        if client_error is aiohttp.ClientProxyConnectionError:
            # aiohttp connects to the proxy itself (an absolute-form request)
            attempt.at_proxy = True
            result = await self._reach_proxy(
                args, addr_infos=addr_infos, req=req, timeout=timeout, **kwargs
            )
            attempt.at_proxy = False
            return result
        host, port = str(addr_infos[0][4][0]), int(addr_infos[0][4][1])
        dest = host
        if self._resolve_here and not _is_ip(host):
            try:  # a name that does not resolve is the target's problem, not the proxy's
                infos = await self._loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise aiohttp.ClientConnectorDNSError(req.connection_key, exc) from exc
            dest = str(infos[0][4][0])
        attempt.at_proxy = True
        stream = await self._open_tunnel(
            dest, port, f"{host}:{port}", timeout.sock_connect or timeout.connect
        )
        attempt.at_proxy = False
        context: ssl.SSLContext | None = kwargs.get("ssl")
        if context is not None:
            try:
                stream = await stream.start_tls(
                    hostname=kwargs.get("server_hostname") or host, ssl_context=context
                )
            except BaseException as exc:
                stream.writer.close()
                if isinstance(exc, ssl.CertificateError):
                    raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
                if isinstance(exc, ssl.SSLError):
                    raise aiohttp.ClientConnectorSSLError(req.connection_key, exc) from exc
                if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
                    raise aiohttp.ClientConnectorError(req.connection_key, exc) from exc
                raise
        transport = stream.writer.transport
        protocol = _TunnelHandler(self._loop, stream.writer)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        return transport, protocol  # type: ignore[return-value]

    async def _reach_proxy(
        self, args: tuple[Any, ...], **kwargs: Any
    ) -> tuple[asyncio.Transport, ResponseHandler]:
        try:
            return await aiohttp.TCPConnector._wrap_create_connection(
                self, *args, client_error=aiohttp.ClientProxyConnectionError, **kwargs
            )
        except aiohttp.ClientConnectorCertificateError as exc:
            reason = _tls_reason(exc.certificate_error)
            raise ProxyFailure(f"cannot reach {self._name}: TLS failed ({reason})") from None
        except aiohttp.ClientConnectorSSLError as exc:
            reason = _tls_reason(exc.os_error)
            raise ProxyFailure(f"cannot reach {self._name}: TLS failed ({reason})") from None
        except aiohttp.ClientConnectorError as exc:
            raise ProxyFailure(f"cannot reach {self._name}: {_os_reason(exc.os_error)}") from None
        except TimeoutError:
            raise ProxyFailure(f"cannot reach {self._name}: timed out") from None

    async def _open_tunnel(
        self, dest: str, port: int, target: str, limit_s: float | None
    ) -> AsyncioSocketStream:
        proxy = Proxy(
            proxy_type=self._proxy_type,
            host=self._proxy_host,
            port=self._proxy_port,
            username=self._proxy_username,
            password=self._proxy_password,
            rdns=self._rdns,
            proxy_ssl=self._proxy_ssl,
        )
        try:
            return await proxy.connect(dest_host=dest, dest_port=port, timeout=limit_s)
        except python_socks.ProxyError as exc:
            if exc.error_code in (_TARGET_REPLIES if self._socks else _TARGET_STATUSES):
                raise TargetUnreachable(self._explain(exc, target)) from None
            raise ProxyFailure(self._explain(exc, target)) from None
        except Exception as exc:  # anything else here is the proxy's
            raise ProxyFailure(self._explain(exc, target)) from None

    def _explain(self, exc: BaseException, target: str) -> str:
        """What the proxy did, in words without its credentials (or its free text)."""
        name = self._name
        if isinstance(exc, TimeoutError):  # python_socks.ProxyTimeoutError too
            return f"cannot reach {name}: timed out"
        if isinstance(exc, python_socks.ProxyError):
            code = exc.error_code
            if not self._socks and code == 407:
                return f"{name} refused the authentication"
            if code is not None and not self._socks:
                return f"{name} did not open a tunnel to {target}: HTTP {code}"
            if code is not None:
                reply = _SOCKS_REPLIES.get(code, f"SOCKS reply {code}")
                return f"{name} did not open a tunnel to {target}: {reply}"
            if "authentication" in str(exc).lower():  # python-socks' own words, not the proxy's
                return f"{name} refused the authentication"
            if type(exc.__cause__).__name__ == "IncompleteReadError":
                return f"{name} closed the connection before opening a tunnel to {target}"
            return f"{name} did not open a tunnel to {target} (no valid answer)"
        if isinstance(exc, EOFError):  # asyncio.IncompleteReadError: the proxy hung up
            return f"{name} closed the connection before opening a tunnel to {target}"
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return f"cannot reach {name}: TLS failed ({_tls_reason(exc)})"
        if isinstance(exc, OSError):  # python_socks.ProxyConnectionError too
            return f"cannot reach {name}: {_os_reason(exc)}"
        return f"cannot reach {name}: {type(exc).__name__}"


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _os_reason(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, python_socks.ProxyConnectionError) else exc
    if isinstance(cause, socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno is not None and exc.errno < 0
    ):
        return "its host name does not resolve"
    number = exc.errno if isinstance(exc, OSError) else None
    if number is None:
        return type(exc).__name__
    if number == errno.ECONNREFUSED:
        return "connection refused"
    return os.strerror(number).lower()


def _tls_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    return type(exc).__name__
