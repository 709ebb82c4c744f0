"""A failing proxy is told apart from a failing upstream: a wrong password, a dead proxy, a
closed port, a proxy that never answers or whose certificate is not trusted raise
UpstreamUnavailable with kind PROXY and a message naming the proxy (never its password);
what fails once the tunnel is up keeps the upstream's kinds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from aigateway.adapters.upstream.aiohttp_transport import AiohttpUpstream
from aigateway.application.ports.upstream import UpstreamUnavailable
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.proxies import DIRECT, Route, parse_proxy_url
from tests.fakes.proxies import FakeProxy, TestCertificate, free_port
from tests.integration.proxy_world import Target, post, route

USER, PASSWORD = "gateway", "s3cret-Pa55"


@pytest.fixture(scope="module")
def target(certificate: TestCertificate) -> Iterator[Target]:
    server = Target(certificate).start()
    yield server
    server.stop()


@pytest.fixture
async def upstream(certificate: TestCertificate) -> AsyncIterator[AiohttpUpstream]:
    transport = AiohttpUpstream(connect_timeout_s=1, ssl_context=certificate.client_context())
    yield transport
    await transport.aclose()


def proxy_of(protocol: str, certificate: TestCertificate) -> FakeProxy:
    return FakeProxy(
        protocol,
        username=USER,
        password=PASSWORD,
        certificate=certificate if protocol == "https" else None,
    )


def assert_proxy_failure(failure: UpstreamUnavailable, message: str) -> None:
    assert failure.kind is NetworkErrorKind.PROXY
    assert str(failure) == message
    for shown in (str(failure), repr(failure)):
        assert PASSWORD not in shown
        assert USER not in shown


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("protocol", ["http", "https", "socks5"])
async def test_a_wrong_proxy_password_is_a_proxy_failure(
    upstream: AiohttpUpstream,
    target: Target,
    certificate: TestCertificate,
    protocol: str,
    scheme: str,
) -> None:
    proxy = proxy_of(protocol, certificate).start()
    try:
        via = Route(3, parse_proxy_url(proxy.url.replace(PASSWORD, "not-the-password")))
        root = target.https_url if scheme == "https" else target.http_url
        with pytest.raises(UpstreamUnavailable) as failed:
            await upstream.open(post(f"{root}/echo", via))
    finally:
        proxy.close()
    name = f"proxy 3 (127.0.0.1:{proxy.port})"
    if protocol == "socks5":  # pproxy hangs up on a wrong password, without a SOCKS reply
        host = "127.0.0.1" if scheme == "http" else "localhost"
        port = target.http_port if scheme == "http" else target.https_port
        message = f"{name} closed the connection before opening a tunnel to {host}:{port}"
    else:
        message = f"{name} refused the authentication"
    assert_proxy_failure(failed.value, message)
    assert "not-the-password" not in repr(failed.value)


@pytest.mark.parametrize("protocol", ["http", "https", "socks5"])
async def test_a_killed_proxy_is_a_proxy_failure(
    upstream: AiohttpUpstream, target: Target, certificate: TestCertificate, protocol: str
) -> None:
    proxy = proxy_of(protocol, certificate).start()
    via = route(proxy, 4)
    try:
        response = await upstream.open(post(f"{target.https_url}/echo", via))
        await response.read()
        await response.close()
        proxy.kill()
        # a call racing the crash may still write on the dying tunnel (a reset); the loop
        # notices the dropped connections at its next turn, as it would between two calls
        await asyncio.sleep(0.05)
        with pytest.raises(UpstreamUnavailable) as failed:
            await upstream.open(post(f"{target.https_url}/echo", via))
    finally:
        proxy.close()
    message = f"cannot reach proxy 4 (127.0.0.1:{proxy.port}): connection refused"
    assert_proxy_failure(failed.value, message)


@pytest.mark.parametrize("protocol", ["http", "https", "socks5", "socks5h"])
@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_a_closed_proxy_port_is_a_proxy_failure(
    upstream: AiohttpUpstream, target: Target, protocol: str, scheme: str
) -> None:
    port = free_port()
    via = Route(5, parse_proxy_url(f"{protocol}://{USER}:{PASSWORD}@127.0.0.1:{port}"))
    root = target.https_url if scheme == "https" else target.http_url
    with pytest.raises(UpstreamUnavailable) as failed:
        await upstream.open(post(f"{root}/echo", via))
    assert_proxy_failure(
        failed.value, f"cannot reach proxy 5 (127.0.0.1:{port}): connection refused"
    )


@pytest.fixture
async def silent_proxy() -> AsyncIterator[int]:
    """A proxy that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    for writer in held:
        writer.close()
    await server.wait_closed()


@pytest.mark.parametrize("protocol", ["http", "socks5"])
async def test_a_proxy_that_never_answers_times_out_as_a_proxy_failure(
    upstream: AiohttpUpstream, target: Target, silent_proxy: int, protocol: str
) -> None:
    via = Route(6, parse_proxy_url(f"{protocol}://{USER}:{PASSWORD}@127.0.0.1:{silent_proxy}"))
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as failed:
        await upstream.open(post(f"{target.https_url}/echo", via))
    assert time.monotonic() - started < 3  # the connect timeout (1 s), not the read timeout
    assert_proxy_failure(
        failed.value, f"cannot reach proxy 6 (127.0.0.1:{silent_proxy}): timed out"
    )


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_an_https_proxy_with_an_untrusted_certificate_is_a_proxy_failure(
    target: Target, certificate: TestCertificate, scheme: str
) -> None:
    proxy = proxy_of("https", certificate).start()
    upstream = AiohttpUpstream(connect_timeout_s=2)  # the system's trust store only
    root = target.https_url if scheme == "https" else target.http_url
    try:
        with pytest.raises(UpstreamUnavailable) as failed:
            await upstream.open(post(f"{root}/echo", route(proxy, 7)))
    finally:
        await upstream.aclose()
        proxy.close()
    assert failed.value.kind is NetworkErrorKind.PROXY
    assert str(failed.value).startswith(f"cannot reach proxy 7 (127.0.0.1:{proxy.port}): TLS")
    assert PASSWORD not in repr(failed.value)


@pytest.fixture(scope="module")
def socks(certificate: TestCertificate) -> Iterator[FakeProxy]:
    proxy = proxy_of("socks5", certificate).start()
    yield proxy
    proxy.close()


async def test_an_untrusted_target_behind_a_working_tunnel_is_the_targets_failure(
    target: Target, socks: FakeProxy
) -> None:
    other = TestCertificate()
    upstream = AiohttpUpstream(ssl_context=other.client_context())  # trusts another certificate
    try:
        with pytest.raises(UpstreamUnavailable) as failed:
            await upstream.open(post(f"{target.https_url}/echo", route(socks, 8)))
    finally:
        await upstream.aclose()
        other.remove()
    assert failed.value.kind is NetworkErrorKind.CONNECT
    assert str(failed.value) == f"cannot connect to upstream host localhost:{target.https_port}"


async def test_a_silent_target_behind_a_working_tunnel_times_out_as_today(
    upstream: AiohttpUpstream, target: Target, socks: FakeProxy
) -> None:
    with pytest.raises(UpstreamUnavailable) as failed:
        await upstream.open(post(f"{target.https_url}/silent", route(socks, 9), timeout_s=0.3))
    assert failed.value.kind is NetworkErrorKind.TIMEOUT  # the model cools, not the proxy


async def test_a_probe_tells_the_proxys_failure_from_the_targets(
    upstream: AiohttpUpstream, target: Target, socks: FakeProxy
) -> None:
    dead = Route(10, parse_proxy_url(f"socks5://{USER}:{PASSWORD}@127.0.0.1:{free_port()}"))
    with pytest.raises(UpstreamUnavailable) as proxy_down:
        await upstream.probe(dead, f"{target.https_url}/generate_204", 2)
    assert proxy_down.value.kind is NetworkErrorKind.PROXY
    assert PASSWORD not in str(proxy_down.value)

    with pytest.raises(UpstreamUnavailable) as refused:
        await upstream.probe(DIRECT, f"http://127.0.0.1:{free_port()}/generate_204", 2)
    assert refused.value.kind is NetworkErrorKind.CONNECT

    for via in (DIRECT, route(socks, 11)):
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable) as slow:
            await upstream.probe(via, f"{target.https_url}/silent", 0.5)
        assert slow.value.kind is NetworkErrorKind.TIMEOUT
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (502, NetworkErrorKind.CONNECT),
        (503, NetworkErrorKind.CONNECT),
        (403, NetworkErrorKind.PROXY),
    ],
)
async def test_a_proxy_that_cannot_reach_the_target_blames_the_target(
    upstream: AiohttpUpstream, target: Target, answer: int, kind: NetworkErrorKind
) -> None:
    """A working proxy answering CONNECT with 502/503 (as squid does when the target is down)
    is the target's failure: the proxy must not be marked down for an upstream's outage."""

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 %d No\r\nContent-Length: 0\r\n\r\n" % answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        via = Route(6, parse_proxy_url(f"http://127.0.0.1:{port}"))
        with pytest.raises(UpstreamUnavailable) as failed:
            await upstream.open(post(f"{target.https_url}/echo", via))
    finally:
        server.close()
        await server.wait_closed()
    assert failed.value.kind is kind
    assert f"HTTP {answer}" in str(failed.value)
