"""The `proxy_pool` table as an operator sees and edits it in SQL, on SQLite and MariaDB: no
clear password in it, hand-written rows that are read (a clear password included), the
operator guide's statements, and rows that cannot be read left out by name."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import msgspec
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.persistence.proxies import password_context
from aigateway.adapters.persistence.tables import accounts, proxy_pool
from aigateway.application.ports.repositories import Placement, Unreadable
from aigateway.domain.proxies import ProxyHealth, parse_proxy_url
from tests.contract.conftest import SQL_BACKENDS, Stores
from tests.contract.test_proxy_repository import PASSWORD, make_proxy, with_password
from tests.contract.test_repositories import make_account, make_provider

pytestmark = pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)

HAND_PASSWORD = "hunter2-typed-by-hand"


def engine_of(stores: Stores) -> AsyncEngine:
    assert stores.engine is not None
    return stores.engine


async def dump(engine: AsyncEngine) -> str:
    """`SELECT * FROM proxy_pool`, every value rendered as text."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM proxy_pool ORDER BY id"))).all()
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


async def insert_by_hand(engine: AsyncEngine, statement: str, time_zone: str = "") -> int:
    """Run `statement` (in a session of `time_zone` on MariaDB); the highest id after it."""
    async with engine.begin() as conn:
        if time_zone and engine.dialect.name == "mysql":
            await conn.execute(text(f"SET time_zone = '{time_zone}'"))
        await conn.execute(text(statement))
        found = await conn.scalar(text("SELECT MAX(id) FROM proxy_pool"))
    assert isinstance(found, int)
    return found


async def test_the_table_never_holds_the_clear_password(
    stores: Stores, cipher: CredentialCipher
) -> None:
    engine = engine_of(stores)
    proxy = await stores.proxies.add(with_password("one.example.test"))
    await stores.proxies.update(msgspec.structs.replace(proxy, label="edited"))
    await stores.proxies.record_health(msgspec.structs.replace(proxy, health=ProxyHealth.HEALTHY))
    other = await stores.proxies.add(with_password("two.example.test", password="0ther-Pa55"))

    table = await dump(engine)
    for secret in (PASSWORD, quote(PASSWORD, safe=""), "pr0xy-S3cret", "0ther-Pa55"):
        assert secret not in table
    async with engine.connect() as conn:
        rows = (await conn.execute(select(proxy_pool).order_by(proxy_pool.c.id))).all()
    assert [(r.url, r.protocol) for r in rows] == [
        ("http://bob@one.example.test:3128", "http"),
        ("http://bob@two.example.test:3128", "http"),
    ]
    sealed = rows[0].password_encrypted
    assert cipher.decrypt(sealed, context=password_context(proxy.id)).decode() == PASSWORD
    assert rows[0].password_encrypted != rows[1].password_encrypted
    assert (await stores.proxies.get(other.id)).endpoint.password == "0ther-Pa55"


async def test_a_hand_written_insert_is_read_with_its_clear_password_and_the_defaults(
    stores: Stores,
) -> None:
    engine = engine_of(stores)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    typed = await insert_by_hand(
        engine,
        "INSERT INTO proxy_pool (url, protocol) VALUES "
        f"('http://bob:{HAND_PASSWORD}@10.1.2.3:3128', 'http')",
    )
    no_protocol = await insert_by_hand(
        engine, "INSERT INTO proxy_pool (url, protocol) VALUES ('socks5://10.1.2.4:1080', '')"
    )
    no_scheme = await insert_by_hand(
        engine, "INSERT INTO proxy_pool (url, protocol) VALUES ('10.1.2.5:8080', ' HTTPS ')"
    )
    elsewhere = await insert_by_hand(
        engine,
        "INSERT INTO proxy_pool (url, protocol) VALUES ('http://10.1.2.6:3128', 'http')",
        time_zone="-07:00",
    )

    listed = {p.id: p for p in await stores.proxies.list()}
    proxy = listed[typed]
    assert proxy.endpoint == parse_proxy_url(f"http://bob:{HAND_PASSWORD}@10.1.2.3:3128")
    assert proxy.endpoint.password == HAND_PASSWORD
    assert (proxy.label, proxy.is_active, proxy.max_accounts, proxy.priority) == ("", True, 0, 0)
    assert (proxy.providers, proxy.health, proxy.consecutive_failures) == (
        (),
        ProxyHealth.UNKNOWN,
        0,
    )
    assert proxy.created_at is not None and proxy.updated_at is not None
    assert proxy.created_at.tzinfo is UTC  # stored as UTC whatever the session's time zone
    assert before <= proxy.created_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert await stores.proxies.get(typed) == proxy
    assert listed[no_protocol].endpoint == parse_proxy_url("socks5://10.1.2.4:1080")
    assert listed[no_scheme].endpoint == parse_proxy_url("https://10.1.2.5:8080")
    created = listed[elsewhere].created_at
    assert created is not None
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=1)

    # the first write through the gateway moves the typed password into password_encrypted
    await stores.proxies.update(msgspec.structs.replace(proxy, label="sealed"))
    assert HAND_PASSWORD not in await dump(engine)
    assert (await stores.proxies.get(typed)).endpoint.password == HAND_PASSWORD


async def test_a_password_typed_into_the_url_by_hand_replaces_the_sealed_one(
    stores: Stores,
) -> None:
    proxy = await stores.proxies.add(with_password("rotated.example.test"))
    async with engine_of(stores).begin() as conn:
        await conn.execute(
            text(
                f"UPDATE proxy_pool SET url = 'http://bob:{HAND_PASSWORD}@rotated.example.test:3128'"
                f" WHERE id = {proxy.id}"
            )
        )
    assert (await stores.proxies.get(proxy.id)).endpoint.password == HAND_PASSWORD
    assert [p.endpoint.password for p in await stores.proxies.list()] == [HAND_PASSWORD]


async def test_the_operator_guide_statements_work_and_the_pool_sees_them(stores: Stores) -> None:
    engine = engine_of(stores)
    first = await stores.proxies.add(make_proxy(label="first"))
    second = await stores.proxies.add(make_proxy(label="second"))
    async with engine.begin() as conn:
        await conn.execute(text(f"UPDATE proxy_pool SET is_active = false WHERE id = {first.id}"))
    async with engine.connect() as conn:
        active = (await conn.execute(text("SELECT * FROM proxy_pool WHERE is_active = true"))).all()
    assert [row.label for row in active] == ["second"]
    assert [(p.id, p.is_active) for p in await stores.proxies.list()] == [
        (first.id, False),
        (second.id, True),
    ]


async def test_deleting_a_proxy_by_hand_unassigns_its_accounts(stores: Stores) -> None:
    engine = engine_of(stores)
    await stores.providers.add(make_provider())
    proxy = await stores.proxies.add(make_proxy())
    account = await stores.accounts.add(make_account(proxy_id=proxy.id))
    async with engine.begin() as conn:
        await conn.execute(text(f"DELETE FROM proxy_pool WHERE id = {proxy.id}"))
    assert (await stores.accounts.get(account.id)).proxy_id is None


async def test_unreadable_rows_are_left_out_by_name_and_get_is_a_conflict(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_of(stores)
    good = await stores.proxies.add(with_password("good.example.test"))
    moved = await stores.proxies.add(make_proxy())
    no_port = await insert_by_hand(
        engine,
        "INSERT INTO proxy_pool (url, protocol) VALUES "
        f"('http://bob:{HAND_PASSWORD}@no-port.example.test', 'http')",
    )
    mismatch = await insert_by_hand(
        engine,
        "INSERT INTO proxy_pool (url, protocol) VALUES "
        f"('socks5://bob:{HAND_PASSWORD}@10.9.9.9:1080', 'http')",
    )
    bad_providers = await insert_by_hand(
        engine,
        "INSERT INTO proxy_pool (url, protocol, providers) VALUES "
        "('http://10.9.9.8:3128', 'http', '{\"openai\": true}')",
    )
    async with engine.begin() as conn:  # good's sealed password copied onto another row
        sealed = await conn.scalar(
            select(proxy_pool.c.password_encrypted).where(proxy_pool.c.id == good.id)
        )
        await conn.execute(
            update(proxy_pool).where(proxy_pool.c.id == moved.id).values(password_encrypted=sealed)
        )

    with caplog.at_level(logging.WARNING, "aigateway.adapters.persistence.proxies"):
        listed = await stores.proxies.list()

    assert [p.id for p in listed] == [good.id]
    assert listed[0].endpoint.password == PASSWORD
    for proxy_id in (moved.id, no_port, mismatch, bad_providers):
        assert f"proxy {proxy_id} cannot be read" in caplog.text
    readable, skipped = await stores.proxies.list_with_skipped()
    assert [p.id for p in readable] == [good.id]
    assert sorted(int(row.id) for row in skipped) == sorted(
        (moved.id, no_port, mismatch, bad_providers)
    )
    assert "url needs a port" in caplog.text
    assert "does not match" in caplog.text
    assert "does not decrypt" in caplog.text
    for secret in (HAND_PASSWORD, PASSWORD, "pr0xy-S3cret"):
        assert secret not in caplog.text

    for proxy_id, reason in [
        (moved.id, "does not decrypt"),
        (no_port, "needs a port"),
        (mismatch, "protocol http does not match"),
        (bad_providers, "providers is not a JSON list"),
    ]:
        with pytest.raises(Unreadable, match=reason) as raised:
            await stores.proxies.get(proxy_id)
        assert HAND_PASSWORD not in str(raised.value)
    await stores.proxies.delete(moved.id)  # the operator can still remove it


async def test_an_unknown_health_status_typed_by_hand_reads_as_unknown(stores: Stores) -> None:
    proxy = await stores.proxies.add(make_proxy())
    async with engine_of(stores).begin() as conn:
        await conn.execute(
            text(f"UPDATE proxy_pool SET health_status = 'degraded' WHERE id = {proxy.id}")
        )
    assert (await stores.proxies.get(proxy.id)).health is ProxyHealth.UNKNOWN
    healthy = msgspec.structs.replace(proxy, health=ProxyHealth.HEALTHY)
    assert await stores.proxies.record_health(healthy) is True


async def test_placements_include_accounts_whose_credential_does_not_decrypt(
    stores: Stores,
) -> None:
    engine = engine_of(stores)
    await stores.providers.add(make_provider())
    proxy = await stores.proxies.add(make_proxy())
    readable = await stores.accounts.add(make_account(proxy_id=proxy.id))
    broken = await stores.accounts.add(make_account(proxy_id=proxy.id, is_active=False))
    async with engine.begin() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.id == broken.id).values(auth_data="not ciphertext")
        )
    listed, skipped = await stores.accounts.list_with_skipped()
    assert [a.id for a in listed] == [readable.id]
    assert [row.id for row in skipped] == [broken.id]

    assert sorted(await stores.accounts.placements(), key=lambda p: p.is_active) == [
        Placement(broken.id, "acme", proxy.id, False),
        Placement(readable.id, "acme", proxy.id, True),
    ]
    assert await stores.accounts.assign_proxies({broken.id: None}) == 1
    assert {p.account_id: p.proxy_id for p in await stores.accounts.placements()} == {
        readable.id: proxy.id,
        broken.id: None,
    }
