"""Where accounts leave from as the operator changes the proxy pool, on SQLite and MariaDB: two
proxies share six accounts 3/3; disabling one (through the API, or the operator guide's SQL and
a recalculation) moves its three accounts to the other and no other account; re-enabling it
splits them 3/3 again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.proxy_pool import BACKENDS, Gateway, running_gateway


@pytest.fixture(params=BACKENDS)
async def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(request.param, tmp_path) as gw:
        yield gw


async def two_proxies_six_accounts(gw: Gateway) -> tuple[int, int, set[str]]:
    a = await gw.new_proxy("http://10.20.0.1:3128", label="a")
    b = await gw.new_proxy("socks5://10.20.0.2:1080", label="b")
    accounts = {(await gw.new_account(f"acct{i}"))["id"] for i in range(6)}
    return a["id"], b["id"], accounts


def moves_of(report: dict[str, object]) -> set[tuple[str, int | None, int | None]]:
    moves = report["moves"]
    assert isinstance(moves, list)
    assert report["moved"] == len(moves)
    return {(m["account_id"], m["from_proxy_id"], m["to_proxy_id"]) for m in moves}


async def test_new_accounts_get_a_proxy_when_they_are_created_balanced(gateway: Gateway) -> None:
    a = await gateway.new_proxy("http://10.20.0.1:3128", label="a")
    b = await gateway.new_proxy("http://10.20.0.2:3128", label="b")
    load = {a["id"]: 0, b["id"]: 0}
    for i in range(6):
        account = await gateway.new_account(f"acct{i}")
        proxy = account["proxy"]
        assert proxy is not None, account
        assert account["proxy_id"] == proxy["id"]
        load[proxy["id"]] += 1
        assert max(load.values()) - min(load.values()) <= 1  # balanced after every creation
        shown = await gateway.call("GET", f"/api/v1/accounts/{account['id']}")
        assert shown["proxy"] == proxy
    assert load == {a["id"]: 3, b["id"]: 3}
    listed = await gateway.call("GET", "/api/v1/proxies")
    assert {p["id"]: p["accounts"] for p in listed["data"]} == load


async def test_recalculate_gives_accounts_without_a_proxy_one_three_a_side(
    gateway: Gateway,
) -> None:
    a, b, accounts = await two_proxies_six_accounts(gateway)
    await gateway.sql("UPDATE accounts SET proxy_id = NULL")
    assert (await gateway.placement())[None] == accounts

    report = await gateway.call("POST", "/api/v1/proxies/recalculate")

    assert {(m[0], m[1]) for m in moves_of(report)} == {(acc, None) for acc in accounts}
    assert sorted((p["id"], p["accounts"]) for p in report["proxies"]) == [(a, 3), (b, 3)]
    assert report["unassigned"] == []
    where = await gateway.placement()
    assert (len(where[a]), len(where[b]), where[None]) == (3, 3, set())
    again = await gateway.call("POST", "/api/v1/proxies/recalculate")
    assert again["moves"] == []  # nothing moves twice


async def test_disabling_a_proxy_through_the_api_moves_its_accounts_and_no_other(
    gateway: Gateway,
) -> None:
    a, b, accounts = await two_proxies_six_accounts(gateway)
    before = await gateway.placement()
    assert (len(before[a]), len(before[b])) == (3, 3)

    disabled = await gateway.call("PATCH", f"/api/v1/proxies/{a}", {"is_active": False})

    assert (disabled["is_active"], disabled["accounts"]) == (False, 0)
    after = await gateway.placement()
    assert after[b] == accounts and after[a] == set()
    for moved in before[a]:  # they say where they leave from now
        account = await gateway.call("GET", f"/api/v1/accounts/{moved}")
        assert account["proxy"]["id"] == b

    enabled = await gateway.call("PUT", f"/api/v1/proxies/{a}", {"is_active": True})

    assert (enabled["is_active"], enabled["accounts"]) == (True, 3)
    back = await gateway.placement()
    assert (len(back[a]), len(back[b]), back[None]) == (3, 3, set())
    report = await gateway.call("POST", "/api/v1/proxies/recalculate")
    assert report["moves"] == []


async def test_disabling_a_proxy_in_sql_then_recalculating_moves_its_accounts_and_no_other(
    gateway: Gateway,
) -> None:
    a, b, accounts = await two_proxies_six_accounts(gateway)
    before = await gateway.placement()

    # the operator guide's way, for when the admin API is out of reach
    await gateway.sql(f"UPDATE proxy_pool SET is_active = false WHERE id = {a};")
    report = await gateway.call("POST", "/api/v1/proxies/recalculate")

    assert moves_of(report) == {(acc, a, b) for acc in before[a]}
    assert sorted((p["id"], p["accounts"]) for p in report["proxies"]) == [(a, 0), (b, 6)]
    after = await gateway.placement()
    assert after[b] == accounts

    await gateway.sql(f"UPDATE proxy_pool SET is_active = true WHERE id = {a};")
    report = await gateway.call("POST", "/api/v1/proxies/recalculate")

    assert len(report["moves"]) == 3
    assert {(m["from_proxy_id"], m["to_proxy_id"]) for m in report["moves"]} == {(b, a)}
    back = await gateway.placement()
    assert (len(back[a]), len(back[b]), back[None]) == (3, 3, set())


async def test_deleting_a_proxy_moves_its_accounts_to_the_other(gateway: Gateway) -> None:
    a, b, accounts = await two_proxies_six_accounts(gateway)
    before = await gateway.placement()

    report = await gateway.call("DELETE", f"/api/v1/proxies/{a}")

    assert report["message"] == "proxy deleted"
    assert moves_of(report) == {(acc, a, b) for acc in before[a]}
    assert (await gateway.placement())[b] == accounts
    await gateway.call("GET", f"/api/v1/proxies/{a}", status=404)


async def test_accounts_beyond_every_proxys_room_have_none_until_room_is_made(
    gateway: Gateway,
) -> None:
    a = (await gateway.new_proxy("http://10.20.0.1:3128", max_accounts=2))["id"]
    b = (await gateway.new_proxy("http://10.20.0.2:3128", max_accounts=2))["id"]
    created = [await gateway.new_account(f"acct{i}") for i in range(6)]

    assert sum(1 for acc in created if acc["proxy"] is None) == 2
    where = await gateway.placement()
    assert (len(where[a]), len(where[b]), len(where[None])) == (2, 2, 2)

    grown = await gateway.call("PATCH", f"/api/v1/proxies/{a}", {"max_accounts": 0})

    assert grown["accounts"] == 4  # the two without a proxy got one at once
    after = await gateway.placement()
    assert after[b] == where[b] and after[None] == set()
