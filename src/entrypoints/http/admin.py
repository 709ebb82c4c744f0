"""Admin API under /api/v1, guarded by the admin key (`Authorization: Bearer <key>`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery

from aigateway.application.errors import ValidationFailed
from aigateway.application.ports.repositories import SkippedRow
from aigateway.application.use_cases.admin import (
    AccountPatch,
    AccountsAdmin,
    ClientKeysAdmin,
    NewAccount,
    NewClientKey,
    NewProvider,
    ProviderPatch,
    ProvidersAdmin,
)
from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Proxy
from aigateway.domain.redaction import redacted
from aigateway.entrypoints.http.runtime import runtime_of

T = TypeVar("T")


def admin_guard(connection: ASGIConnection[Any, Any, Any, State], _: BaseRouteHandler) -> None:
    auth = runtime_of(connection).admin_auth
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not auth.check(token.strip()):
        raise NotAuthorizedException("admin key required: Authorization: Bearer <admin key>")


async def decode_body(request: Request[Any, Any, State], type_: type[T]) -> T:
    """400 for malformed or too deeply nested JSON, 422 naming the field for a wrong type or a
    missing field."""
    body = await request.body()
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(str(exc).replace("`$.", "`")) from None
    except msgspec.DecodeError:
        raise ClientException("request body is not valid JSON") from None
    except RecursionError:
        raise ClientException("request body is nested too deeply") from None


# ---- views: what the admin API shows (never a secret) ----------------------------------------


class CredentialView(msgspec.Struct):
    masked: str
    fingerprint: str
    fields: list[str]  # which auth_data keys are stored, without their values


class ProxyRef(msgspec.Struct):
    """An account's proxy, as the account JSON shows it."""

    id: int
    url: str  # masked: the password as ***
    label: str
    health_status: str

    @classmethod
    def of(cls, proxy: Proxy) -> ProxyRef:
        return cls(proxy.id, proxy.endpoint.masked(), proxy.label, proxy.health.value)


class AccountView(msgspec.Struct):
    id: str
    provider_id: FromPath[str]
    label: str
    auth_type: str
    credential: CredentialView
    is_active: bool
    disabled_reason: str | None
    expires_at: datetime | None
    proxy_id: int | None
    proxy: ProxyRef | None  # where its calls leave from; null: no proxy assigned
    last_used_at: datetime | None
    usage_count: int
    created_at: datetime | None
    updated_at: datetime | None
    token_cached_until: datetime | None = None  # until when the cached access token is used

    @classmethod
    def of(
        cls,
        a: Account,
        token_cached_until: datetime | None = None,
        proxy: Proxy | None = None,
    ) -> AccountView:
        return cls(
            id=a.id,
            provider_id=a.provider_id,
            label=a.label,
            auth_type=a.credential.auth_type.value,
            credential=CredentialView(
                a.credential.masked(), a.credential.fingerprint(), sorted(a.credential.data)
            ),
            is_active=a.is_active,
            disabled_reason=a.disabled_reason,
            expires_at=a.expires_at,
            proxy_id=a.proxy_id,
            proxy=ProxyRef.of(proxy) if proxy is not None else None,
            last_used_at=a.last_used_at,
            usage_count=a.usage_count,
            created_at=a.created_at,
            updated_at=a.updated_at,
            token_cached_until=token_cached_until,
        )


class ClientKeyView(msgspec.Struct):
    id: str
    label: str
    key_prefix: str
    is_active: bool
    last_used_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, k: ClientKey) -> ClientKeyView:
        return cls(k.id, k.label, k.prefix, k.is_active, k.last_used_at, k.created_at)


@redacted("key")
class IssuedKeyView(msgspec.Struct):
    id: str
    key: str
    key_prefix: str
    label: str
    message: str = "store this key now: it is not shown again"


class Listing(msgspec.Struct):
    data: list[Any]
    total: int


class UnreadableView(msgspec.Struct):
    """A stored row that cannot be read, listed with the reason instead of its fields."""

    id: str
    error: str


def _listing(items: list[Any], skipped: Sequence[SkippedRow]) -> Listing:
    data = items + [UnreadableView(row.id, f"unreadable: {row.reason}") for row in skipped]
    return Listing(data, len(data))


class Deleted(msgspec.Struct):
    message: str


class ProvidersController(Controller):
    path = "/providers"

    @get("/")
    async def list_providers(self, request: Request[Any, Any, State]) -> Listing:
        items, skipped = await _providers(request).list()
        return _listing(list(items), skipped)

    @get("/{provider_id:str}")
    async def get_provider(
        self, request: Request[Any, Any, State], provider_id: FromPath[str]
    ) -> Provider:
        return await _providers(request).get(provider_id)

    @post("/", status_code=201)
    async def create_provider(self, request: Request[Any, Any, State]) -> Provider:
        return await _providers(request).create(await decode_body(request, NewProvider))

    @put("/{provider_id:str}")
    async def put_provider(
        self, request: Request[Any, Any, State], provider_id: FromPath[str]
    ) -> Provider:
        return await _providers(request).update(
            provider_id, await decode_body(request, ProviderPatch)
        )

    @patch("/{provider_id:str}")
    async def patch_provider(
        self, request: Request[Any, Any, State], provider_id: FromPath[str]
    ) -> Provider:
        return await _providers(request).update(
            provider_id, await decode_body(request, ProviderPatch)
        )

    @delete("/{provider_id:str}", status_code=200)
    async def delete_provider(
        self, request: Request[Any, Any, State], provider_id: FromPath[str]
    ) -> Deleted:
        await _providers(request).delete(provider_id)
        return Deleted("provider deleted")


class AccountsController(Controller):
    path = "/accounts"

    @get("/")
    async def list_accounts(
        self,
        request: Request[Any, Any, State],
        provider_id: FromQuery[str | None] = None,
        is_active: FromQuery[bool | None] = None,
    ) -> Listing:
        items, skipped = await _accounts(request).list(provider_id=provider_id, is_active=is_active)
        proxies = await _proxies_of(request, items)
        return _listing([await account_view(request, a, proxies) for a in items], skipped)

    @get("/{account_id:str}")
    async def get_account(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> AccountView:
        return await account_view(request, await _accounts(request).get(account_id))

    @post("/", status_code=201)
    async def create_account(self, request: Request[Any, Any, State]) -> AccountView:
        account = await _accounts(request).create(await decode_body(request, NewAccount))
        return await account_view(request, account)

    @put("/{account_id:str}")
    async def put_account(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> AccountView:
        change = await decode_body(request, AccountPatch)
        return await account_view(request, await _accounts(request).update(account_id, change))

    @patch("/{account_id:str}")
    async def patch_account(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> AccountView:
        change = await decode_body(request, AccountPatch)
        return await account_view(request, await _accounts(request).update(account_id, change))

    @delete("/{account_id:str}", status_code=200)
    async def delete_account(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> Deleted:
        await _accounts(request).delete(account_id)
        return Deleted("account deleted")


class CooldownView(msgspec.Struct):
    model: str | None  # None: every model of the account
    until: datetime
    reason: str


class CooldownsController(Controller):
    """An account's cooldowns (shared by every gateway process), and putting it back in service."""

    path = "/accounts/{account_id:str}"

    @get("/cooldowns")
    async def list_cooldowns(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> Listing:
        found = await _accounts(request).cooldowns(account_id)
        return Listing([CooldownView(c.model, c.until, c.reason) for c in found], len(found))

    @delete("/cooldowns", status_code=200)
    async def clear_cooldowns(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> Cleared:
        cleared = await _accounts(request).clear_cooldowns(account_id)
        return Cleared("cooldowns cleared", cleared)

    @post("/enable", status_code=200)
    async def enable(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> AccountView:
        return await account_view(request, await _accounts(request).enable(account_id))


class Cleared(msgspec.Struct):
    message: str
    cleared: int


class RefreshedView(msgspec.Struct):
    id: str
    expires_at: datetime
    token_cached_until: datetime | None


class TokensController(Controller):
    """An OAuth account's access token: refresh it now, or forget the cached one (the next
    request refreshes it)."""

    path = "/accounts/{account_id:str}"

    @post("/refresh", status_code=200)
    async def refresh(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> RefreshedView:
        done = await runtime_of(request).token_admin.refresh(account_id)
        return RefreshedView(done.account_id, done.expires_at, done.token_cached_until)

    @delete("/token-cache", status_code=200)
    async def forget_token(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> Cleared:
        cleared = await runtime_of(request).token_admin.forget(account_id)
        return Cleared("cached access token deleted", int(cleared))


class ClientKeysController(Controller):
    path = "/api-keys"

    @get("/")
    async def list_keys(self, request: Request[Any, Any, State]) -> Listing:
        items = await _keys(request).list()
        return Listing([ClientKeyView.of(k) for k in items], len(items))

    @post("/", status_code=201)
    async def create_key(self, request: Request[Any, Any, State]) -> IssuedKeyView:
        body = await request.body()
        spec = await decode_body(request, NewClientKey) if body.strip() else NewClientKey()
        issued = await _keys(request).create(spec)
        return IssuedKeyView(issued.key.id, issued.plaintext, issued.key.prefix, issued.key.label)

    @delete("/{key_id:str}", status_code=200)
    async def revoke_key(self, request: Request[Any, Any, State], key_id: FromPath[str]) -> Deleted:
        await _keys(request).revoke(key_id)
        return Deleted("api key revoked")


def _providers(request: Request[Any, Any, State]) -> ProvidersAdmin:
    return runtime_of(request).providers_admin


def _accounts(request: Request[Any, Any, State]) -> AccountsAdmin:
    return runtime_of(request).accounts_admin


def _keys(request: Request[Any, Any, State]) -> ClientKeysAdmin:
    return runtime_of(request).keys_admin


async def _proxies_of(
    request: Request[Any, Any, State], accounts: Sequence[Account]
) -> Mapping[int, Proxy]:
    if all(a.proxy_id is None for a in accounts):
        return {}
    return await runtime_of(request).proxies_admin.by_id()


async def account_view(
    request: Request[Any, Any, State],
    account: Account,
    proxies: Mapping[int, Proxy] | None = None,
) -> AccountView:
    """The account as the admin API shows it: with its cached token's expiry and its proxy."""
    if proxies is None:
        proxies = await _proxies_of(request, [account])
    cached = await runtime_of(request).token_admin.cached_until(account)
    proxy = proxies.get(account.proxy_id) if account.proxy_id is not None else None
    return AccountView.of(account, cached, proxy)


ADMIN_CONTROLLERS = [
    ProvidersController,
    AccountsController,
    CooldownsController,
    TokensController,
    ClientKeysController,
]
