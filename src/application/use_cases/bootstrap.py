"""Start-up checks: the admin key, and that the secret key matches the stored credentials."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

from aigateway.application.ports.repositories import SettingsStore
from aigateway.domain.client_keys import hash_key

ADMIN_KEY_HASH = "admin_key_hash"
SECRET_KEY_CHECK = "secret_key_check"  # noqa: S105 - a settings row name, not a secret


class StartupError(RuntimeError):
    """The server must not start; the message is one line for the operator."""


class AdminAuth:
    """Checks the admin bearer token in constant time against the configured/stored hash."""

    def __init__(self, key_hash: str) -> None:
        self._key_hash = key_hash

    def check(self, token: str | None) -> bool:
        if not token:
            return False
        return hmac.compare_digest(hash_key(token), self._key_hash)


async def ensure_admin_key(
    store: SettingsStore, configured: str | None
) -> tuple[AdminAuth, str | None]:
    """The admin auth, and a newly generated key to print once (None when not generated)."""
    if configured:
        return AdminAuth(hash_key(configured)), None
    stored = await store.get(ADMIN_KEY_HASH)
    if stored:
        return AdminAuth(stored), None
    generated = "adm_" + secrets.token_urlsafe(32)
    await store.set(ADMIN_KEY_HASH, hash_key(generated))
    return AdminAuth(hash_key(generated)), generated


async def ensure_secret_key(
    store: SettingsStore, make_check: Callable[[], str], verify: Callable[[str], bool]
) -> None:
    stored = await store.get(SECRET_KEY_CHECK)
    if stored is None:
        await store.set(SECRET_KEY_CHECK, make_check())
    elif not verify(stored):
        raise StartupError(
            "AIGATEWAY_SECRET_KEY does not match the key the stored credentials were encrypted with"
        )
