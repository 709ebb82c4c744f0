"""What must hold before the server takes traffic; shared by `aigateway serve` and the tests."""

from __future__ import annotations

from dishka import make_async_container
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.persistence.migrate import is_at_head, upgrade_to_head
from aigateway.application.ports.repositories import SettingsStore
from aigateway.application.use_cases.bootstrap import (
    StartupError,
    ensure_admin_key,
    ensure_secret_key,
)
from aigateway.entrypoints.ioc.providers import production_providers
from aigateway.entrypoints.ioc.settings import Settings


async def migrate(settings: Settings) -> None:
    try:
        await upgrade_to_head(settings.database.url)
    except Exception as exc:
        raise StartupError(f"database migration failed: {_reason(exc)}") from None


async def preflight(settings: Settings) -> str | None:
    """Check the database, schema, secret key and Redis; return a newly generated admin key.

    The services come from the same providers the server's container is built from.
    """
    if settings.embedded:
        await migrate(settings)
    container = make_async_container(*production_providers(), context={Settings: settings})
    try:
        engine = await container.get(AsyncEngine)
        try:
            at_head = await is_at_head(engine)
        except Exception as exc:
            raise StartupError(f"cannot reach the database: {_reason(exc)}") from None
        if not at_head:
            raise StartupError("the database schema is not up to date: run `aigateway migrate`")
        cipher = await container.get(CredentialCipher)
        store = await container.get(SettingsStore)
        await ensure_secret_key(store, cipher.key_check, cipher.verify_key_check)
        _, generated = await ensure_admin_key(store, settings.security.admin_key)
        redis = await container.get(Redis | None)
        if redis is not None:
            try:
                await redis.ping()
            except Exception as exc:
                raise StartupError(f"cannot reach Redis: {_reason(exc)}") from None
    finally:
        await container.close()
    return generated


def _reason(exc: BaseException) -> str:
    """The first line of the root cause, without the SQL or URL noise."""
    root: BaseException = exc
    while root.__cause__ is not None or getattr(root, "orig", None) is not None:
        root = getattr(root, "orig", None) or root.__cause__  # type: ignore[assignment]
    text = str(root).splitlines()[0] if str(root) else type(root).__name__
    return text[:300]
