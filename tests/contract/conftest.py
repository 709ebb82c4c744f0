"""The repositories under contract: in-memory, SQLite (tmp file) and MariaDB (one database per
module, emptied and re-seeded between tests). The coordination contract's Redis is a private,
password-protected redis-server (one per test session and worker), used on database
`REDIS_DB`, not 0, so that a command sent before AUTH or SELECT would show."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.persistence.engine import create_engine
from aigateway.adapters.persistence.migrate import upgrade_to_head
from aigateway.adapters.persistence.proxies import SqlProxyRepository
from aigateway.adapters.persistence.repositories import (
    SqlAccountRepository,
    SqlClientKeyRepository,
    SqlProviderRepository,
    SqlSettingsStore,
)
from aigateway.adapters.persistence.request_logs import SqlRequestLogSink
from aigateway.adapters.persistence.tables import metadata, providers, request_logs
from aigateway.adapters.persistence.unit_of_work import SqlUnitOfWork
from aigateway.application.ports.coordination import RequestLogSink
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    ProviderRepository,
    ProxyRepository,
    SettingsStore,
)
from aigateway.application.ports.unit_of_work import CatalogChanged, UnitOfWorkFactory
from aigateway.domain.request_log import RequestLogEntry
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
    InMemoryProxyRepository,
    InMemoryRequestLogSink,
    InMemorySettingsStore,
    InMemoryUnitsOfWork,
)
from tests.e2e.private_services import PrivateRedis
from tests.services import create_mysql_database, drop_mysql_database

CIPHER_SECRET = "contract-test-secret"
BACKENDS = ["memory", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
SQL_BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


REDIS_PASSWORD = "contract-redis-pass"  # a throw-away server's password
REDIS_DB = 3


@dataclass(frozen=True)
class Backend:
    name: str
    url: str | None = None


@dataclass
class Stores:
    providers: ProviderRepository
    accounts: AccountRepository
    keys: ClientKeyRepository
    settings: SettingsStore
    logs: RequestLogSink
    proxies: ProxyRepository
    units_of_work: Callable[[CatalogChanged], UnitOfWorkFactory]  # given the changed hook
    engine: AsyncEngine | None = None
    url: str | None = None

    async def logged(self) -> list[RequestLogEntry]:
        """Every request-log row, oldest first: the in-memory sink's list, or the SQL table
        read back directly (the gateway itself never reads the log)."""
        if isinstance(self.logs, InMemoryRequestLogSink):
            return [copy.copy(entry) for entry in self.logs.rows]
        assert self.engine is not None
        columns = [request_logs.c[name] for name in RequestLogEntry.__struct_fields__]
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(request_logs.c.id))).all()
        return [RequestLogEntry(**{**row._asdict(), "stream": bool(row.stream)}) for row in rows]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mariadb_url() -> AsyncIterator[str]:
    url = await create_mysql_database()
    try:
        await upgrade_to_head(url)
        yield url
    finally:
        await drop_mysql_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name: str = request.param
    if name == "sqlite":
        return Backend(name, f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    if name == "mariadb":
        return Backend(name, request.getfixturevalue("mariadb_url"))
    return Backend(name)


@pytest.fixture
def cipher() -> CredentialCipher:
    return CredentialCipher(CIPHER_SECRET)


@pytest.fixture
async def stores(backend: Backend, cipher: CredentialCipher) -> AsyncIterator[Stores]:
    if backend.url is None:
        memory_providers = InMemoryProviderRepository()
        memory_accounts = InMemoryAccountRepository(memory_providers)
        memory_keys = InMemoryClientKeyRepository()
        memory_proxies = InMemoryProxyRepository(memory_accounts)
        yield Stores(
            providers=memory_providers,
            accounts=memory_accounts,
            keys=memory_keys,
            settings=InMemorySettingsStore(),
            logs=InMemoryRequestLogSink(),
            proxies=memory_proxies,
            units_of_work=partial(
                InMemoryUnitsOfWork,
                memory_providers,
                memory_accounts,
                memory_keys,
                proxies=memory_proxies,
            ),
        )
        return
    if backend.name == "sqlite":
        await upgrade_to_head(backend.url)
    engine = create_engine(backend.url)
    try:
        if backend.name == "mariadb":
            await _reset(engine)
        yield Stores(
            providers=SqlProviderRepository(engine),
            accounts=SqlAccountRepository(engine, cipher),
            keys=SqlClientKeyRepository(engine),
            settings=SqlSettingsStore(engine),
            logs=SqlRequestLogSink(engine),
            proxies=SqlProxyRepository(engine, cipher),
            units_of_work=lambda changed: partial(SqlUnitOfWork, engine, cipher, changed),
            engine=engine,
            url=backend.url,
        )
    finally:
        await engine.dispose()


_seeded_providers: dict[str, list[dict[str, Any]]] = {}


async def _reset(engine: AsyncEngine) -> None:
    """Bring a shared, migrated database back to its just-migrated content."""
    key = str(engine.url)
    async with engine.begin() as conn:
        if key not in _seeded_providers:
            rows = (await conn.execute(select(providers))).mappings().all()
            _seeded_providers[key] = [dict(row) for row in rows]
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
        await conn.execute(insert(providers), _seeded_providers[key])


@pytest.fixture(scope="session")
def private_redis() -> Iterator[PrivateRedis]:
    """Fails under CI=true, skips elsewhere, when there is no redis-server to start."""
    server = PrivateRedis(password=REDIS_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(private_redis: PrivateRedis) -> Iterator[str]:
    """The URL of database `REDIS_DB` on the private server; database 0 must stay empty."""
    yield private_redis.url_for(REDIS_DB)
    stray = private_redis.client(0).keys("*")
    assert not stray, f"keys written to database 0 instead of {REDIS_DB}: {stray[:5]}"
