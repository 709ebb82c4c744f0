"""A proxy row that cannot be read (edited by hand into something unusable) keeps its accounts
out of service, never sends them directly nor moves them, and is shown in /health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.proxy_pool import Gateway, running_gateway


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway("sqlite", tmp_path, {"AIGATEWAY_CATALOG_TTL_S": "0.05"}) as gw:
        yield gw


async def reloaded(gateway: Gateway) -> dict[str, object]:
    # any admin write makes the catalog reload at once
    await gateway.call("POST", "/api/v1/api-keys", {"label": "reload"}, status=201)
    health: dict[str, object] = await gateway.call("GET", "/health")
    return health


@pytest.mark.parametrize("only_proxy", [True, False])
async def test_an_unreadable_proxy_holds_its_accounts_out_of_service(
    gateway: Gateway, only_proxy: bool
) -> None:
    broken = await gateway.new_proxy("http://u:pw@10.0.0.1:3128")
    if not only_proxy:
        await gateway.new_proxy("http://u:pw@10.0.0.2:3128")
    first = await gateway.new_account("first")
    second = await gateway.new_account("second")
    before = await gateway.placement()
    held = before[broken["id"]]
    assert held  # the broken proxy carries at least one account
    await gateway.sql(
        "UPDATE proxy_pool SET providers = '\"openai\"' WHERE id = :id", {"id": broken["id"]}
    )
    health = await reloaded(gateway)
    skipped = health["skipped"]
    assert isinstance(skipped, dict)
    assert [row["id"] for row in skipped["proxies"]] == [str(broken["id"])]
    proxies = health["proxies"]
    assert isinstance(proxies, dict)
    reasons = proxies["unrouted"]["openai"]
    assert all(f"proxy {broken['id']} of account" in r and "cannot be read" in r for r in reasons)
    assert len(reasons) == len(held)
    # nobody moves: the row is to be repaired, not its accounts re-homed
    recalculated = await gateway.call("POST", "/api/v1/proxies/recalculate")
    assert recalculated["moved"] == 0
    stored = await gateway.call("GET", "/api/v1/accounts")
    by_id = {a["id"]: a for a in stored["data"]}
    for account in (first, second):
        was = next(pid for pid, ids in before.items() if account["id"] in ids)
        assert by_id[account["id"]]["proxy_id"] == was
