"""OAuth tokens outside a request: the background refresher, and the operator's token actions
(refresh now, forget the cached token). Both go through `AccessTokens`, so they share its one
refresh per account at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from aigateway.application.errors import UpstreamRefused
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.repositories import AccountRepository, Conflict, ProviderRepository
from aigateway.application.use_cases.access_tokens import AccessTokens, CredentialUnavailable
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.domain.accounts import Account, AuthType
from aigateway.domain.providers import Provider

log = logging.getLogger(__name__)


class TokenRefresher:
    """Background task: renew the tokens of the usable OAuth accounts of active providers that
    expire within `ahead`, through the same single flight as requests (so every process may run
    it: one refresh per account). A refresh token found revoked disables its account; other
    failures are left to requests, which cool the account and move on."""

    def __init__(
        self,
        tokens: AccessTokens,
        catalog: CatalogCache,
        clock: Clock,
        disable_account: Callable[[Account, str], None],
        *,
        ahead: timedelta,
        interval_s: float,
    ) -> None:
        self._tokens = tokens
        self._catalog = catalog
        self._clock = clock
        self._disable_account = disable_account
        self._ahead = ahead
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("token refresher pass failed: %s", exc)
            await asyncio.sleep(self._interval_s)

    async def pass_once(self) -> int:
        """Renew what expires soon; returns how many accounts were looked at and due."""
        catalog = self._catalog.current
        due = 0
        for provider in catalog.providers:
            if not provider.is_active or self._tokens.client_for(provider) is None:
                continue  # a provider out of service sends no requests: its tokens can wait
            for account in catalog.accounts_for(provider.id):
                if not self._due(account):
                    continue
                due += 1
                try:
                    await self._tokens.renew_ahead(account, provider, self._ahead)
                except CredentialUnavailable as exc:
                    if exc.failure.disables_account:
                        self._disable_account(exc.account, exc.failure.reason)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the other accounts are still renewed this pass
                    log.warning(
                        "token refresher: account %s not renewed: %s: %s",
                        account.id,
                        type(exc).__name__,
                        exc,
                    )
        return due

    def _due(self, account: Account) -> bool:
        data = account.credential.data
        if account.credential.auth_type is not AuthType.OAUTH or not data.get("refresh_token"):
            return False
        expires = account.expires_at
        return expires is None or expires - self._clock.now() <= self._ahead


class RefreshedToken(msgspec.Struct, frozen=True):
    account_id: str
    expires_at: datetime
    token_cached_until: datetime | None


class TokenAdmin:
    """The operator's token actions: refresh now, forget the cached token."""

    def __init__(
        self,
        tokens: AccessTokens,
        accounts: AccountRepository,
        providers: ProviderRepository,
        disable_account: Callable[[Account, str], None],
    ) -> None:
        self._tokens = tokens
        self._accounts = accounts
        self._providers = providers
        self._disable_account = disable_account

    async def _oauth_account(self, account_id: str) -> tuple[Account, Provider]:
        account = await self._accounts.get(account_id)
        if account.credential.auth_type is not AuthType.OAUTH:
            raise Conflict(
                f"account {account_id!r} holds an API key: only OAuth accounts have tokens"
            )
        return account, await self._providers.get(account.provider_id)

    async def refresh(self, account_id: str) -> RefreshedToken:
        account, provider = await self._oauth_account(account_id)
        if not account.credential.data.get("refresh_token"):  # nothing to refresh with: an
            # operator's request must not disable an account whose access token still works
            raise Conflict(
                f"account {account_id!r} has no refresh token: post new tokens in auth_data"
                " or log in again"
            )
        try:
            token = await self._tokens.renew(account, provider)
        except CredentialUnavailable as exc:
            failure = exc.failure
            if failure.disables_account:
                self._disable_account(exc.account, failure.reason)
            if exc.message is not None:  # a setting or the provider kind: the operator's to fix
                raise Conflict(exc.message) from None
            raise UpstreamRefused(failure.reason) from None
        cached = await self._tokens.cached_until(account)
        return RefreshedToken(account.id, token.expires_at, cached)

    async def forget(self, account_id: str) -> bool:
        account, _ = await self._oauth_account(account_id)
        return await self._tokens.forget(account)

    async def cached_until(self, account: Account) -> datetime | None:
        if account.credential.auth_type is not AuthType.OAUTH:
            return None
        return await self._tokens.cached_until(account)
