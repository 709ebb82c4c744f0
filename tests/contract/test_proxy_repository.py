"""The proxy pool through its port, on memory, SQLite and MariaDB: every field kept, health
writes that only announce a change of health, deletes that unassign accounts, bulk
assignment, and passwords that never show in a repr."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from aigateway.application.ports.repositories import Conflict, NotFound, Placement
from aigateway.domain.proxies import Proxy, ProxyHealth, parse_proxy_url
from tests.contract.conftest import Stores
from tests.contract.test_repositories import T0, make_account, make_provider

PASSWORD = "pr0xy-S3cret:p@ss/word"


def make_proxy(url: str = "socks5h://alice:pw@proxy.example.test:1080", **changes: object) -> Proxy:
    proxy = Proxy(id=0, endpoint=parse_proxy_url(url))
    return msgspec.structs.replace(proxy, **changes)


def with_password(host: str = "proxy.example.test", password: str = PASSWORD) -> Proxy:
    endpoint = msgspec.structs.replace(
        parse_proxy_url(f"http://bob@{host}:3128"), password=password
    )
    return Proxy(id=0, endpoint=endpoint, label="with a password")


class Announcements:
    """A CatalogChanged hook that counts its calls."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def test_a_proxy_round_trips_every_field(stores: Stores) -> None:
    endpoint = msgspec.structs.replace(
        parse_proxy_url("socks5h://alice@[2001:db8::7]:1080"), password=PASSWORD
    )
    proxy = Proxy(
        id=999,  # ignored: the store numbers its rows
        endpoint=endpoint,
        label="Frankfurt 1",
        is_active=False,
        max_accounts=3,
        priority=5,
        providers=("antigravity", "openai"),
        health=ProxyHealth.DOWN,
        consecutive_failures=4,
        latency_ms=123.4,
        last_checked_at=T0,
        marked_down_at=T0 + timedelta(seconds=1),
        created_at=T0 - timedelta(days=1),
    )
    added = await stores.proxies.add(proxy)

    assert added.id != 999
    assert added.endpoint == endpoint
    assert added.endpoint.url == "socks5h://alice:pr0xy-S3cret%3Ap%40ss%2Fword@[2001:db8::7]:1080"
    expected = msgspec.structs.replace(
        proxy, id=added.id, created_at=added.created_at, updated_at=added.updated_at
    )
    assert added == expected
    assert added.created_at == T0 - timedelta(days=1)
    assert added.updated_at is not None and added.updated_at.tzinfo is UTC
    assert await stores.proxies.get(added.id) == added
    assert await stores.proxies.list() == [added]

    plain = await stores.proxies.add(make_proxy("http://10.0.0.1:8080"))
    assert plain.endpoint == parse_proxy_url("http://10.0.0.1:8080")
    assert (plain.label, plain.is_active, plain.max_accounts, plain.priority) == ("", True, 0, 0)
    assert (plain.providers, plain.health, plain.consecutive_failures) == (
        (),
        ProxyHealth.UNKNOWN,
        0,
    )
    assert (plain.latency_ms, plain.last_checked_at, plain.marked_down_at) == (None, None, None)
    assert [p.id for p in await stores.proxies.list()] == sorted([added.id, plain.id])


async def test_ids_are_never_reused(stores: Stores) -> None:
    first = await stores.proxies.add(make_proxy())
    second = await stores.proxies.add(make_proxy())
    await stores.proxies.delete(second.id)
    third = await stores.proxies.add(make_proxy())
    assert first.id < second.id < third.id


async def test_missing_proxies_are_not_found(stores: Stores) -> None:
    with pytest.raises(NotFound, match="proxy 424242 not found"):
        await stores.proxies.get(424242)
    with pytest.raises(NotFound):
        await stores.proxies.update(make_proxy(id=424242))
    with pytest.raises(NotFound):
        await stores.proxies.delete(424242)
    with pytest.raises(NotFound):
        await stores.proxies.record_health(make_proxy(id=424242, health=ProxyHealth.DOWN))


async def test_no_repr_shows_the_password(stores: Stores) -> None:
    proxy = await stores.proxies.add(with_password())
    shown = [
        repr(proxy),
        str(proxy),
        repr(proxy.endpoint),
        repr(await stores.proxies.list()),
        repr(await stores.proxies.get(proxy.id)),
        proxy.endpoint.masked(),
    ]
    for text in shown:
        assert PASSWORD not in text
        assert "pr0xy-S3cret" not in text
    assert proxy.endpoint.password == PASSWORD


async def test_update_writes_the_operator_fields_and_keeps_the_health_fields(
    stores: Stores,
) -> None:
    added = await stores.proxies.add(with_password())
    checked = msgspec.structs.replace(
        added,
        health=ProxyHealth.DOWN,
        consecutive_failures=3,
        latency_ms=88.5,
        last_checked_at=T0,
        marked_down_at=T0,
    )
    await stores.proxies.record_health(checked)

    new_endpoint = parse_proxy_url("https://carol:n3w-pass@other.example.test:8443")
    edited = msgspec.structs.replace(
        added,  # the operator's copy, with stale health fields
        endpoint=new_endpoint,
        label="renamed",
        is_active=False,
        max_accounts=10,
        priority=-1,
        providers=("anthropic",),
    )
    updated = await stores.proxies.update(edited)

    assert updated.endpoint == new_endpoint
    assert (updated.label, updated.is_active, updated.max_accounts, updated.priority) == (
        "renamed",
        False,
        10,
        -1,
    )
    assert updated.providers == ("anthropic",)
    assert (updated.health, updated.consecutive_failures, updated.latency_ms) == (
        ProxyHealth.DOWN,
        3,
        88.5,
    )
    assert (updated.last_checked_at, updated.marked_down_at) == (T0, T0)
    assert updated.created_at == added.created_at
    assert updated.updated_at is not None and added.updated_at is not None
    assert updated.updated_at >= added.updated_at
    assert await stores.proxies.get(added.id) == updated

    no_password = msgspec.structs.replace(updated, endpoint=parse_proxy_url("http://h.test:1"))
    assert (await stores.proxies.update(no_password)).endpoint.password is None
    everyone = msgspec.structs.replace(no_password, providers=())
    assert (await stores.proxies.update(everyone)).providers == ()


async def test_record_health_writes_only_the_health_fields_and_says_whether_health_changed(
    stores: Stores,
) -> None:
    added = await stores.proxies.add(make_proxy(label="kept", priority=2))
    at = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    slower = msgspec.structs.replace(
        added, label="ignored", priority=9, latency_ms=40.5, last_checked_at=at
    )
    assert await stores.proxies.record_health(slower) is False
    healthy = msgspec.structs.replace(slower, health=ProxyHealth.HEALTHY, latency_ms=41.0)
    assert await stores.proxies.record_health(healthy) is True
    assert await stores.proxies.record_health(healthy) is False
    failing = msgspec.structs.replace(healthy, consecutive_failures=2, last_checked_at=at)
    assert await stores.proxies.record_health(failing) is False
    down = msgspec.structs.replace(
        failing, health=ProxyHealth.DOWN, consecutive_failures=3, marked_down_at=at
    )
    assert await stores.proxies.record_health(down) is True

    stored = await stores.proxies.get(added.id)
    assert (stored.label, stored.priority) == ("kept", 2)
    assert (stored.health, stored.consecutive_failures, stored.latency_ms) == (
        ProxyHealth.DOWN,
        3,
        41.0,
    )
    assert (stored.last_checked_at, stored.marked_down_at) == (at, at)
    assert stored.updated_at == added.updated_at  # a health check is no operator edit


async def test_only_a_change_of_health_or_of_assignments_announces_a_catalog_change(
    stores: Stores,
) -> None:
    await stores.providers.add(make_provider())
    announced = Announcements()
    uow = stores.units_of_work(announced)
    async with uow() as tx:
        proxy = await tx.proxies.add(make_proxy())
    assert announced.count == 1
    account = await stores.accounts.add(make_account())

    checked = msgspec.structs.replace(proxy, latency_ms=50.0, last_checked_at=T0)
    async with uow() as tx:
        assert await tx.proxies.record_health(checked) is False
    assert announced.count == 1  # latency and check time alone: no reload anywhere
    async with uow() as tx:
        healthy = msgspec.structs.replace(checked, health=ProxyHealth.HEALTHY)
        assert await tx.proxies.record_health(healthy) is True
    assert announced.count == 2
    async with uow() as tx:
        again = msgspec.structs.replace(healthy, latency_ms=70.0, consecutive_failures=0)
        assert await tx.proxies.record_health(again) is False
    assert announced.count == 2
    assert (await stores.proxies.get(proxy.id)).latency_ms == 70.0

    async with uow() as tx:
        assert await tx.accounts.assign_proxies({account.id: proxy.id}) == 1
    assert announced.count == 3
    async with uow() as tx:
        assert await tx.accounts.assign_proxies({account.id: proxy.id}) == 0
        assert await tx.accounts.assign_proxies({}) == 0
    assert announced.count == 3

    async with uow() as tx:
        await tx.proxies.update(msgspec.structs.replace(proxy, is_active=False))
    assert announced.count == 4
    async with uow() as tx:
        await tx.proxies.delete(proxy.id)
    assert announced.count == 5
    assert (await stores.accounts.get(account.id)).proxy_id is None


async def test_a_failed_unit_of_work_leaves_the_proxies_as_they_were(stores: Stores) -> None:
    kept = await stores.proxies.add(make_proxy(label="kept"))
    announced = Announcements()
    uow = stores.units_of_work(announced)

    async def edit_then_fail() -> None:
        async with uow() as tx:
            await tx.proxies.update(msgspec.structs.replace(kept, label="changed"))
            await tx.proxies.add(make_proxy(label="added"))
            await tx.proxies.delete(424242)

    with pytest.raises(NotFound):
        await edit_then_fail()
    assert await stores.proxies.list() == [kept]
    assert announced.count == 0


async def test_listing_for_update_holds_off_a_second_unit_of_work(stores: Stores) -> None:
    await stores.proxies.add(make_proxy())
    uow = stores.units_of_work(Announcements())
    second_listed = asyncio.Event()

    async def second() -> None:
        async with uow() as tx:
            await tx.proxies.list(for_update=True)
            second_listed.set()

    async with uow() as tx:
        assert len(await tx.proxies.list(for_update=True)) == 1
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not second_listed.is_set()
    await asyncio.wait_for(waiting, 5)
    assert second_listed.is_set()


async def test_deleting_a_proxy_unassigns_its_accounts(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    gone = await stores.proxies.add(make_proxy())
    other = await stores.proxies.add(make_proxy())
    a1 = await stores.accounts.add(make_account(proxy_id=gone.id, created_at=T0))
    a2 = await stores.accounts.add(make_account(proxy_id=gone.id, created_at=T0 + timedelta(1)))
    a3 = await stores.accounts.add(make_account(proxy_id=other.id, created_at=T0 + timedelta(2)))

    await stores.proxies.delete(gone.id)

    assert [p.id for p in await stores.proxies.list()] == [other.id]
    assert [(p.account_id, p.proxy_id) for p in await stores.accounts.placements()] == [
        (a1.id, None),
        (a2.id, None),
        (a3.id, other.id),
    ]
    assert (await stores.accounts.get(a1.id)).proxy_id is None


async def test_an_account_naming_an_unknown_proxy_is_a_conflict(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    with pytest.raises(Conflict, match="unknown proxy 424242"):
        await stores.accounts.add(make_account(proxy_id=424242))
    account = await stores.accounts.add(make_account())
    with pytest.raises(Conflict, match="unknown proxy 424242"):
        await stores.accounts.update(msgspec.structs.replace(account, proxy_id=424242))
    assert (await stores.accounts.get(account.id)).proxy_id is None


async def test_placements_are_every_account_with_its_proxy(stores: Stores) -> None:
    await stores.providers.add(make_provider("p1"))
    await stores.providers.add(make_provider("p2"))
    proxy = await stores.proxies.add(make_proxy())
    a = await stores.accounts.add(make_account("p1", proxy_id=proxy.id, created_at=T0))
    b = await stores.accounts.add(make_account("p2", is_active=False, created_at=T0 + timedelta(1)))
    assert await stores.accounts.placements() == [
        Placement(a.id, "p1", proxy.id, True),
        Placement(b.id, "p2", None, False),
    ]


async def test_assign_proxies_changes_only_what_differs_and_counts_it(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    p1 = await stores.proxies.add(make_proxy())
    p2 = await stores.proxies.add(make_proxy())
    stays = await stores.accounts.add(make_account(proxy_id=p1.id, created_at=T0))
    moves = await stores.accounts.add(make_account(proxy_id=p1.id, created_at=T0 + timedelta(1)))
    leaves = await stores.accounts.add(make_account(proxy_id=p2.id, created_at=T0 + timedelta(2)))
    joins = await stores.accounts.add(make_account(created_at=T0 + timedelta(3)))

    changed = await stores.accounts.assign_proxies(
        {
            stays.id: p1.id,
            moves.id: p2.id,
            leaves.id: None,
            joins.id: p1.id,
            "no-such-account": p1.id,
        }
    )

    assert changed == 3
    assert [p.proxy_id for p in await stores.accounts.placements()] == [p1.id, p2.id, None, p1.id]
    assert await stores.accounts.assign_proxies({stays.id: p1.id, leaves.id: None}) == 0

    many = {stays.id: p2.id, moves.id: p2.id, joins.id: 424242}
    with pytest.raises(Conflict, match="unknown proxy 424242"):
        await stores.accounts.assign_proxies(many)
    assert [p.proxy_id for p in await stores.accounts.placements()] == [p1.id, p2.id, None, p1.id]
