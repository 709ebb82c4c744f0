"""`POST /api/v1/proxies/{id}/test` through a real proxy (pproxy, with a password) to a local
server: the answer says whether the URL answered, with its status and latency; a killed proxy
answers ok=false with the reason (never the password), and every outcome counts in the proxy's
health, so a manual test also brings a down proxy back."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fakes.proxies import FakeProxy
from tests.integration.proxy_pool import Gateway, running_gateway

PASSWORD = "pproxy-Secret-771"


@dataclass
class Target:
    """A local server; `peers` are the addresses its requests came from. It runs in its own
    thread: the in-process app is served from another event loop while the test waits."""

    base_url: str
    peers: list[str] = field(default_factory=list)


@pytest.fixture
def target() -> Iterator[Target]:
    peers: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peers.append(self.client_address[0])
            self.send_response(418 if self.path == "/teapot" else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Target(f"http://127.0.0.1:{server.server_address[1]}", peers)
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def proxy() -> Iterator[FakeProxy]:
    fake = FakeProxy("http", username="tester", password=PASSWORD).start()
    yield fake
    fake.close()


@pytest.fixture
async def gateway(tmp_path: Path, target: Target) -> AsyncIterator[Gateway]:
    env = {
        "AIGATEWAY_PROXY_HEALTH_CHECK_URL": f"{target.base_url}/generate_204",
        "AIGATEWAY_PROXY_CHECK_TIMEOUT_S": "3",
        "AIGATEWAY_PROXY_FAILURE_THRESHOLD": "2",
    }
    async with running_gateway("sqlite", tmp_path, env) as gw:
        yield gw


async def test_a_test_through_a_working_proxy_answers_ok_with_status_and_latency(
    gateway: Gateway, proxy: FakeProxy, target: Target
) -> None:
    created = await gateway.new_proxy(proxy.url, label="pproxy")

    checked = await gateway.call("POST", f"/api/v1/proxies/{created['id']}/test")

    assert checked["proxy_id"] == created["id"]
    assert checked["url"] == f"{target.base_url}/generate_204"  # the health check URL
    assert (checked["ok"], checked["status"], checked["error"]) == (True, 204, None)
    assert checked["latency_ms"] > 0
    assert checked["health_status"] == "healthy"
    assert target.peers == [proxy.egress_ip]  # it went through the proxy, not directly
    assert proxy.connections()

    other = await gateway.call(
        "POST", f"/api/v1/proxies/{created['id']}/test", {"url": f"{target.base_url}/teapot"}
    )
    assert (other["ok"], other["status"]) == (True, 418)  # any answer means the proxy works

    shown = await gateway.call("GET", f"/api/v1/proxies/{created['id']}")
    assert (shown["health_status"], shown["consecutive_failures"]) == ("healthy", 0)
    assert shown["latency_ms"] > 0 and shown["last_checked_at"] is not None


async def test_a_killed_proxy_fails_its_test_goes_down_and_comes_back_after_a_good_one(
    gateway: Gateway, proxy: FakeProxy, target: Target
) -> None:
    proxy_id = (await gateway.new_proxy(proxy.url))["id"]
    path = f"/api/v1/proxies/{proxy_id}"
    proxy.kill()

    failed = await gateway.call("POST", f"{path}/test")

    assert (failed["ok"], failed["status"], failed["latency_ms"]) == (False, None, None)
    assert failed["error"]
    assert PASSWORD not in failed["error"]
    shown = await gateway.call("GET", path)
    assert (shown["consecutive_failures"], shown["health_status"]) == (1, "unknown")
    assert shown["last_checked_at"] is not None

    again = await gateway.call("POST", f"{path}/test")  # the threshold is 2
    assert (again["ok"], again["health_status"]) == (False, "down")
    down = await gateway.call("GET", path)
    assert down["health_status"] == "down" and down["marked_down_at"] is not None

    proxy.start()  # the proxy is back on its address
    recovered = await gateway.call("POST", f"{path}/test")

    assert (recovered["ok"], recovered["status"], recovered["health_status"]) == (
        True,
        204,
        "healthy",
    )
    back = await gateway.call("GET", path)
    assert (back["health_status"], back["consecutive_failures"]) == ("healthy", 0)
    assert back["marked_down_at"] is None
    assert target.peers == [proxy.egress_ip]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"url": "ftp://127.0.0.1/file"}, "http(s) URL with a host"),
        ({"url": "http://"}, "http(s) URL with a host"),
        ({"url": "not a url"}, "spaces"),
        ({"url": "http://127.0.0.1:notaport/"}, "valid port"),
        ({"url": 7}, "url"),
        ({"target": "http://x"}, "unknown field `target`"),
    ],
)
async def test_a_test_url_that_is_not_http_with_a_host_is_a_422(
    gateway: Gateway, proxy: FakeProxy, body: dict[str, object], named: str
) -> None:
    proxy_id = (await gateway.new_proxy(proxy.url))["id"]
    refused = await gateway.call("POST", f"/api/v1/proxies/{proxy_id}/test", body, status=422)
    assert named in refused["error"]["message"]
    assert proxy.connections() == []  # nothing was sent
