"""Operator use cases: providers, upstream accounts, client keys.

Each write is one unit of work (one transaction); its commit announces "catalog changed"
(`CatalogAnnouncer`), which bumps the shared config version so every gateway process reloads
its snapshot. PUT and PATCH share one semantic: fields present are changed, fields absent are
kept; a present `auth_data` replaces the whole credential.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from aigateway.application.errors import ValidationFailed
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import Rotation
from aigateway.application.ports.provider_config import ProviderConfigRules
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    NotFound,
    ProviderRepository,
    SkippedRow,
)
from aigateway.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from aigateway.application.use_cases.admin_checks import (
    check_base_url,
    check_config,
    check_models,
    check_text,
    credential_of,
    expiry_of,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.proxy_assignments import ProxyAssignments
from aigateway.domain.accounts import Account
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


class CatalogAnnouncer:
    """The one "catalog changed" hook (units of work call it after a commit that changed a
    row): bump the shared version and reload here. An announcement made while another waits
    to start shares it, so a burst of writes reloads at most twice, not once per write."""

    def __init__(self, catalog: CatalogCache) -> None:
        self._catalog = catalog
        self._running = asyncio.Lock()
        self._next: asyncio.Future[None] | None = None

    async def __call__(self) -> None:
        if self._next is None:
            self._next = asyncio.ensure_future(self._announce())
        await asyncio.shield(self._next)

    async def _announce(self) -> None:
        async with self._running:
            self._next = None  # writes announced from now on need a reload after this one
            try:
                await self._catalog.changed()
            except Exception as exc:  # the write is committed: it must not be answered as failed
                log.warning(
                    "catalog not reloaded after a write (the next reload applies it): %s", exc
                )


class ProvidersAdmin:
    def __init__(
        self,
        repo: ProviderRepository,
        uow: UnitOfWorkFactory,
        clock: Clock,
        rules: ProviderConfigRules,
    ) -> None:
        self._repo = repo
        self._uow = uow
        self._clock = clock
        self._rules = rules

    def _checked(self, provider: Provider) -> Provider:
        problems = self._rules.config_problems(provider.kind, provider.config)
        if problems:
            raise ValidationFailed("; ".join(problems))
        return provider

    async def list(self) -> tuple[Sequence[Provider], Sequence[SkippedRow]]:
        """The providers, and the stored rows that cannot be read (shown, not a 500)."""
        return await self._repo.list_with_skipped()

    async def get(self, provider_id: str) -> Provider:
        return await self._repo.get(provider_id)

    async def create(self, spec: NewProvider) -> Provider:
        if not PROVIDER_ID_RE.match(spec.id):
            raise ValidationFailed("id must be 1-50 characters of a-z, 0-9, '-' or '_'")
        now = self._clock.now()
        provider = Provider(
            id=spec.id,
            name=check_text("name", spec.name, 100),
            kind=spec.kind,
            base_url=check_base_url(spec.base_url),
            models=check_models(spec.models),
            priority=spec.priority,
            is_active=spec.is_active,
            config=check_config(spec.config),
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as tx:
            return await tx.providers.add(self._checked(provider))

    async def update(self, provider_id: str, patch: ProviderPatch) -> Provider:
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if not isinstance(patch.name, UnsetType):
            changes["name"] = check_text("name", patch.name, 100)
        if not isinstance(patch.kind, UnsetType):
            changes["kind"] = patch.kind
        if not isinstance(patch.base_url, UnsetType):
            changes["base_url"] = check_base_url(patch.base_url)
        if not isinstance(patch.models, UnsetType):
            changes["models"] = check_models(patch.models)
        if not isinstance(patch.config, UnsetType):
            changes["config"] = check_config(patch.config)
        for name in ("priority", "is_active"):
            value = getattr(patch, name)
            if not isinstance(value, UnsetType):
                changes[name] = value
        async with self._uow() as tx:
            current = await tx.providers.get(provider_id)
            updated = self._checked(msgspec.structs.replace(current, **changes))
            return await tx.providers.update(updated)

    async def delete(self, provider_id: str) -> None:
        async with self._uow() as tx:
            await tx.providers.delete(provider_id)


class AccountsAdmin:
    """A new account gets its outbound proxy in the transaction that adds it (the assignment
    rule's choice, unless the operator names a `proxy_id`, which must exist)."""

    def __init__(
        self,
        repo: AccountRepository,
        uow: UnitOfWorkFactory,
        clock: Clock,
        rotation: Rotation | None = None,
        assignments: ProxyAssignments | None = None,
    ) -> None:
        self._repo = repo
        self._uow = uow
        self._clock = clock
        self._rotation = rotation
        self._assignments = assignments or ProxyAssignments(uow)

    async def list(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> tuple[Sequence[Account], Sequence[SkippedRow]]:
        """The accounts, and the stored rows that cannot be read (shown, not a 500)."""
        return await self._repo.list_with_skipped(provider_id=provider_id, is_active=is_active)

    async def get(self, account_id: str) -> Account:
        return await self._repo.get(account_id)

    async def create(self, spec: NewAccount) -> Account:
        check_text("provider_id", spec.provider_id, 50)
        async with self._uow() as tx:
            try:
                await tx.providers.get(spec.provider_id)
            except NotFound:
                raise ValidationFailed(f"unknown provider: {spec.provider_id}") from None
            credential = credential_of(spec.auth_data)
            label = check_text("label", spec.label, 100, required=False)
            account_id = str(uuid.uuid4())
            if spec.proxy_id is not None:  # the operator's choice
                proxy_id: int | None = await _existing_proxy(
                    tx, spec.proxy_id, spec.provider_id, account_id
                )
            else:
                proxy_id = await self._assignments.proxy_for_new_account(
                    tx, spec.provider_id, account_id
                )
            now = self._clock.now()
            return await tx.accounts.add(
                Account(
                    id=account_id,
                    provider_id=spec.provider_id,
                    label=label,
                    credential=credential,
                    is_active=spec.is_active,
                    expires_at=spec.expires_at or expiry_of(credential),
                    proxy_id=proxy_id,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def update(self, account_id: str, patch: AccountPatch) -> Account:
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if not isinstance(patch.label, UnsetType):
            changes["label"] = check_text("label", patch.label, 100, required=False)
        if not isinstance(patch.auth_data, UnsetType):
            credential = credential_of(patch.auth_data)
            changes["credential"] = credential
            changes["expires_at"] = expiry_of(credential)
            changes["disabled_reason"] = None  # a new credential gets a fresh start
        for name in ("is_active", "proxy_id", "expires_at", "disabled_reason"):
            value = getattr(patch, name)
            if not isinstance(value, UnsetType):
                changes[name] = value
        async with self._uow() as tx:
            current = await tx.accounts.get(account_id)
            if changes.get("proxy_id") is not None:
                await _existing_proxy(tx, changes["proxy_id"], current.provider_id, current.id)
            updated = await tx.accounts.update(msgspec.structs.replace(current, **changes))
        if "credential" in changes and self._rotation is not None:
            # the cooldowns were earned by the old credential (a revoked key rests for an hour)
            await self._rotation.clear(updated.provider_id, updated.id)
        return updated

    async def delete(self, account_id: str) -> None:
        async with self._uow() as tx:
            await tx.accounts.delete(account_id)

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

    async def disable(self, failed: Sequence[tuple[Account, str]]) -> int:
        """Take accounts out of service (a revoked key, a banned account) with the reason, in
        one transaction. An account that no longer holds the credential that failed (the
        operator rotated it) or is already out of service is left alone. Returns how many
        this call disabled."""
        disabled = 0
        async with self._uow() as tx:
            for account, reason in failed:
                fingerprint = account.credential.fingerprint()
                disabled += await tx.accounts.disable(account.id, fingerprint, reason[:255])
        return disabled


MAX_PROXY_ID = 2**31 - 1  # the column is a signed 32-bit integer


async def _existing_proxy(tx: UnitOfWork, proxy_id: int, provider_id: str, account_id: str) -> int:
    """The operator's `proxy_id`, once it names a proxy that can carry the account: active,
    serving its provider, with room (422 naming what is wrong otherwise)."""
    try:
        if not 1 <= proxy_id <= MAX_PROXY_ID:
            raise NotFound
        proxy = await tx.proxies.get(proxy_id)
    except NotFound:
        raise ValidationFailed(f"proxy_id {proxy_id} does not exist") from None
    if not proxy.is_active:
        raise ValidationFailed(f"proxy {proxy_id} is disabled")
    if not proxy.serves(provider_id):
        raise ValidationFailed(f"proxy {proxy_id} does not serve provider {provider_id}")
    load = sum(
        p.proxy_id == proxy_id and p.is_active and p.account_id != account_id
        for p in await tx.accounts.placements()
    )
    if not proxy.has_room(load):
        raise ValidationFailed(f"proxy {proxy_id} is full (max_accounts {proxy.max_accounts})")
    return proxy_id


class AccountDisabler:
    """Disables accounts off the request path: the request moves on at once, the write
    happens in the background (and is only logged if the database is away).

    One writer: the failures reported while it writes wait and go in its next transaction,
    so a burst of revoked keys is written (and announced) once or twice, not once per
    request; a failure for an account already waiting or being written is dropped."""

    def __init__(self, admin: AccountsAdmin) -> None:
        self._admin = admin
        self._waiting: dict[str, tuple[Account, str]] = {}
        self._writing: dict[str, tuple[Account, str]] = {}
        self._writer: asyncio.Task[None] | None = None

    def __call__(self, account: Account, reason: str) -> None:
        if account.id in self._waiting or account.id in self._writing:
            return
        log.warning("disabling account %s (%s): %s", account.id, account.label, reason)
        self._waiting[account.id] = (account, reason)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def drain(self) -> None:
        """Wait until every reported failure is written."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        try:
            while self._waiting:
                self._writing, self._waiting = self._waiting, {}
                try:
                    await self._admin.disable(list(self._writing.values()))
                except Exception as exc:
                    log.error("could not disable accounts %s: %s", ", ".join(self._writing), exc)
        finally:
            self._writing = {}
            self._writer = None


@redacted("plaintext")
class IssuedClientKey(msgspec.Struct, frozen=True):
    key: ClientKey
    plaintext: str  # shown once, never stored


def new_client_key_secret() -> str:
    return CLIENT_KEY_PREFIX + secrets.token_hex(24)


class ClientKeysAdmin:
    def __init__(self, repo: ClientKeyRepository, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._repo = repo
        self._uow = uow
        self._clock = clock

    async def list(self) -> Sequence[ClientKey]:
        return await self._repo.list()

    async def create(self, spec: NewClientKey) -> IssuedClientKey:
        plaintext = new_client_key_secret()
        key = ClientKey(
            id=str(uuid.uuid4()),
            label=check_text("label", spec.label, 100, required=False),
            prefix=key_prefix(plaintext),
            key_hash=hash_key(plaintext),
            created_at=self._clock.now(),
        )
        async with self._uow() as tx:
            key = await tx.keys.add(key)
        return IssuedClientKey(key, plaintext)

    async def revoke(self, key_id: str) -> ClientKey:
        async with self._uow() as tx:  # the commit drops it from every process's snapshot
            return await tx.keys.revoke(key_id)
