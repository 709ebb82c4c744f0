"""One behaviour suite for the persistence ports, run against memory, SQLite and MariaDB."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from sqlalchemy import text

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.persistence.repositories import SqlAccountRepository
from aigateway.application.ports.repositories import Conflict, NotFound, Unreadable
from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.client_keys import ClientKey, hash_key, key_prefix
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import Proxy, parse_proxy_url
from aigateway.domain.request_log import RequestLogEntry
from tests.contract.conftest import SQL_BACKENDS, Stores

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
API_KEY = "sk-contract-PLAINTEXT-0123456789"


def make_provider(provider_id: str = "acme", **changes: object) -> Provider:
    provider = Provider(
        id=provider_id,
        name="Acme",
        kind=ProviderKind.OPENAI,
        base_url="https://llm.acme.test/v1",
        models=("acme-1", "acme-*"),
        priority=5,
        config={"timeout": 30, "headers": {"x-team": "gw"}},
    )
    return msgspec.structs.replace(provider, **changes)


def make_account(provider_id: str = "acme", **changes: object) -> Account:
    account = Account(
        id=str(uuid.uuid4()),
        provider_id=provider_id,
        label="primary",
        credential=credential_from_auth_data({"api_key": API_KEY}),
        expires_at=T0 + timedelta(days=30),
    )
    return msgspec.structs.replace(account, **changes)


def make_key(label: str = "ci") -> ClientKey:
    secret = f"ak_{uuid.uuid4().hex}"
    return ClientKey(
        id=str(uuid.uuid4()), label=label, prefix=key_prefix(secret), key_hash=hash_key(secret)
    )


def make_log(n: int, **changes: object) -> RequestLogEntry:
    entry = RequestLogEntry(
        request_id=str(uuid.uuid4()),
        created_at=T0 + timedelta(seconds=n),
        api_key_id=None,
        provider_id="openai",
        account_id=None,
        proxy_id=None,
        model="gpt-4o",
        stream=n % 2 == 0,
        status_code=200,
        latency_ms=100 + n,
    )
    return msgspec.structs.replace(entry, **changes)


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is UTC


# --- providers -------------------------------------------------------------------------------


async def test_provider_round_trip(stores: Stores) -> None:
    added = await stores.providers.add(make_provider())
    assert_utc(added.created_at)
    assert_utc(added.updated_at)
    fetched = await stores.providers.get("acme")
    assert fetched == added
    assert fetched.models == ("acme-1", "acme-*")
    assert fetched.config == {"timeout": 30, "headers": {"x-team": "gw"}}
    assert fetched.kind is ProviderKind.OPENAI
    assert "acme" in [p.id for p in await stores.providers.list()]


async def test_provider_update_keeps_created_at(stores: Stores) -> None:
    added = await stores.providers.add(make_provider())
    changed = make_provider(name="Acme 2", is_active=False, models=("x-*",), config={})
    updated = await stores.providers.update(changed)
    assert (updated.name, updated.is_active, updated.models, updated.config) == (
        "Acme 2",
        False,
        ("x-*",),
        {},
    )
    assert updated.created_at == added.created_at
    assert updated.updated_at is not None
    assert added.updated_at is not None
    assert updated.updated_at >= added.updated_at
    assert await stores.providers.get("acme") == updated


async def test_provider_list_is_ordered_by_id(stores: Stores) -> None:
    for provider_id in ("zeta", "alpha", "mid"):
        await stores.providers.add(make_provider(provider_id))
    ids = [p.id for p in await stores.providers.list()]
    assert ids == sorted(ids)
    assert {"zeta", "alpha", "mid"} <= set(ids)


async def test_provider_missing_and_duplicate(stores: Stores) -> None:
    with pytest.raises(NotFound):
        await stores.providers.get("nope")
    with pytest.raises(NotFound):
        await stores.providers.update(make_provider("nope"))
    with pytest.raises(NotFound):
        await stores.providers.delete("nope")
    await stores.providers.add(make_provider())
    with pytest.raises(Conflict):
        await stores.providers.add(make_provider())


async def test_provider_delete(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    await stores.providers.delete("acme")
    with pytest.raises(NotFound):
        await stores.providers.get("acme")


async def test_provider_with_accounts_cannot_be_deleted(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    account = await stores.accounts.add(make_account())
    with pytest.raises(Conflict):
        await stores.providers.delete("acme")
    await stores.accounts.delete(account.id)
    await stores.providers.delete("acme")


# --- accounts --------------------------------------------------------------------------------


async def test_account_round_trip(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    proxy = await stores.proxies.add(Proxy(id=0, endpoint=parse_proxy_url("http://10.0.0.7:3128")))
    account = make_account(
        credential=credential_from_auth_data(
            {"access_token": "at-1", "refresh_token": "rt-1", "project_id": "p-9"}
        ),
        disabled_reason="quota",
        is_active=False,
        proxy_id=proxy.id,
    )
    added = await stores.accounts.add(account)
    assert added.credential == account.credential
    assert added.credential.data["project_id"] == "p-9"
    assert (added.label, added.proxy_id, added.is_active, added.disabled_reason) == (
        "primary",
        proxy.id,
        False,
        "quota",
    )
    assert added.expires_at == account.expires_at
    assert (added.usage_count, added.last_used_at) == (0, None)
    assert await stores.accounts.get(account.id) == added


async def test_account_update_replaces_credential_and_keeps_usage(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    proxy = await stores.proxies.add(Proxy(id=0, endpoint=parse_proxy_url("http://10.0.0.7:3128")))
    added = await stores.accounts.add(make_account(proxy_id=proxy.id))
    await stores.accounts.record_usage({added.id: (3, T0)})
    new_credential = credential_from_auth_data({"api_key": "sk-new-key-abcdefghijkl"})
    changed = msgspec.structs.replace(
        added, label="renamed", credential=new_credential, expires_at=None, proxy_id=None
    )
    updated = await stores.accounts.update(changed)
    assert updated.credential == new_credential
    assert (updated.label, updated.expires_at, updated.proxy_id) == ("renamed", None, None)
    assert (updated.usage_count, updated.last_used_at) == (3, T0)
    assert updated.created_at == added.created_at
    assert await stores.accounts.get(added.id) == updated


async def test_account_filters(stores: Stores) -> None:
    await stores.providers.add(make_provider("p1"))
    await stores.providers.add(make_provider("p2"))
    a = await stores.accounts.add(make_account("p1", created_at=T0))
    b = await stores.accounts.add(make_account("p1", is_active=False, created_at=T0 + timedelta(1)))
    c = await stores.accounts.add(make_account("p2", created_at=T0 + timedelta(2)))

    assert [x.id for x in await stores.accounts.list()] == [a.id, b.id, c.id]
    assert [x.id for x in await stores.accounts.list(provider_id="p1")] == [a.id, b.id]
    assert [x.id for x in await stores.accounts.list(is_active=True)] == [a.id, c.id]
    assert [x.id for x in await stores.accounts.list(provider_id="p1", is_active=False)] == [b.id]
    assert await stores.accounts.list(provider_id="unknown") == []


async def test_account_not_found(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    with pytest.raises(NotFound):
        await stores.accounts.get(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        await stores.accounts.update(make_account())
    with pytest.raises(NotFound):
        await stores.accounts.delete(str(uuid.uuid4()))


async def test_account_conflicts(stores: Stores) -> None:
    with pytest.raises(Conflict):
        await stores.accounts.add(make_account("no-such-provider"))
    await stores.providers.add(make_provider())
    added = await stores.accounts.add(make_account())
    with pytest.raises(Conflict):
        await stores.accounts.add(msgspec.structs.replace(make_account(), id=added.id))
    with pytest.raises(Conflict):
        await stores.accounts.update(msgspec.structs.replace(added, provider_id="no-such"))
    assert await stores.accounts.get(added.id) == added


async def test_account_delete(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    added = await stores.accounts.add(make_account())
    await stores.accounts.delete(added.id)
    assert await stores.accounts.list() == []


async def test_account_disable_is_conditional_on_the_credential(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    added = await stores.accounts.add(make_account())
    inactive = await stores.accounts.add(make_account(is_active=False))
    fingerprint = added.credential.fingerprint()
    assert not await stores.accounts.disable(added.id, "sha256:0000000000000000", "other key")
    assert not await stores.accounts.disable(inactive.id, fingerprint, "inactive")
    assert not await stores.accounts.disable("no-such-account", fingerprint, "missing")
    assert (await stores.accounts.get(added.id)).usable
    assert await stores.accounts.disable(added.id, fingerprint, "revoked " + "x" * 1100)
    assert not await stores.accounts.disable(added.id, fingerprint, "again")
    disabled = await stores.accounts.get(added.id)
    assert disabled.disabled_reason == ("revoked " + "x" * 1100)[:1024]
    assert disabled.is_active
    assert (await stores.accounts.get(inactive.id)).disabled_reason is None


async def test_account_record_usage_adds_up(stores: Stores) -> None:
    await stores.providers.add(make_provider())
    a = await stores.accounts.add(make_account())
    b = await stores.accounts.add(make_account())
    await stores.accounts.record_usage({a.id: (2, T0), b.id: (1, T0 + timedelta(seconds=5))})
    await stores.accounts.record_usage(
        {a.id: (3, T0 + timedelta(seconds=10)), b.id: (4, T0), str(uuid.uuid4()): (9, T0)}
    )
    await stores.accounts.record_usage({})
    got_a, got_b = await stores.accounts.get(a.id), await stores.accounts.get(b.id)
    assert (got_a.usage_count, got_a.last_used_at) == (5, T0 + timedelta(seconds=10))
    # last_used_at never moves backwards
    assert (got_b.usage_count, got_b.last_used_at) == (5, T0 + timedelta(seconds=5))


async def test_datetimes_come_back_aware_utc(stores: Stores) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 6, 1, 14, 30, 15, 250000, tzinfo=plus_two)
    await stores.providers.add(make_provider())
    added = await stores.accounts.add(make_account(expires_at=local, created_at=local))
    await stores.accounts.record_usage({added.id: (1, local + timedelta(minutes=1))})
    got = await stores.accounts.get(added.id)
    for value in (got.expires_at, got.created_at, got.updated_at, got.last_used_at):
        assert_utc(value)
    assert got.expires_at == local
    assert got.expires_at is not None
    assert got.expires_at.hour == 12
    assert got.last_used_at == local + timedelta(minutes=1)
    for provider in await stores.providers.list():
        assert_utc(provider.created_at)
        assert_utc(provider.updated_at)


# --- client keys ------------------------------------------------------------------------------


async def test_client_key_round_trip_and_revoke(stores: Stores) -> None:
    first = await stores.keys.add(make_key("first"))
    second = await stores.keys.add(make_key("second"))
    assert_utc(first.created_at)
    assert await stores.keys.get(first.id) == first
    assert {k.id for k in await stores.keys.list()} == {first.id, second.id}

    revoked = await stores.keys.revoke(first.id)
    assert revoked.is_active is False
    assert (await stores.keys.get(first.id)).is_active is False
    assert (await stores.keys.revoke(first.id)).is_active is False
    assert (await stores.keys.get(second.id)).is_active is True


async def test_client_key_usage_and_errors(stores: Stores) -> None:
    key = await stores.keys.add(make_key())
    await stores.keys.record_usage({key.id: T0 + timedelta(hours=1), str(uuid.uuid4()): T0})
    await stores.keys.record_usage({key.id: T0})
    assert (await stores.keys.get(key.id)).last_used_at == T0 + timedelta(hours=1)

    with pytest.raises(NotFound):
        await stores.keys.get(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        await stores.keys.revoke(str(uuid.uuid4()))
    with pytest.raises(Conflict):
        await stores.keys.add(msgspec.structs.replace(make_key(), id=key.id))
    with pytest.raises(Conflict):
        await stores.keys.add(msgspec.structs.replace(make_key(), key_hash=key.key_hash))


# --- settings and request log -------------------------------------------------------------


async def test_settings_get_and_upsert(stores: Stores) -> None:
    assert await stores.settings.get("admin_key_hash") is None
    await stores.settings.set("admin_key_hash", "abc")
    await stores.settings.set("secret_key_check", "x" * 500)
    assert await stores.settings.get("admin_key_hash") == "abc"
    await stores.settings.set("admin_key_hash", "def")
    assert await stores.settings.get("admin_key_hash") == "def"
    assert await stores.settings.get("secret_key_check") == "x" * 500


async def test_request_log_batch(stores: Stores) -> None:
    assert await stores.logged() == []
    await stores.logs.write([])
    full = make_log(
        1,
        api_key_id=str(uuid.uuid4()),
        account_id=str(uuid.uuid4()),
        proxy_id=3,
        ttfb_ms=40,
        prompt_tokens=12,
        completion_tokens=34,
        retry_count=2,
        error="upstream 429",
        status_code=429,
    )
    batch = [make_log(0), full, *(make_log(n) for n in range(2, 10))]
    await stores.logs.write(batch)
    await stores.logs.write([make_log(10, model=None, provider_id=None)])

    logged = await stores.logged()
    assert [e.latency_ms for e in logged] == [100 + n for n in range(11)]
    assert logged[-1].model is None
    assert logged[1] == full
    assert_utc(logged[0].created_at)
    assert logged[0] == batch[0]


# --- SQL only -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)
async def test_seeded_providers_after_migration(stores: Stores) -> None:
    seeded = {p.id: p for p in await stores.providers.list()}
    assert set(seeded) == {"openai", "anthropic", "antigravity"}
    openai = seeded["openai"]
    assert (openai.kind, openai.base_url, openai.priority, openai.is_active) == (
        ProviderKind.OPENAI,
        "https://api.openai.com/v1",
        0,
        True,
    )
    assert openai.models == ("gpt-*", "o1*", "o3*", "o4*", "chatgpt-*")
    assert openai.serves("gpt-4o")
    assert openai.serves("o3-mini")
    assert seeded["anthropic"].kind is ProviderKind.ANTHROPIC
    assert seeded["anthropic"].base_url == "https://api.anthropic.com"
    assert seeded["anthropic"].models == ("claude-*",)
    assert seeded["antigravity"].kind is ProviderKind.ANTIGRAVITY
    assert seeded["antigravity"].base_url == "https://cloudcode-pa.googleapis.com"
    assert seeded["antigravity"].models == ("gemini-*",)
    assert all(p.is_active and p.config == {} for p in seeded.values())
    assert_utc(openai.created_at)


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)
async def test_credentials_are_stored_encrypted(stores: Stores) -> None:
    assert stores.engine is not None
    account = await stores.accounts.add(make_account("openai"))
    async with stores.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT auth_data, auth_type, key_fingerprint, key_masked"
                    " FROM accounts WHERE id = :id"
                ),
                {"id": account.id},
            )
        ).one()
    assert API_KEY not in row.auth_data
    assert "PLAINTEXT" not in row.auth_data
    assert row.auth_type == "api_key"
    assert row.key_fingerprint == account.credential.fingerprint()
    assert row.key_masked == account.credential.masked()
    assert "PLAINTEXT" not in row.key_masked

    other = SqlAccountRepository(stores.engine, CredentialCipher("a-different-secret"))
    with pytest.raises(Unreadable, match="does not decrypt"):
        await other.get(account.id)
    assert await other.list() == []
    _, skipped = await other.list_with_skipped()
    assert [row.id for row in skipped] == [account.id]
    assert (await stores.accounts.get(account.id)).credential.secret == API_KEY
