"""Admin writes through the unit of work, on memory, SQLite and MariaDB: one transaction per
write, one "catalog changed" per commit that changed something, revoked-credential disables
that are conditional on the failing credential and announced once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event

from aigateway.adapters.clock import SystemClock
from aigateway.adapters.memory.coordination import InMemoryConfigVersion
from aigateway.application.ports.repositories import NotFound
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.use_cases.admin import (
    AccountDisabler,
    AccountPatch,
    AccountsAdmin,
    CatalogAnnouncer,
    NewAccount,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.domain.proxies import Proxy, parse_proxy_url
from tests.contract.conftest import SQL_BACKENDS, Stores
from tests.contract.test_repositories import make_provider


class World:
    def __init__(self, stores: Stores) -> None:
        self.version = InMemoryConfigVersion()
        self.catalog = CatalogCache(
            stores.providers, stores.accounts, stores.keys, self.version, SystemClock()
        )
        self.uow: UnitOfWorkFactory = stores.units_of_work(CatalogAnnouncer(self.catalog))
        self.admin = AccountsAdmin(stores.accounts, self.uow, SystemClock())
        self.stores = stores

    async def start(self) -> None:
        if "acme" not in {p.id for p in await self.stores.providers.list()}:
            await self.stores.providers.add(make_provider("acme"))
        await self.catalog.reload()

    async def new_account(self, key: str) -> Any:
        return await self.admin.create(NewAccount(provider_id="acme", auth_data={"api_key": key}))

    def served(self) -> set[str]:
        return {a.id for a in self.catalog.current.accounts_for("acme")}


@pytest.fixture
async def world(stores: Stores) -> World:
    world = World(stores)
    await world.start()
    return world


def account_updates(stores: Stores) -> list[str]:
    """Every UPDATE statement sent for the accounts table from now on."""
    seen: list[str] = []
    assert stores.engine is not None

    @event.listens_for(stores.engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE ACCOUNTS"):
            seen.append(statement)

    return seen


async def test_a_late_disable_for_the_old_key_leaves_the_rotated_account_active(
    world: World,
) -> None:
    old = await world.new_account("sk-old-0001")
    await world.admin.update(old.id, AccountPatch(auth_data={"api_key": "sk-new-0002"}))
    before = await world.version.current()
    disabler = AccountDisabler(world.admin)
    disabler(old, "upstream: invalid_api_key")  # a request that still held the old key
    await disabler.drain()
    now = await world.admin.get(old.id)
    assert now.usable
    assert now.credential.secret == "sk-new-0002"
    assert old.id in world.served()
    assert await world.version.current() == before  # nothing changed: no reload anywhere


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)
async def test_fifty_disables_in_one_process_write_once_and_reload_once(world: World) -> None:
    account = await world.new_account("sk-revoked-01")
    before = await world.version.current()
    updates = account_updates(world.stores)
    disabler = AccountDisabler(world.admin)
    for _ in range(50):  # every request in flight on the dead key fails at about once
        disabler(account, "upstream: invalid_api_key")
    await disabler.drain()
    assert len(updates) == 1
    assert await world.version.current() == before + 1
    assert (await world.admin.get(account.id)).disabled_reason == "upstream: invalid_api_key"
    assert account.id not in world.served()


async def test_fifty_concurrent_disables_change_the_row_once_and_bump_once(world: World) -> None:
    """As from 50 processes: each writes, one changes the row, one announcement."""
    account = await world.new_account("sk-revoked-02")
    before = await world.version.current()
    changed = await asyncio.gather(
        *(world.admin.disable([(account, f"revoked #{n}")]) for n in range(50))
    )
    assert sorted(changed) == [0] * 49 + [1]
    assert await world.version.current() == before + 1
    reason = (await world.admin.get(account.id)).disabled_reason
    assert reason == f"revoked #{changed.index(1)}"


async def test_a_burst_of_disables_reloads_at_most_twice(world: World) -> None:
    accounts = [await world.new_account(f"sk-burst-{n:04d}") for n in range(10)]
    before = await world.version.current()
    disabler = AccountDisabler(world.admin)
    for account in accounts[:5]:
        disabler(account, "revoked")
    await asyncio.sleep(0)  # the writer takes the first five; the rest arrive while it writes
    for account in accounts[5:]:
        disabler(account, "revoked")
    await disabler.drain()
    assert await world.version.current() - before == 2
    assert world.served().isdisjoint(a.id for a in accounts)


async def test_a_failed_unit_of_work_rolls_back_and_announces_nothing(world: World) -> None:
    account = await world.new_account("sk-keep-0001")
    before = await world.version.current()

    async def delete_then_fail() -> None:
        async with world.uow() as tx:
            await tx.accounts.delete(account.id)
            await tx.providers.get("no-such-provider")

    with pytest.raises(NotFound):
        await delete_then_fail()
    assert (await world.admin.get(account.id)).id == account.id
    assert await world.version.current() == before


async def test_concurrent_patches_of_one_account_keep_both_changes(world: World) -> None:
    account = await world.new_account("sk-patched-01")
    proxy = await world.stores.proxies.add(Proxy(id=0, endpoint=parse_proxy_url("http://p:3128")))
    await asyncio.gather(
        *(world.admin.update(account.id, AccountPatch(label="renamed")) for _ in range(3)),
        *(world.admin.update(account.id, AccountPatch(proxy_id=proxy.id)) for _ in range(3)),
    )
    now = await world.admin.get(account.id)
    assert (now.label, now.proxy_id) == ("renamed", proxy.id)
