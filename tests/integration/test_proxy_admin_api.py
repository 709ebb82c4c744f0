"""The proxy pool's admin API in-process (SQLite): what a proxy looks like, what is refused and
why, ids that cannot exist, an account's proxy, and the proxy's password, which no answer and no
log line ever holds."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.proxies import free_port
from tests.integration.proxy_pool import ADMIN, Gateway, running_gateway

PASSWORD = "Pw-9f3k2-top-secret"
SECRET_URL = f"http://scraper:{PASSWORD}@proxy.example.net:8080"


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway("sqlite", tmp_path) as gw:
        yield gw


async def test_a_proxy_is_created_shown_changed_in_part_and_deleted(gateway: Gateway) -> None:
    created = await gateway.new_proxy(
        SECRET_URL, label="eu-1", max_accounts=5, priority=10, providers=["openai"]
    )
    assert created == {
        "id": created["id"],
        "url": "http://scraper:***@proxy.example.net:8080",
        "protocol": "http",
        "label": "eu-1",
        "is_active": True,
        "max_accounts": 5,
        "priority": 10,
        "providers": ["openai"],
        "health_status": "unknown",
        "consecutive_failures": 0,
        "latency_ms": None,
        "last_checked_at": None,
        "marked_down_at": None,
        "created_at": created["created_at"],
        "updated_at": created["updated_at"],
        "accounts": 0,
    }
    proxy_id = created["id"]
    assert await gateway.call("GET", f"/api/v1/proxies/{proxy_id}") == created
    listed = await gateway.call("GET", "/api/v1/proxies")
    assert listed == {"data": [created], "total": 1}

    renamed = await gateway.call("PUT", f"/api/v1/proxies/{proxy_id}", {"label": "eu-2"})
    assert renamed["label"] == "eu-2"
    assert (renamed["url"], renamed["max_accounts"], renamed["providers"]) == (
        created["url"],
        5,
        ["openai"],
    )
    # a URL without a scheme keeps the protocol; a new password replaces the old one
    moved = await gateway.call(
        "PATCH", f"/api/v1/proxies/{proxy_id}", {"url": "scraper:other@10.1.2.3:3128"}
    )
    assert (moved["url"], moved["protocol"]) == ("http://scraper:***@10.1.2.3:3128", "http")
    socks = await gateway.call("PATCH", f"/api/v1/proxies/{proxy_id}", {"protocol": "socks5"})
    assert socks["url"] == "socks5://scraper:***@10.1.2.3:3128"

    deleted = await gateway.call("DELETE", f"/api/v1/proxies/{proxy_id}")
    assert deleted["message"] == "proxy deleted"
    await gateway.call("GET", f"/api/v1/proxies/{proxy_id}", status=404)
    assert (await gateway.call("GET", "/api/v1/proxies"))["total"] == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"url": "ftp://proxy.example.net:21"}, "scheme"),
        ({"url": "proxy.example.net:8080"}, "scheme"),
        ({"url": "http://:8080"}, "host"),
        ({"url": "http://bad_host!:8080"}, "host"),
        ({"url": "http://proxy.example.net"}, "port"),
        ({"url": "http://proxy.example.net:99999"}, "port"),
        ({"url": "http://proxy.example.net:http"}, "port"),
        ({"url": "http://proxy.example.net:8080/path"}, "path"),
        ({"url": "http://proxy.example.net:8080", "protocol": "socks5"}, "does not match"),
        ({"url": "http://proxy.example.net:8080", "protocol": "quic"}, "protocol"),
        ({"url": ""}, "url"),
        ({"url": "http://h:1", "label": "x" * 101}, "label is longer than 100"),
        ({"url": "http://h:1", "max_accounts": -1}, "max_accounts must be between 0"),
        ({"url": "http://h:1", "max_accounts": 10**12}, "max_accounts must be between 0"),
        ({"url": "http://h:1", "priority": 10**12}, "priority must be between"),
        ({"url": "http://h:1", "providers": ["openai", "nope"]}, "unknown provider nope"),
        ({"url": "http://h:1", "providers": ["p"] * 51}, "more than 50 providers"),
        ({"url": "http://h:1", "providers": "openai"}, "providers"),
        ({"url": "http://h:1", "weight": 3}, "unknown field `weight`"),
        ({"label": "no url"}, "url"),
    ],
)
async def test_a_proxy_that_cannot_be_used_is_a_422_naming_the_problem(
    gateway: Gateway, body: dict[str, Any], named: str
) -> None:
    error = (await gateway.call("POST", "/api/v1/proxies", body, status=422))["error"]
    assert error["type"] == "validation_error"
    assert named in error["message"]
    assert (await gateway.call("GET", "/api/v1/proxies"))["total"] == 0


async def test_a_change_that_cannot_be_used_is_a_422_and_changes_nothing(
    gateway: Gateway,
) -> None:
    created = await gateway.new_proxy("http://10.0.0.1:3128", label="kept")
    path = f"/api/v1/proxies/{created['id']}"
    for body, named in [
        ({"url": "http://10.0.0.1"}, "port"),
        ({"protocol": "gopher"}, "protocol"),
        ({"max_accounts": -5}, "max_accounts"),
        ({"providers": ["ghost"]}, "unknown provider ghost"),
        ({"is_active": "yes"}, "is_active"),
        ({"colour": "red"}, "unknown field `colour`"),
    ]:
        error = (await gateway.call("PATCH", path, body, status=422))["error"]
        assert named in error["message"], (body, error)
    assert await gateway.call("GET", path) == created
    response = await gateway.client.patch(path, content=b"{not json", headers=ADMIN)
    assert response.status_code == 400


async def test_the_same_proxy_twice_is_a_409(gateway: Gateway) -> None:
    first = await gateway.new_proxy(SECRET_URL)
    again = await gateway.call(
        "POST", "/api/v1/proxies", {"url": "http://scraper:x@PROXY.example.net:8080"}, status=409
    )
    assert again["error"]["message"] == f"proxy {first['id']} already has this url"
    # another user of the same endpoint is another proxy (another exit address)
    await gateway.new_proxy("http://scraper-2:y@proxy.example.net:8080")


@pytest.mark.parametrize(
    "proxy_id", ["abc", "0", "-1", "1.5", "99999", "2147483648", "99999999999999999999", "x" * 500]
)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"label": "x"}),
        ("PATCH", "", {"label": "x"}),
        ("DELETE", "", None),
        ("POST", "/test", None),
    ],
)
async def test_an_id_that_names_no_proxy_is_a_short_404(
    gateway: Gateway, proxy_id: str, method: str, suffix: str, body: Any
) -> None:
    kwargs: dict[str, Any] = {"json": body} if body is not None else {}
    response = await gateway.client.request(
        method, f"/api/v1/proxies/{proxy_id}{suffix}", headers=ADMIN, **kwargs
    )
    assert response.status_code == 404, response.text
    assert response.json()["error"]["type"] == "not_found"
    assert len(response.content) < 300


async def test_the_proxy_routes_need_the_admin_key(gateway: Gateway) -> None:
    for method, path in [
        ("GET", "/api/v1/proxies"),
        ("POST", "/api/v1/proxies"),
        ("GET", "/api/v1/proxies/assignments"),
        ("POST", "/api/v1/proxies/recalculate"),
        ("POST", "/api/v1/proxies/1/test"),
    ]:
        response = await gateway.client.request(method, path)
        assert response.status_code == 401, (method, path)


async def test_an_account_names_an_existing_proxy_or_is_a_422(gateway: Gateway) -> None:
    proxy = await gateway.new_proxy(SECRET_URL, label="pinned")
    other = await gateway.new_proxy("http://10.0.0.9:3128", label="other")
    body = {"provider_id": "openai", "auth_data": {"api_key": "sk-pinned-0001"}}

    for missing in (999, 0, 2**40):
        refused = await gateway.call(
            "POST", "/api/v1/accounts", {**body, "proxy_id": missing}, status=422
        )
        assert refused["error"]["message"] == f"proxy_id {missing} does not exist"
    assert (await gateway.call("GET", "/api/v1/accounts"))["total"] == 0

    pinned = await gateway.call(
        "POST", "/api/v1/accounts", {**body, "proxy_id": proxy["id"]}, status=201
    )
    assert pinned["proxy"] == {
        "id": proxy["id"],
        "url": "http://scraper:***@proxy.example.net:8080",
        "label": "pinned",
        "health_status": "unknown",
    }
    path = f"/api/v1/accounts/{pinned['id']}"
    refused = await gateway.call("PATCH", path, {"proxy_id": 4242}, status=422)
    assert refused["error"]["message"] == "proxy_id 4242 does not exist"
    assert (await gateway.call("GET", path))["proxy"]["id"] == proxy["id"]
    repinned = await gateway.call("PUT", path, {"proxy_id": other["id"]})
    assert repinned["proxy"]["label"] == "other"


async def test_a_pin_must_name_a_proxy_that_can_carry_the_account(gateway: Gateway) -> None:
    full = await gateway.new_proxy("http://10.0.0.7:3128", max_accounts=1)
    off = await gateway.new_proxy("http://10.0.0.8:3128")
    claude = await gateway.new_proxy("http://10.0.0.9:3128", providers=["anthropic"])
    await gateway.call("PATCH", f"/api/v1/proxies/{off['id']}", {"is_active": False})
    body = {"provider_id": "openai", "auth_data": {"api_key": "sk-pinned-0002"}}
    first = await gateway.call(
        "POST", "/api/v1/accounts", {**body, "proxy_id": full["id"]}, status=201
    )
    for proxy, message in [
        (full, f"proxy {full['id']} is full (max_accounts 1)"),
        (off, f"proxy {off['id']} is disabled"),
        (claude, f"proxy {claude['id']} does not serve provider openai"),
    ]:
        refused = await gateway.call(
            "POST", "/api/v1/accounts", {**body, "proxy_id": proxy["id"]}, status=422
        )
        assert refused["error"]["message"] == message
    # the account already there may be pinned to where it is
    again = await gateway.call("PATCH", f"/api/v1/accounts/{first['id']}", {"proxy_id": full["id"]})
    assert again["proxy_id"] == full["id"]


async def test_an_account_without_a_proxy_shows_null(gateway: Gateway) -> None:
    account = await gateway.new_account("direct")  # the pool is empty
    assert (account["proxy_id"], account["proxy"]) == (None, None)
    listed = await gateway.call("GET", "/api/v1/accounts")
    assert listed["data"][0]["proxy"] is None


async def test_the_password_is_in_no_answer_and_no_log_line(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def call(method: str, path: str, body: Any = None) -> None:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        response = await gateway.client.request(method, path, headers=ADMIN, **kwargs)
        assert response.status_code < 500, response.text
        seen.append(response.text)

    proxy = await gateway.new_proxy(SECRET_URL, label="secret")
    path = f"/api/v1/proxies/{proxy['id']}"
    await gateway.new_account("behind-the-proxy")
    await call("GET", "/api/v1/proxies")
    await call("GET", path)
    await call("GET", "/api/v1/proxies/assignments")
    await call("GET", "/api/v1/accounts")
    await call("POST", "/api/v1/proxies/recalculate")
    await call("PATCH", path, {"label": "still secret"})
    await call("PATCH", path, {"url": f"http://scraper:{PASSWORD}@proxy.example.net:99999"})
    await call("PATCH", path, {"url": f"gopher://scraper:{PASSWORD}@proxy.example.net:70"})
    await call("POST", "/api/v1/proxies", {"url": SECRET_URL})  # 409: the same proxy
    await call("POST", "/api/v1/proxies", {"url": f"http://u:{PASSWORD}@h:1/p"})
    # a proxy nothing listens on: the test fails, and says so without the password
    dead = await gateway.new_proxy(f"http://scraper:{PASSWORD}@127.0.0.1:{free_port()}")
    await call("POST", f"/api/v1/proxies/{dead['id']}/test", {"url": "http://127.0.0.1:9/"})
    assert '"ok":false' in seen[-1]

    assert len(seen) == 11
    for text in [*seen, caplog.text]:
        assert PASSWORD not in text
    assert "scraper:***@" in seen[1]


async def test_health_counts_the_pool_and_says_which_accounts_have_no_proxy(
    gateway: Gateway,
) -> None:
    assert (await gateway.call("GET", "/health"))["proxies"] == {
        "total": 0,
        "active": 0,
        "down": 0,
        "unrouted": {},
    }
    full = await gateway.new_proxy(SECRET_URL, max_accounts=1)
    await gateway.call(
        "POST",
        "/api/v1/accounts",
        {"provider_id": "openai", "auth_data": {"api_key": "sk-one-1234567890"}},
        status=201,
    )
    second = await gateway.call(
        "POST",
        "/api/v1/accounts",
        {"provider_id": "openai", "auth_data": {"api_key": "sk-two-1234567890"}},
        status=201,
    )
    health = await gateway.call("GET", "/health")
    assert health["proxies"]["total"] == health["proxies"]["active"] == 1
    assert health["proxies"]["unrouted"] == {
        "openai": [f"account {second['id']} has no proxy assigned"]
    }
    assert PASSWORD not in str(health) and full["id"] >= 1
