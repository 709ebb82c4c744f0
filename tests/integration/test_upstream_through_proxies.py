"""The aiohttp transport sends every call through the route it names: real pproxy proxies
(HTTP, HTTP with a password, HTTPS, SOCKS5 with a password, SOCKS5 with remote DNS) in front of
a local target that sees each proxy's own egress address, one bounded pool per proxy."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest

from aigateway.adapters.upstream.aiohttp_transport import AiohttpUpstream
from aigateway.application.ports.upstream import UpstreamUnavailable
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.proxies import DIRECT, Route, parse_proxy_url
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.cloud_code import FakeCloudCode
from tests.fakes.oauth_server import FakeOAuth
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.proxies import FakeProxy, TestCertificate
from tests.integration.proxy_world import STREAM_CHUNKS, Target, decoded, post, route

USER, PASSWORD = "gateway", "s3cret-Pa55"
KINDS = ["http", "http-auth", "https-auth", "socks5-auth", "socks5h"]


@pytest.fixture(scope="module")
def started_target(certificate: TestCertificate) -> Iterator[Target]:
    server = Target(certificate).start()
    yield server
    server.stop()


@pytest.fixture
def target(started_target: Target) -> Target:
    started_target.reset()
    return started_target


@pytest.fixture(scope="module")
def proxies(certificate: TestCertificate) -> Iterator[dict[str, FakeProxy]]:
    started = {
        "http": FakeProxy("http"),
        "http-auth": FakeProxy("http", username=USER, password=PASSWORD),
        "https-auth": FakeProxy("https", username=USER, password=PASSWORD, certificate=certificate),
        "socks5-auth": FakeProxy("socks5", username=USER, password=PASSWORD),
        "socks5": FakeProxy("socks5"),
    }
    try:
        for proxy in started.values():
            proxy.start()
        yield started
    finally:
        for proxy in started.values():
            proxy.close()


def route_of(kind: str, proxies: dict[str, FakeProxy]) -> tuple[FakeProxy, Route]:
    if kind == "socks5h":
        proxy = proxies["socks5"]
        return proxy, route(proxy, KINDS.index(kind) + 1, scheme="socks5h")
    proxy = proxies[kind]
    return proxy, route(proxy, KINDS.index(kind) + 1)


@pytest.fixture
async def upstream(certificate: TestCertificate) -> AsyncIterator[AiohttpUpstream]:
    transport = AiohttpUpstream(connect_timeout_s=3, ssl_context=certificate.client_context())
    yield transport
    await transport.aclose()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("kind", KINDS)
async def test_a_call_through_each_kind_of_proxy_arrives_from_the_proxys_address(
    upstream: AiohttpUpstream,
    target: Target,
    proxies: dict[str, FakeProxy],
    kind: str,
    scheme: str,
) -> None:
    proxy, via = route_of(kind, proxies)
    root = target.https_url if scheme == "https" else target.http_url
    response = await upstream.open(post(f"{root}/echo", via, body=b"hello"))
    answer = decoded(await response.read())
    await response.close()
    assert response.status == 200
    assert answer == {"peer": proxy.egress_ip, "body": "hello"}
    assert proxy.egress_ip != "127.0.0.1"
    (seen,) = target.seen
    assert seen.proxy_authorization is None  # the proxy's credentials stay with the proxy
    port = target.https_port if scheme == "https" else target.http_port
    assert proxy.connections()[-1].endswith(f":{port}")


async def test_a_direct_call_arrives_from_the_gateways_own_address(
    upstream: AiohttpUpstream, target: Target
) -> None:
    response = await upstream.open(post(f"{target.https_url}/echo", DIRECT))
    assert decoded(await response.read())["peer"] == "127.0.0.1"
    await response.close()


async def test_socks5_resolves_the_target_here_and_socks5h_lets_the_proxy_resolve(
    upstream: AiohttpUpstream, target: Target, proxies: dict[str, FakeProxy]
) -> None:
    proxy = proxies["socks5"]
    url = f"http://localhost:{target.http_port}/echo"
    for scheme in ("socks5", "socks5h"):
        response = await upstream.open(post(url, route(proxy, 40, scheme=scheme)))
        assert decoded(await response.read())["peer"] == proxy.egress_ip
        await response.close()
    *_, local, remote = proxy.connections()
    assert local.endswith(f"-> 127.0.0.1:{target.http_port}")  # the name resolved here
    assert remote.endswith(f"-> localhost:{target.http_port}")  # the name sent to the proxy


@pytest.fixture
async def refusing_proxy() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A proxy that records each request head and answers 407."""
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n")
        writer.write(b'Proxy-Authenticate: Basic realm="x"\r\nConnection: close\r\n\r\n')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1]), heads
    server.close()
    await server.wait_closed()


async def test_an_http_proxy_gets_absolute_form_for_http_and_connect_for_https(
    upstream: AiohttpUpstream, refusing_proxy: tuple[int, list[bytes]]
) -> None:
    port, heads = refusing_proxy
    via = Route(8, parse_proxy_url(f"http://{USER}:{PASSWORD}@127.0.0.1:{port}"))
    credentials = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for url in ("http://upstream.test:8080/v1/chat", "https://upstream.test/v1/chat"):
        with pytest.raises(UpstreamUnavailable) as refused:
            await upstream.open(post(url, via))
        assert refused.value.kind is NetworkErrorKind.PROXY
        assert str(refused.value) == f"proxy 8 (127.0.0.1:{port}) refused the authentication"
    plain, tunnel = (head.decode().split("\r\n") for head in heads)
    assert plain[0] == "POST http://upstream.test:8080/v1/chat HTTP/1.1"
    assert tunnel[0] == "CONNECT upstream.test:443 HTTP/1.1"
    assert f"Proxy-Authorization: {credentials}" in plain
    assert f"Proxy-Authorization: {credentials}" in tunnel


@pytest.mark.parametrize("kind", ["http-auth", "https-auth", "socks5-auth"])
async def test_a_stream_arrives_whole_through_a_proxy(
    upstream: AiohttpUpstream, target: Target, proxies: dict[str, FakeProxy], kind: str
) -> None:
    proxy, via = route_of(kind, proxies)
    response = await upstream.open(post(f"{target.https_url}/stream", via))
    chunks = [chunk async for chunk in response.iter_chunks()]
    await response.close()
    assert b"".join(chunks) == b"".join(STREAM_CHUNKS)
    assert target.peers() == [proxy.egress_ip]


async def call(upstream: AiohttpUpstream, url: str, via: Route) -> int:
    """One call, read to its end; its status."""
    response = await upstream.open(post(url, via))
    await response.read()
    await response.close()
    return response.status


async def test_retire_closes_the_pools_of_routes_not_kept(
    upstream: AiohttpUpstream, target: Target, proxies: dict[str, FakeProxy]
) -> None:
    proxy, via = route_of("socks5-auth", proxies)
    url = f"{target.https_url}/echo"
    before = len(proxy.connections())
    await call(upstream, url, via)
    await call(upstream, url, DIRECT)
    await call(upstream, url, via)
    assert len(proxy.connections()) == before + 1  # the pool keeps its connection

    await upstream.retire([via])
    await call(upstream, url, via)
    assert len(proxy.connections()) == before + 1  # kept: the same connection

    await upstream.retire([])
    await call(upstream, url, via)
    await call(upstream, url, DIRECT)
    assert len(proxy.connections()) == before + 2  # a new pool, a new connection
    direct_ports = {s.port for s in target.seen if s.peer == "127.0.0.1"}
    assert len(direct_ports) == 1  # the direct pool is never retired


async def test_a_proxy_whose_url_changed_gets_a_new_pool(
    upstream: AiohttpUpstream, target: Target, proxies: dict[str, FakeProxy]
) -> None:
    old, new = proxies["http-auth"], proxies["socks5-auth"]
    await call(upstream, f"{target.https_url}/echo", route(old, 50))
    await call(upstream, f"{target.https_url}/echo", route(new, 50))  # same id, another URL
    assert target.peers() == [old.egress_ip, new.egress_ip]


async def test_each_proxy_pool_is_bounded_by_proxy_pool_size(
    certificate: TestCertificate, target: Target, proxies: dict[str, FakeProxy]
) -> None:
    upstream = AiohttpUpstream(
        pool_size=10, proxy_pool_size=2, ssl_context=certificate.client_context()
    )
    url = f"{target.https_url}/hold"
    try:
        for via in (route_of("socks5-auth", proxies)[1], route_of("http-auth", proxies)[1]):
            target.reset()
            statuses = await asyncio.gather(*(call(upstream, url, via) for _ in range(6)))
            assert statuses == [200] * 6
            assert target.most_active == 2
            assert len({s.port for s in target.seen}) == 2  # two connections, reused
        target.reset()
        statuses = await asyncio.gather(*(call(upstream, url, DIRECT) for _ in range(6)))
        assert statuses == [200] * 6
        assert target.most_active == 6  # the direct pool has its own, larger bound
    finally:
        await upstream.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_probe_answers_the_status_through_the_proxy(
    upstream: AiohttpUpstream, target: Target, proxies: dict[str, FakeProxy], kind: str
) -> None:
    proxy, via = route_of(kind, proxies)
    assert await upstream.probe(via, f"{target.https_url}/generate_204", 5) == 204
    assert target.peers() == [proxy.egress_ip]


async def test_a_probe_does_not_wait_for_the_end_of_a_long_body(
    upstream: AiohttpUpstream, target: Target, proxies: dict[str, FakeProxy]
) -> None:
    _, via = route_of("socks5-auth", proxies)
    started = time.monotonic()
    assert await upstream.probe(via, f"{target.https_url}/endless", 10) == 200
    assert await upstream.probe(DIRECT, f"{target.http_url}/endless", 10) == 200
    assert time.monotonic() - started < 5


async def test_the_fake_upstreams_record_the_address_each_call_came_from(
    upstream: AiohttpUpstream, proxies: dict[str, FakeProxy]
) -> None:
    proxy, via = route_of("socks5-auth", proxies)
    json_body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic, FakeCloudCode() as cloud:
        with FakeOAuth() as oauth:
            urls = [
                f"{openai.base_url}/chat/completions",
                f"{anthropic.base_url}/v1/messages",
                f"{cloud.base_url}/v1internal:loadCodeAssist",
                oauth.anthropic_token_url,
            ]
            for url in urls:
                for way in (via, DIRECT):
                    request = post(url, way, body=json_body)
                    headers = {"Content-Type": "application/json", "Authorization": "Bearer k"}
                    request = msgspec.structs.replace(request, headers=headers)
                    response = await upstream.open(request)
                    await response.read()
                    await response.close()
            peers = [
                [c.peer for c in openai.calls],
                [c.peer for c in anthropic.calls],
                [c.peer for c in cloud.calls],
                [c.peer for c in oauth.calls()],
            ]
    assert peers == [[proxy.egress_ip, "127.0.0.1"]] * 4
