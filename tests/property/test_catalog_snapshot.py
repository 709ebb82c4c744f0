"""The hot path's snapshot always equals what the repositories say, after any sequence of writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.memory.coordination import InMemoryConfigVersion
from aigateway.application.use_cases.admin import (
    AccountPatch,
    AccountsAdmin,
    CatalogAnnouncer,
    ClientKeysAdmin,
    NewAccount,
    NewClientKey,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.domain.providers import Provider, ProviderKind
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
    InMemoryUnitsOfWork,
)

PROVIDERS = ("p1", "p2")


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 0.0


operation = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(PROVIDERS), st.booleans()),
    st.tuples(st.just("toggle"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("disable"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("key"), st.integers(0, 50), st.booleans()),
)


@given(st.lists(operation, max_size=30))
def test_snapshot_matches_the_repositories(ops: list[tuple[str, object, bool]]) -> None:
    asyncio.run(_check(ops))


async def _check(ops: list[tuple[str, object, bool]]) -> None:
    clock = Clock()
    providers = InMemoryProviderRepository(
        Provider(id=p, name=p, kind=ProviderKind.OPENAI, base_url="http://h", models=("m",))
        for p in PROVIDERS
    )
    accounts = InMemoryAccountRepository(providers)
    keys = InMemoryClientKeyRepository()
    catalog = CatalogCache(providers, accounts, keys, InMemoryConfigVersion(), clock)
    uow = InMemoryUnitsOfWork(providers, accounts, keys, CatalogAnnouncer(catalog))
    accounts_admin = AccountsAdmin(accounts, uow, clock)
    keys_admin = ClientKeysAdmin(keys, uow, clock)
    for index, (kind, target, flag) in enumerate(ops):
        existing = list(await accounts.list())
        if kind == "add":
            spec = NewAccount(
                provider_id=str(target), auth_data={"api_key": f"sk-{index:08d}"}, is_active=flag
            )
            await accounts_admin.create(spec)
        elif kind == "key":
            issued = await keys_admin.create(NewClientKey())
            if flag:
                await keys_admin.revoke(issued.key.id)
        elif existing:
            account = existing[int(str(target)) % len(existing)]
            if kind == "toggle":
                await accounts_admin.update(account.id, AccountPatch(is_active=flag))
            elif kind == "disable":
                if flag:
                    await accounts_admin.disable([(account, "revoked")])
                else:
                    await accounts_admin.enable(account.id)
            else:
                await accounts_admin.delete(account.id)

    snapshot = catalog.current
    for provider_id in PROVIDERS:
        expected = sorted(a.id for a in await accounts.list(provider_id=provider_id) if a.usable)
        assert [a.id for a in snapshot.accounts_for(provider_id)] == expected
    assert set(snapshot.keys) == {k.key_hash for k in await keys.list() if k.is_active}
