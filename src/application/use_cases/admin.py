"""Operator use cases: providers, upstream accounts, client keys.

Every write bumps the shared config version so each gateway process reloads its snapshot.
PUT and PATCH share one semantic: fields present are changed, fields absent are kept; a present
`auth_data` replaces the whole credential.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from aigateway.application.errors import ValidationFailed
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import Rotation
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    NotFound,
    ProviderRepository,
    SkippedRow,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.domain.accounts import (
    Account,
    Credential,
    InvalidCredential,
    credential_from_auth_data,
)
from aigateway.domain.client_keys import CLIENT_KEY_PREFIX, ClientKey, hash_key, key_prefix
from aigateway.domain.providers import PROVIDER_ID_RE, Provider, ProviderKind
from aigateway.domain.redaction import redacted
from aigateway.domain.routing.eligibility import Cooldown

log = logging.getLogger(__name__)


class NewProvider(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: ProviderKind
    base_url: str
    models: list[str] = msgspec.field(default_factory=list)
    priority: int = 0
    is_active: bool = True
    config: dict[str, Any] = msgspec.field(default_factory=dict)


class ProviderPatch(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    kind: ProviderKind | UnsetType = UNSET
    base_url: str | UnsetType = UNSET
    models: list[str] | UnsetType = UNSET
    priority: int | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    config: dict[str, Any] | UnsetType = UNSET


@redacted("auth_data")
class NewAccount(msgspec.Struct, kw_only=True):
    provider_id: str
    auth_data: dict[str, Any] | str
    label: str = ""
    is_active: bool = True
    proxy_id: int | None = None
    expires_at: datetime | None = None


@redacted("auth_data")
class AccountPatch(msgspec.Struct, kw_only=True):
    label: str | UnsetType = UNSET
    auth_data: dict[str, Any] | str | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    proxy_id: int | UnsetType | None = UNSET
    expires_at: datetime | UnsetType | None = UNSET
    disabled_reason: UnsetType | None = UNSET  # only clearing is allowed (re-enable)


class NewClientKey(msgspec.Struct, kw_only=True):
    label: str = ""


def _check_text(name: str, value: str, max_len: int, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValidationFailed(f"{name} is longer than {max_len} characters")
    return value


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("base_url must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValidationFailed("base_url must not carry credentials; put them in an account")
    return _check_text("base_url", value, 255).rstrip("/")


TIMEOUT_KEYS = ("connect_timeout_s", "read_timeout_s", "total_timeout_s")


def _check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Upstream timeouts in a provider's config: positive numbers of seconds."""
    for key in TIMEOUT_KEYS:
        value = config.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        ):
            raise ValidationFailed(f"config.{key} must be a positive number of seconds")
    return config


def _check_models(models: list[str]) -> tuple[str, ...]:
    cleaned = tuple(_check_text("models[]", m, 191) for m in models)
    return tuple(dict.fromkeys(cleaned))


class ProvidersAdmin:
    def __init__(self, repo: ProviderRepository, catalog: CatalogCache, clock: Clock) -> None:
        self._repo = repo
        self._catalog = catalog
        self._clock = clock

    async def list(self) -> tuple[Sequence[Provider], Sequence[SkippedRow]]:
        """The providers, and the stored rows that cannot be read (shown, not a 500)."""
        return await self._repo.list_with_skipped()

    async def get(self, provider_id: str) -> Provider:
        return await self._repo.get(provider_id)

    async def create(self, spec: NewProvider) -> Provider:
        if not PROVIDER_ID_RE.match(spec.id):
            raise ValidationFailed("id must be 1-50 characters of a-z, 0-9, '-' or '_'")
        now = self._clock.now()
        provider = await self._repo.add(
            Provider(
                id=spec.id,
                name=_check_text("name", spec.name, 100),
                kind=spec.kind,
                base_url=_check_base_url(spec.base_url),
                models=_check_models(spec.models),
                priority=spec.priority,
                is_active=spec.is_active,
                config=_check_config(spec.config),
                created_at=now,
                updated_at=now,
            )
        )
        await self._catalog.changed()
        return provider

    async def update(self, provider_id: str, patch: ProviderPatch) -> Provider:
        current = await self._repo.get(provider_id)
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if not isinstance(patch.name, UnsetType):
            changes["name"] = _check_text("name", patch.name, 100)
        if not isinstance(patch.kind, UnsetType):
            changes["kind"] = patch.kind
        if not isinstance(patch.base_url, UnsetType):
            changes["base_url"] = _check_base_url(patch.base_url)
        if not isinstance(patch.models, UnsetType):
            changes["models"] = _check_models(patch.models)
        if not isinstance(patch.config, UnsetType):
            changes["config"] = _check_config(patch.config)
        for name in ("priority", "is_active"):
            value = getattr(patch, name)
            if not isinstance(value, UnsetType):
                changes[name] = value
        updated = await self._repo.update(msgspec.structs.replace(current, **changes))
        await self._catalog.changed()
        return updated

    async def delete(self, provider_id: str) -> None:
        await self._repo.delete(provider_id)
        await self._catalog.changed()


def _credential(auth_data: dict[str, Any] | str) -> Credential:
    if isinstance(auth_data, str):  # the original API took auth_data as a JSON string
        try:
            auth_data = msgspec.json.decode(auth_data)
        except msgspec.DecodeError:
            raise ValidationFailed("auth_data must be a JSON object") from None
        if not isinstance(auth_data, dict):
            raise ValidationFailed("auth_data must be a JSON object")
    try:
        return credential_from_auth_data(auth_data)
    except InvalidCredential as exc:
        raise ValidationFailed(str(exc)) from None


def _expiry(credential: Credential) -> datetime | None:
    raw = credential.data.get("expires_at")
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("auth_data.expires_at must be an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise ValidationFailed("auth_data.expires_at must carry a time zone")
    return parsed


class AccountsAdmin:
    def __init__(
        self,
        repo: AccountRepository,
        providers: ProviderRepository,
        catalog: CatalogCache,
        clock: Clock,
        rotation: Rotation | None = None,
    ) -> None:
        self._repo = repo
        self._providers = providers
        self._catalog = catalog
        self._clock = clock
        self._rotation = rotation

    async def list(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> tuple[Sequence[Account], Sequence[SkippedRow]]:
        """The accounts, and the stored rows that cannot be read (shown, not a 500)."""
        return await self._repo.list_with_skipped(provider_id=provider_id, is_active=is_active)

    async def get(self, account_id: str) -> Account:
        return await self._repo.get(account_id)

    async def create(self, spec: NewAccount) -> Account:
        try:
            await self._providers.get(spec.provider_id)
        except NotFound:
            raise ValidationFailed(f"unknown provider: {spec.provider_id}") from None
        credential = _credential(spec.auth_data)
        now = self._clock.now()
        account = await self._repo.add(
            Account(
                id=str(uuid.uuid4()),
                provider_id=spec.provider_id,
                label=_check_text("label", spec.label, 100, required=False),
                credential=credential,
                is_active=spec.is_active,
                expires_at=spec.expires_at or _expiry(credential),
                proxy_id=spec.proxy_id,
                created_at=now,
                updated_at=now,
            )
        )
        await self._catalog.changed()
        return account

    async def update(self, account_id: str, patch: AccountPatch) -> Account:
        current = await self._repo.get(account_id)
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if not isinstance(patch.label, UnsetType):
            changes["label"] = _check_text("label", patch.label, 100, required=False)
        if not isinstance(patch.auth_data, UnsetType):
            credential = _credential(patch.auth_data)
            changes["credential"] = credential
            changes["expires_at"] = _expiry(credential)
            changes["disabled_reason"] = None  # a new credential gets a fresh start
        for name in ("is_active", "proxy_id", "expires_at", "disabled_reason"):
            value = getattr(patch, name)
            if not isinstance(value, UnsetType):
                changes[name] = value
        updated = await self._repo.update(msgspec.structs.replace(current, **changes))
        await self._catalog.changed()
        return updated

    async def delete(self, account_id: str) -> None:
        await self._repo.delete(account_id)
        await self._catalog.changed()

    async def cooldowns(self, account_id: str) -> Sequence[Cooldown]:
        account = await self._repo.get(account_id)
        if self._rotation is None:
            return []
        return await self._rotation.cooldowns(account.provider_id, account.id, self._clock.now())

    async def clear_cooldowns(self, account_id: str) -> int:
        account = await self._repo.get(account_id)
        if self._rotation is None:
            return 0
        return await self._rotation.clear(account.provider_id, account.id)

    async def enable(self, account_id: str) -> Account:
        """Back in service: active, no disabled reason, no cooldowns."""
        await self.clear_cooldowns(account_id)
        return await self.update(account_id, AccountPatch(is_active=True, disabled_reason=None))

    async def disable(self, account_id: str, reason: str) -> None:
        """Take an account out of service (a revoked key, a banned account) with the reason."""
        current = await self._repo.get(account_id)
        changed = msgspec.structs.replace(
            current, disabled_reason=reason[:255], updated_at=self._clock.now()
        )
        await self._repo.update(changed)
        await self._catalog.changed()


class AccountDisabler:
    """Disables accounts off the request path: the request moves on at once, the write
    happens in the background (and is only logged if the database is away)."""

    def __init__(self, admin: AccountsAdmin) -> None:
        self._admin = admin
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, account: Account, reason: str) -> None:
        log.warning("disabling account %s (%s): %s", account.id, account.label, reason)
        task = asyncio.get_running_loop().create_task(self._disable(account.id, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _disable(self, account_id: str, reason: str) -> None:
        try:
            await self._admin.disable(account_id, reason)
        except Exception as exc:
            log.error("could not disable account %s: %s", account_id, exc)


@redacted("plaintext")
class IssuedClientKey(msgspec.Struct, frozen=True):
    key: ClientKey
    plaintext: str  # shown once, never stored


def new_client_key_secret() -> str:
    return CLIENT_KEY_PREFIX + secrets.token_hex(24)


class ClientKeysAdmin:
    def __init__(self, repo: ClientKeyRepository, catalog: CatalogCache, clock: Clock) -> None:
        self._repo = repo
        self._catalog = catalog
        self._clock = clock

    async def list(self) -> Sequence[ClientKey]:
        return await self._repo.list()

    async def create(self, spec: NewClientKey) -> IssuedClientKey:
        plaintext = new_client_key_secret()
        key = await self._repo.add(
            ClientKey(
                id=str(uuid.uuid4()),
                label=_check_text("label", spec.label, 100, required=False),
                prefix=key_prefix(plaintext),
                key_hash=hash_key(plaintext),
                created_at=self._clock.now(),
            )
        )
        await self._catalog.changed()
        return IssuedClientKey(key, plaintext)

    async def revoke(self, key_id: str) -> ClientKey:
        key = await self._repo.revoke(key_id)
        await self._catalog.changed()  # the snapshot drops it at once, in every process
        return key
