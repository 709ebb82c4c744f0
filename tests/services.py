"""Where the real MariaDB and Redis for the tests are, and how a test gets its own slice of them.

With CI=true a test that needs a service it cannot reach fails; elsewhere it is skipped.
"""

from __future__ import annotations

import os
import uuid

import pytest

MYSQL_SERVER_URL = os.environ.get("AIGATEWAY_TEST_MYSQL_URL", "mysql+asyncmy://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("AIGATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(service: str, error: BaseException) -> None:
    message = f"{service} is not reachable: {error!r}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def create_mysql_database() -> str:
    """Create a fresh database on the test server; return its SQLAlchemy URL."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = unique_name("aigw_test")
    engine = create_async_engine(MYSQL_SERVER_URL + "/", pool_pre_ping=False)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as exc:
        unavailable("MariaDB", exc)
    finally:
        await engine.dispose()
    return f"{MYSQL_SERVER_URL}/{name}"


async def drop_mysql_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(MYSQL_SERVER_URL + "/")
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await engine.dispose()
