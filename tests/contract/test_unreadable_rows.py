"""A stored row that cannot be read (a credential that does not decrypt, a provider of a kind this
version does not know) is skipped by the catalog and named, never fatal to every reload."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, update

from aigateway.adapters.clock import SystemClock
from aigateway.adapters.memory.coordination import InMemoryConfigVersion
from aigateway.adapters.persistence.tables import accounts, providers
from aigateway.application.ports.repositories import SkippedRow, Unreadable
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.domain.client_keys import ClientKey, hash_key, key_prefix
from tests.contract.conftest import SQL_BACKENDS, Stores
from tests.contract.test_repositories import API_KEY, make_account

pytestmark = pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def add_corrupt_rows(stores: Stores) -> tuple[str, str, str]:
    """Accounts whose auth_data was sealed for another account (wrong associated data) and that
    is not ciphertext at all, and a provider of unknown kind: ids (moved, garbage, provider)."""
    assert stores.engine is not None
    good = await stores.accounts.add(make_account("openai"))
    async with stores.engine.begin() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.id == good.id))).one()
        values = row._asdict()
        moved = values | {"id": "moved-credential", "label": "copied by hand"}
        garbage = values | {"id": "garbage-credential", "auth_data": "not ciphertext!"}
        await conn.execute(insert(accounts), [moved, garbage])
        await conn.execute(
            insert(providers).values(
                id="future",
                name="From a newer version",
                kind="grpc",
                base_url="https://future.test",
                models=["future-*"],
                priority=0,
                is_active=True,
                config={},
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return good.id, "moved-credential", "garbage-credential"


def key(token: str) -> ClientKey:
    return ClientKey(
        id=token[-8:], label="t", prefix=key_prefix(token), key_hash=hash_key(token), created_at=NOW
    )


async def test_reload_skips_unreadable_rows_and_keeps_serving_the_rest(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    good, moved, garbage = await add_corrupt_rows(stores)
    kept, revoked = "ak_kept_token_00000001", "ak_revoked_token_0002"
    await stores.keys.add(key(kept))
    await stores.keys.add(key(revoked))
    catalog = CatalogCache(
        stores.providers, stores.accounts, stores.keys, InMemoryConfigVersion(), SystemClock()
    )

    with caplog.at_level(logging.WARNING, "aigateway.application.use_cases.catalog"):
        snapshot = await catalog.reload()

    assert [a.id for a in snapshot.accounts_for("openai")] == [good]
    assert snapshot.accounts_for("openai")[0].credential.secret == API_KEY
    assert "future" not in {p.id for p in snapshot.providers}
    assert "openai" in {p.id for p in snapshot.providers}
    assert snapshot.skipped.providers == (SkippedRow("future", "unknown kind 'grpc'"),)
    assert sorted(snapshot.skipped.accounts, key=lambda r: r.id) == [
        SkippedRow(garbage, "stored credential is not valid ciphertext"),
        SkippedRow(moved, "stored credential does not decrypt with this key"),
    ]
    logged = caplog.text
    assert moved in logged and garbage in logged and "future" in logged
    assert API_KEY not in logged

    # the snapshot keeps reloading: a key revoked after the corrupt rows is refused
    assert snapshot.client_key(revoked) is not None
    await stores.keys.revoke(revoked[-8:])
    await catalog.changed()
    assert catalog.current.client_key(revoked) is None
    assert catalog.current.client_key(kept) is not None
    assert [a.id for a in catalog.current.accounts_for("openai")] == [good]


async def test_an_inactive_corrupt_account_is_not_even_read_by_the_catalog(
    stores: Stores,
) -> None:
    assert stores.engine is not None
    good, moved, garbage = await add_corrupt_rows(stores)
    async with stores.engine.begin() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.id.in_([moved, garbage])).values(is_active=False)
        )
    catalog = CatalogCache(
        stores.providers, stores.accounts, stores.keys, InMemoryConfigVersion(), SystemClock()
    )
    snapshot = await catalog.reload()
    assert snapshot.skipped.accounts == ()
    assert [a.id for a in snapshot.accounts_for("openai")] == [good]


async def test_listings_name_unreadable_rows_and_get_is_a_conflict(stores: Stores) -> None:
    good, moved, _ = await add_corrupt_rows(stores)
    listed, skipped = await stores.accounts.list_with_skipped()
    assert [a.id for a in listed] == [good]
    assert {row.id for row in skipped} == {moved, "garbage-credential"}
    with pytest.raises(Unreadable, match=r"moved-credential.*does not decrypt"):
        await stores.accounts.get(moved)
    readable, skipped_providers = await stores.providers.list_with_skipped()
    assert "future" not in {p.id for p in readable}
    assert [row.id for row in skipped_providers] == ["future"]
    with pytest.raises(Unreadable, match="unknown kind"):
        await stores.providers.get("future")
    await stores.accounts.delete(moved)  # the operator can remove it
    assert {row.id for row in (await stores.accounts.list_with_skipped())[1]} == {
        "garbage-credential"
    }
