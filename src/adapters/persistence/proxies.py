"""The proxy pool on SQL (`proxy_pool`): the ProxyRepository port.

`url` holds the proxy URL without its password (scheme://[user@]host:port) and
`password_encrypted` the password sealed by the credential cipher, bound to the row id; the
clear password is never written. Operators read and edit the table by hand, so reading is
lenient where it can be and strict where it must be:

- a password typed in clear into `url` is used (it wins over `password_encrypted`: the gateway
  never writes one there, so it is the newer);
- an empty `protocol` stands for the url's scheme, and a url without a scheme takes `protocol`;
- an unknown `health_status` reads as unknown (the next check sets it);
- a row whose url or protocol cannot be parsed, whose password does not decrypt, or whose
  `providers` is not a list of ids, is Unreadable: `get()` raises it, `list()` leaves the row
  out with a warning (naming the id and the problem, never the URL or the password).

Only a change of `health_status` counts as a catalog change: the latency and check times that
every active check writes do not make every process reload.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aigateway.adapters.crypto import CredentialCipher, DecryptionFailed
from aigateway.adapters.persistence.repositories import (
    SqlTransaction,
    _now,
    _readable,
    _SqlStore,
)
from aigateway.adapters.persistence.tables import proxy_pool
from aigateway.application.ports.repositories import NotFound, SkippedRow, Unreadable
from aigateway.domain.proxies import (
    InvalidProxyUrl,
    Proxy,
    ProxyEndpoint,
    ProxyHealth,
    parse_proxy_url,
)

logger = logging.getLogger(__name__)


def password_context(proxy_id: int) -> str:
    """The associated data a proxy's password is sealed with: a ciphertext copied to another
    row does not decrypt there."""
    return f"proxy_pool:{proxy_id}"


def stored_url(endpoint: ProxyEndpoint) -> str:
    """The `url` column: the endpoint's URL without its password."""
    return msgspec.structs.replace(endpoint, password=None).url


class SqlProxyRepository(_SqlStore):
    def __init__(
        self, engine: AsyncEngine, cipher: CredentialCipher, tx: SqlTransaction | None = None
    ) -> None:
        super().__init__(engine, tx)
        self._cipher = cipher

    async def list(self, *, for_update: bool = False) -> Sequence[Proxy]:
        proxies, _ = await self.list_with_skipped(for_update=for_update)
        return proxies

    async def list_with_skipped(
        self, *, for_update: bool = False
    ) -> tuple[Sequence[Proxy], Sequence[SkippedRow]]:
        query = select(proxy_pool).order_by(proxy_pool.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(query.with_for_update() if for_update else query)).all()
        proxies, skipped = _readable(rows, self._proxy)
        for row in skipped:
            logger.warning("proxy %s cannot be read: %s", row.id, row.reason)
        return proxies, skipped

    async def get(self, proxy_id: int) -> Proxy:
        async with self._read() as conn:
            return await self._get(conn, proxy_id, lock=self._tx is not None)

    async def add(self, proxy: Proxy) -> Proxy:
        now = _now()
        values = (
            _operator_values(proxy)
            | _health_values(proxy)
            | {
                "url": stored_url(proxy.endpoint),
                "protocol": proxy.endpoint.protocol.value,
                "created_at": proxy.created_at or now,
                "updated_at": now,
            }
        )
        async with self._write() as conn:
            result = await conn.execute(insert(proxy_pool).values(values))
            inserted = result.inserted_primary_key
            assert inserted is not None  # an INSERT of one row
            proxy_id = int(inserted[0])
            if proxy.endpoint.password is not None:  # sealed for the id the row just got
                sealed = self._seal(proxy.endpoint, proxy_id)
                await conn.execute(
                    update(proxy_pool)
                    .where(proxy_pool.c.id == proxy_id)
                    .values(password_encrypted=sealed)
                )
            return await self._get(conn, proxy_id)

    async def update(self, proxy: Proxy) -> Proxy:
        values = _operator_values(proxy) | {
            "url": stored_url(proxy.endpoint),
            "protocol": proxy.endpoint.protocol.value,
            "password_encrypted": self._seal(proxy.endpoint, proxy.id),
            "updated_at": _now(),
        }
        async with self._write() as conn:
            await conn.execute(update(proxy_pool).where(proxy_pool.c.id == proxy.id).values(values))
            return await self._get(conn, proxy.id)

    async def delete(self, proxy_id: int) -> None:
        """The foreign key of `accounts.proxy_id` (ON DELETE SET NULL) unassigns its accounts."""
        async with self._write() as conn:
            result = await conn.execute(delete(proxy_pool).where(proxy_pool.c.id == proxy_id))
            if result.rowcount == 0:
                raise NotFound(f"proxy {proxy_id} not found")

    async def record_health(self, proxy: Proxy) -> bool:
        """NotFound when the proxy is gone (deleted while it was being checked)."""
        same_row = (
            update(proxy_pool).where(proxy_pool.c.id == proxy.id).values(_health_values(proxy))
        )
        flipped = same_row.where(proxy_pool.c.health_status != proxy.health.value)
        async with self._write(changes=False) as conn:
            changed = bool((await conn.execute(flipped)).rowcount)
            if not changed and (await conn.execute(same_row)).rowcount == 0:
                raise NotFound(f"proxy {proxy.id} not found")
        if changed and self._tx is not None:
            self._tx.changed = True
        return changed

    def _seal(self, endpoint: ProxyEndpoint, proxy_id: int) -> str | None:
        if endpoint.password is None:
            return None
        return self._cipher.encrypt(endpoint.password.encode(), context=password_context(proxy_id))

    async def _get(self, conn: AsyncConnection, proxy_id: int, *, lock: bool = False) -> Proxy:
        query = select(proxy_pool).where(proxy_pool.c.id == proxy_id)
        row = (await conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise NotFound(f"proxy {proxy_id} not found")
        return self._proxy(row)

    def _proxy(self, row: Row[Any]) -> Proxy:
        endpoint = self._endpoint(row)
        providers = row.providers
        if providers is None:
            providers = []
        elif not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
            raise Unreadable("proxy", str(row.id), "providers is not a JSON list of provider ids")
        try:
            health = ProxyHealth(row.health_status)
        except ValueError:
            health = ProxyHealth.UNKNOWN
        return Proxy(
            id=row.id,
            endpoint=endpoint,
            label=row.label or "",
            is_active=bool(row.is_active),
            max_accounts=row.max_accounts,
            priority=row.priority,
            providers=tuple(providers),
            health=health,
            consecutive_failures=row.consecutive_failures,
            latency_ms=None if row.latency_ms is None else float(row.latency_ms),
            last_checked_at=row.last_checked_at,
            marked_down_at=row.marked_down_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def _endpoint(self, row: Row[Any]) -> ProxyEndpoint:
        protocol = (row.protocol or "").strip().lower() or None
        try:
            endpoint = parse_proxy_url(row.url or "", protocol)
        except InvalidProxyUrl as exc:  # its message never quotes the URL's credentials
            raise Unreadable("proxy", str(row.id), str(exc)) from None
        if endpoint.password is not None or not row.password_encrypted:
            return endpoint
        try:
            sealed = self._cipher.decrypt(row.password_encrypted, context=password_context(row.id))
            password = sealed.decode()
        except (DecryptionFailed, UnicodeDecodeError):
            reason = "the stored password does not decrypt with this key (or was altered)"
            raise Unreadable("proxy", str(row.id), reason) from None
        return msgspec.structs.replace(endpoint, password=password)


def _operator_values(proxy: Proxy) -> dict[str, Any]:
    return {
        "label": proxy.label,
        "is_active": proxy.is_active,
        "max_accounts": proxy.max_accounts,
        "priority": proxy.priority,
        "providers": list(proxy.providers) or None,
    }


def _health_values(proxy: Proxy) -> dict[str, Any]:
    return {
        "health_status": proxy.health.value,
        "consecutive_failures": proxy.consecutive_failures,
        "latency_ms": proxy.latency_ms,
        "last_checked_at": proxy.last_checked_at,
        "marked_down_at": proxy.marked_down_at,
    }
