"""The in-process app with its admin API, on SQLite or MariaDB, for the proxy pool tests: make
proxies and accounts through the API, read where accounts leave from, and run the operator
guide's SQL against the same database."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from aigateway.adapters.persistence.migrate import upgrade_to_head
from aigateway.entrypoints.bootstrap import preflight
from aigateway.entrypoints.http.app import create_app
from aigateway.entrypoints.ioc.settings import load_settings
from tests.services import create_mysql_database, drop_mysql_database

ADMIN_KEY = "adm_proxies"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@dataclass
class Gateway:
    client: AsyncTestClient  # type: ignore[type-arg]
    database_url: str

    async def call(self, method: str, path: str, body: Any = None, *, status: int = 200) -> Any:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        response = await self.client.request(method, path, headers=ADMIN, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    async def new_proxy(self, url: str, **fields: Any) -> dict[str, Any]:
        created: dict[str, Any] = await self.call(
            "POST", "/api/v1/proxies", {"url": url, **fields}, status=201
        )
        return created

    async def new_account(self, label: str, provider_id: str = "openai") -> dict[str, Any]:
        body = {
            "provider_id": provider_id,
            "label": label,
            "auth_data": {"api_key": f"sk-{label}-{uuid.uuid4().hex[:12]}"},
        }
        created: dict[str, Any] = await self.call("POST", "/api/v1/accounts", body, status=201)
        return created

    async def placement(self) -> dict[int | None, set[str]]:
        """Where the active accounts leave from: proxy id (None: no proxy) -> account ids."""
        found = await self.call("GET", "/api/v1/proxies/assignments")
        where: dict[int | None, set[str]] = {p["id"]: set(p["accounts"]) for p in found["proxies"]}
        for p in found["proxies"]:
            assert p["count"] == len(p["accounts"])
        where[None] = set(found["unassigned"])
        return where

    async def sql(self, statement: str, params: Mapping[str, Any] | None = None) -> None:
        """What an operator types into the database's own client."""
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(statement), dict(params or {}))
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def running_gateway(
    backend: str, tmp_path: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[Gateway]:
    """The app in-process on a fresh database of `backend` (`sqlite` or `mariadb`)."""
    environ = {
        "AIGATEWAY_DATA_DIR": str(tmp_path),
        "AIGATEWAY_ADMIN_KEY": ADMIN_KEY,
        "AIGATEWAY_SECRET_KEY": "proxy-tests-" + uuid.uuid4().hex,
        **(env or {}),
    }
    mysql_url = await create_mysql_database() if backend == "mariadb" else None
    try:
        if mysql_url is not None:
            environ["AIGATEWAY_DATABASE_URL"] = mysql_url
            await upgrade_to_head(mysql_url)
        settings = load_settings(environ)
        await preflight(settings)
        async with AsyncTestClient(create_app(settings)) as client:
            yield Gateway(client, settings.database.url)
    finally:
        if mysql_url is not None:
            await drop_mysql_database(mysql_url)
