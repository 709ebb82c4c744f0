"""SQLAlchemy implementations of the persistence ports (the request-log sink: request_logs.py,
the proxy pool: proxies.py).

Every call uses one short transaction (`AsyncEngine.begin()`), or the transaction of the
unit of work the repository is bound to (`SqlTransaction`); no connection is held across
other I/O. Driver connection failures surface as StoreUnavailable, constraint violations as
Conflict, missing rows as NotFound, rows that cannot be read (a credential that does not
decrypt, an unknown provider kind) as Unreadable; listings skip those and name them. Account
credentials are stored encrypted only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aigateway.adapters.crypto import CredentialCipher, DecryptionFailed
from aigateway.adapters.persistence.engine import unavailable_on_connection_errors
from aigateway.adapters.persistence.tables import (
    MAX_DISABLED_REASON,
    UtcDateTime,
    accounts,
    api_keys,
    providers,
    proxy_pool,
    system_settings,
)
from aigateway.application.ports.repositories import (
    Conflict,
    NotFound,
    Placement,
    SkippedRow,
    Unreadable,
)
from aigateway.domain.accounts import Account, AuthType, Credential
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.providers import Provider, ProviderKind

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


class SqlTransaction:
    """The connection of one unit of work, and whether a write in it changed a row. Reads of
    a single row in it lock the row (`FOR UPDATE`) until the unit of work ends."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.changed = False


class _SqlStore:
    def __init__(self, engine: AsyncEngine, tx: SqlTransaction | None = None) -> None:
        self._engine = engine
        self._tx = tx

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        with unavailable_on_connection_errors():
            if self._tx is not None:
                yield self._tx.conn
            else:
                async with self._engine.connect() as conn:
                    yield conn

    @asynccontextmanager
    async def _write(
        self, conflict: str = "the write conflicts with stored data", *, changes: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        """`changes=False`: the caller marks the unit of work changed itself, if it did."""
        try:
            with unavailable_on_connection_errors():
                if self._tx is None:
                    async with self._engine.begin() as conn:
                        yield conn
                else:
                    yield self._tx.conn
                    self._tx.changed |= changes
        except IntegrityError as exc:
            raise Conflict(conflict) from exc


def _readable(
    rows: Sequence[Row[Any]], read: Callable[[Row[Any]], T]
) -> tuple[list[T], list[SkippedRow]]:
    items: list[T] = []
    skipped: list[SkippedRow] = []
    for row in rows:
        try:
            items.append(read(row))
        except Unreadable as exc:
            skipped.append(exc.skipped)
    return items, skipped


def _later(column: ColumnElement[datetime], when: ColumnElement[datetime]) -> ColumnElement[Any]:
    """`greatest(column, when)` that also treats NULL as older (portable MySQL/SQLite)."""
    return case((or_(column.is_(None), column < when), when), else_=column)


class SqlProviderRepository(_SqlStore):
    async def list(self) -> Sequence[Provider]:
        return (await self.list_with_skipped())[0]

    async def list_with_skipped(self) -> tuple[Sequence[Provider], Sequence[SkippedRow]]:
        async with self._read() as conn:
            rows = (await conn.execute(select(providers).order_by(providers.c.id))).all()
        return _readable(rows, _provider)

    async def get(self, provider_id: str) -> Provider:
        async with self._read() as conn:
            return await _get_provider(conn, provider_id, lock=self._tx is not None)

    async def add(self, provider: Provider) -> Provider:
        now = _now()
        values = _provider_values(provider) | {
            "id": provider.id,
            "created_at": provider.created_at or now,
            "updated_at": now,
        }
        async with self._write(f"provider {provider.id!r} already exists") as conn:
            await conn.execute(insert(providers).values(values))
            return await _get_provider(conn, provider.id)

    async def update(self, provider: Provider) -> Provider:
        values = _provider_values(provider) | {"updated_at": _now()}
        async with self._write() as conn:
            await conn.execute(
                update(providers).where(providers.c.id == provider.id).values(values)
            )
            return await _get_provider(conn, provider.id)

    async def delete(self, provider_id: str) -> None:
        async with self._write(f"provider {provider_id!r} still has accounts") as conn:
            result = await conn.execute(delete(providers).where(providers.c.id == provider_id))
            if result.rowcount == 0:
                raise NotFound(f"provider {_shown(provider_id)} not found")


def _provider_values(provider: Provider) -> dict[str, Any]:
    return {
        "name": provider.name,
        "kind": provider.kind.value,
        "base_url": provider.base_url,
        "models": list(provider.models),
        "priority": provider.priority,
        "is_active": provider.is_active,
        "config": provider.config,
    }


async def _get_provider(conn: AsyncConnection, provider_id: str, *, lock: bool = False) -> Provider:
    query = select(providers).where(providers.c.id == provider_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound(f"provider {_shown(provider_id)} not found")
    return _provider(row)


def _provider(row: Row[Any]) -> Provider:
    try:
        kind = ProviderKind(row.kind)
    except ValueError:
        raise Unreadable("provider", row.id, f"unknown kind {row.kind!r}") from None
    return Provider(
        id=row.id,
        name=row.name,
        kind=kind,
        base_url=row.base_url,
        models=tuple(row.models or ()),
        priority=row.priority,
        is_active=bool(row.is_active),
        config=dict(row.config or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlAccountRepository(_SqlStore):
    """Accounts; `auth_data` holds only the cipher's ciphertext (bound to the account id)."""

    def __init__(
        self, engine: AsyncEngine, cipher: CredentialCipher, tx: SqlTransaction | None = None
    ) -> None:
        super().__init__(engine, tx)
        self._cipher = cipher

    async def list(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> Sequence[Account]:
        return (await self.list_with_skipped(provider_id=provider_id, is_active=is_active))[0]

    async def list_with_skipped(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> tuple[Sequence[Account], Sequence[SkippedRow]]:
        query = select(accounts).order_by(accounts.c.created_at, accounts.c.id)
        if provider_id is not None:
            query = query.where(accounts.c.provider_id == provider_id)
        if is_active is not None:
            query = query.where(accounts.c.is_active == is_active)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return _readable(rows, self._account)

    async def get(self, account_id: str) -> Account:
        async with self._read() as conn:
            return await self._get(conn, account_id, lock=self._tx is not None)

    async def add(self, account: Account) -> Account:
        now = _now()
        values = self._values(account) | {
            "id": account.id,
            "usage_count": account.usage_count,
            "last_used_at": account.last_used_at,
            "created_at": account.created_at or now,
            "updated_at": now,
        }
        async with self._write(f"account {account.id!r} already exists") as conn:
            await _require_provider(conn, account.provider_id)
            await _require_proxies(conn, [account.proxy_id])
            await conn.execute(insert(accounts).values(values))
            return await self._get(conn, account.id)

    async def update(self, account: Account) -> Account:
        """Replace the account's settings and credential; usage counters are left alone."""
        values = self._values(account) | {"updated_at": _now()}
        async with self._write(f"account {account.id!r} cannot be updated") as conn:
            await _require_provider(conn, account.provider_id)
            await _require_proxies(conn, [account.proxy_id])
            await conn.execute(update(accounts).where(accounts.c.id == account.id).values(values))
            return await self._get(conn, account.id)

    async def delete(self, account_id: str) -> None:
        async with self._write() as conn:
            result = await conn.execute(delete(accounts).where(accounts.c.id == account_id))
            if result.rowcount == 0:
                raise NotFound(f"account {_shown(account_id)} not found")

    async def disable(self, account_id: str, fingerprint: str, reason: str) -> bool:
        statement = (
            update(accounts)
            .where(
                accounts.c.id == account_id,
                accounts.c.is_active.is_(True),
                accounts.c.disabled_reason.is_(None),
                accounts.c.key_fingerprint == fingerprint,
            )
            .values(disabled_reason=reason[:MAX_DISABLED_REASON], updated_at=_now())
        )
        async with self._write(changes=False) as conn:
            changed = bool((await conn.execute(statement)).rowcount)
        if changed and self._tx is not None:
            self._tx.changed = True
        return changed

    async def record_usage(self, usage: dict[str, tuple[int, datetime]]) -> None:
        if not usage:
            return
        when = bindparam("b_when", type_=UtcDateTime())
        statement = (
            update(accounts)
            .where(accounts.c.id == bindparam("b_id"))
            .values(
                usage_count=accounts.c.usage_count + bindparam("b_count", type_=BigInteger()),
                last_used_at=_later(accounts.c.last_used_at, when),
            )
        )
        params = [
            {"b_id": account_id, "b_count": count, "b_when": used_at}
            for account_id, (count, used_at) in sorted(usage.items())
        ]
        async with self._write() as conn:
            await conn.execute(statement, params)

    async def placements(self) -> Sequence[Placement]:
        """Read without the credentials, so accounts that cannot be decrypted are included."""
        columns = (accounts.c.id, accounts.c.provider_id, accounts.c.proxy_id, accounts.c.is_active)
        query = select(*columns).order_by(accounts.c.created_at, accounts.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [Placement(r.id, r.provider_id, r.proxy_id, bool(r.is_active)) for r in rows]

    async def assign_proxies(self, assignments: Mapping[str, int | None]) -> int:
        """One UPDATE per target proxy (and per 500 accounts); only rows whose proxy_id differs
        are written and counted. Conflict when a target proxy does not exist."""
        by_proxy: dict[int | None, list[str]] = {}
        for account_id, proxy_id in sorted(assignments.items()):
            by_proxy.setdefault(proxy_id, []).append(account_id)
        changed = 0
        async with self._write(changes=False) as conn:
            await _require_proxies(conn, by_proxy)
            for proxy_id, ids in by_proxy.items():
                for start in range(0, len(ids), 500):
                    statement = (
                        update(accounts)
                        .where(accounts.c.id.in_(ids[start : start + 500]))
                        .where(accounts.c.proxy_id.is_distinct_from(proxy_id))
                        .values(proxy_id=proxy_id)
                    )
                    changed += (await conn.execute(statement)).rowcount
        if changed and self._tx is not None:
            self._tx.changed = True
        return changed

    def _values(self, account: Account) -> dict[str, Any]:
        credential = account.credential
        plaintext = msgspec.json.encode(credential.data)
        return {
            "provider_id": account.provider_id,
            "label": account.label,
            "auth_type": credential.auth_type.value,
            "auth_data": self._cipher.encrypt(plaintext, context=account.id),
            "key_fingerprint": credential.fingerprint(),
            "key_masked": credential.masked(),
            "expires_at": account.expires_at,
            "is_active": account.is_active,
            "disabled_reason": account.disabled_reason,
            "proxy_id": account.proxy_id,
        }

    async def _get(self, conn: AsyncConnection, account_id: str, *, lock: bool = False) -> Account:
        query = select(accounts).where(accounts.c.id == account_id)
        row = (await conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise NotFound(f"account {_shown(account_id)} not found")
        return self._account(row)

    def _account(self, row: Row[Any]) -> Account:
        """Unreadable when the row was sealed with another key (or for another account id),
        was altered, or names an auth type this version does not know."""
        try:
            auth_type = AuthType(row.auth_type)
        except ValueError:
            raise Unreadable("account", row.id, f"unknown auth_type {row.auth_type!r}") from None
        try:
            plaintext = self._cipher.decrypt(row.auth_data, context=row.id)
        except DecryptionFailed as exc:
            raise Unreadable("account", row.id, str(exc)) from None
        try:
            data = msgspec.json.decode(plaintext, type=dict[str, Any])
        except msgspec.DecodeError:
            reason = "the decrypted credential is not a JSON object"
            raise Unreadable("account", row.id, reason) from None
        return Account(
            id=row.id,
            provider_id=row.provider_id,
            label=row.label,
            credential=Credential(auth_type=auth_type, data=data),
            is_active=bool(row.is_active),
            disabled_reason=row.disabled_reason,
            expires_at=row.expires_at,
            proxy_id=row.proxy_id,
            last_used_at=row.last_used_at,
            usage_count=row.usage_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


async def _require_provider(conn: AsyncConnection, provider_id: str) -> None:
    found = await conn.scalar(select(providers.c.id).where(providers.c.id == provider_id))
    if found is None:
        raise Conflict(f"unknown provider {provider_id!r}")


async def _require_proxies(conn: AsyncConnection, proxy_ids: Iterable[int | None]) -> None:
    wanted = {proxy_id for proxy_id in proxy_ids if proxy_id is not None}
    if not wanted:
        return
    query = select(proxy_pool.c.id).where(proxy_pool.c.id.in_(wanted))
    missing = wanted - set((await conn.scalars(query)).all())
    if missing:
        raise Conflict(f"unknown proxy {min(missing)}")


class SqlClientKeyRepository(_SqlStore):
    async def list(self) -> Sequence[ClientKey]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_client_key(row) for row in rows]

    async def get(self, key_id: str) -> ClientKey:
        async with self._read() as conn:
            return await _get_client_key(conn, key_id)

    async def add(self, key: ClientKey) -> ClientKey:
        values = {
            "id": key.id,
            "label": key.label,
            "prefix": key.prefix,
            "key_hash": key.key_hash,
            "is_active": key.is_active,
            "last_used_at": key.last_used_at,
            "created_at": key.created_at or _now(),
        }
        async with self._write("a client key with this id or hash already exists") as conn:
            await conn.execute(insert(api_keys).values(values))
            return await _get_client_key(conn, key.id)

    async def revoke(self, key_id: str) -> ClientKey:
        async with self._write() as conn:
            await conn.execute(
                update(api_keys).where(api_keys.c.id == key_id).values(is_active=False)
            )
            return await _get_client_key(conn, key_id)

    async def record_usage(self, last_used: dict[str, datetime]) -> None:
        if not last_used:
            return
        when = bindparam("b_when", type_=UtcDateTime())
        statement = (
            update(api_keys)
            .where(api_keys.c.id == bindparam("b_id"))
            .values(last_used_at=_later(api_keys.c.last_used_at, when))
        )
        params = [{"b_id": key_id, "b_when": at} for key_id, at in sorted(last_used.items())]
        async with self._write() as conn:
            await conn.execute(statement, params)


async def _get_client_key(conn: AsyncConnection, key_id: str) -> ClientKey:
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    if row is None:
        raise NotFound(f"client key {_shown(key_id)} not found")
    return _client_key(row)


def _client_key(row: Row[Any]) -> ClientKey:
    return ClientKey(
        id=row.id,
        label=row.label,
        prefix=row.prefix,
        key_hash=row.key_hash,
        is_active=bool(row.is_active),
        last_used_at=row.last_used_at,
        created_at=row.created_at,
    )


class SqlSettingsStore(_SqlStore):
    async def get(self, name: str) -> str | None:
        query = select(system_settings.c.value).where(system_settings.c.name == name)
        async with self._read() as conn:
            value: str | None = await conn.scalar(query)
        return value

    async def set(self, name: str, value: str) -> None:
        row = {"name": name, "value": value, "updated_at": _now()}
        changes = {"value": value, "updated_at": row["updated_at"]}
        async with self._write() as conn:
            if conn.dialect.name == "sqlite":
                sqlite_stmt = sqlite_insert(system_settings).values(row)
                await conn.execute(
                    sqlite_stmt.on_conflict_do_update(index_elements=["name"], set_=changes)
                )
            else:
                mysql_stmt = mysql_insert(system_settings).values(row)
                await conn.execute(mysql_stmt.on_duplicate_key_update(changes))


MAX_SHOWN_ID = 64


def _shown(row_id: str) -> str:
    """An id as a message quotes it: ids come from URL paths, so a long one is cut."""
    return repr(row_id if len(row_id) <= MAX_SHOWN_ID else row_id[:MAX_SHOWN_ID] + "…")
