"""The models Antigravity accounts report (`fetchAvailableModels`), for `/v1/models` and the
quota view.

`/v1/models` never waits on the network: it lists what the last fetch of each account
reported. A background task (`watch`) fetches every account whose report is older than
`ttl_s`, one account at a time with a timeout, at start-up and then every `interval_s`;
the quota view fetches live and refreshes the stored report on the way. Reports are kept for
accounts still in the catalog only, so the store is bounded by the number of accounts.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.repositories import AccountRepository, ProviderRepository
from aigateway.application.ports.upstream import UpstreamUnavailable
from aigateway.application.ports.upstream_models import (
    ModelsReport,
    ModelsSource,
    ModelsUnavailable,
)
from aigateway.application.use_cases.access_tokens import AccessTokens, CredentialUnavailable
from aigateway.application.use_cases.admin_failures import AdminActionFailed
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.projects import AccountProjects
from aigateway.domain.accounts import Account
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import NoRoute

log = logging.getLogger(__name__)


class _Stored(msgspec.Struct, frozen=True):
    provider_id: str
    fetched_at: float  # monotonic
    report: ModelsReport
    ids: frozenset[str]  # the report's model ids, for lookups on the request path


class AccountModels:
    def __init__(
        self,
        source: ModelsSource,
        projects: AccountProjects,
        tokens: AccessTokens,
        catalog: CatalogCache,
        accounts: AccountRepository,
        providers: ProviderRepository,
        clock: Clock,
        *,
        ttl_s: float = 600.0,
        interval_s: float = 60.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._source = source
        self._projects = projects
        self._tokens = tokens
        self._catalog = catalog
        self._accounts = accounts
        self._providers = providers
        self._clock = clock
        self._ttl_s = ttl_s
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._reports: dict[str, _Stored] = {}  # account id -> its last report

    def listed(self, provider_id: str) -> tuple[str, ...]:
        """The models the provider's accounts reported (union, in id order); no I/O."""
        found: set[str] = set()
        for stored in self._reports.values():
            if stored.provider_id == provider_id:
                found.update(stored.ids)
        return tuple(sorted(found))

    def lists(self, account_id: str, model: str) -> bool:
        """`ModelListing`: the account's last report lists `model`; no I/O."""
        stored = self._reports.get(account_id)
        return stored is not None and model in stored.ids

    async def quota(self, account_id: str) -> ModelsReport:
        """What upstream reports for the account now (404 unknown, 409 not Antigravity, 502
        when upstream does not answer)."""
        account = await self._accounts.get(account_id)
        provider = await self._providers.get(account.provider_id)
        if provider.kind is not ProviderKind.ANTIGRAVITY:
            raise AdminActionFailed(
                409,
                "not_antigravity",
                f"quota is reported for antigravity accounts; {account.provider_id} is of kind "
                f"{provider.kind.value}",
            )
        try:
            return await self._fetch(provider, account)
        except (ModelsUnavailable, UpstreamUnavailable, CredentialUnavailable) as exc:
            raise AdminActionFailed(502, "upstream_unavailable", str(exc)) from None
        except TimeoutError:
            raise AdminActionFailed(
                502,
                "upstream_unavailable",
                f"fetchAvailableModels did not answer within {self._timeout_s:g} s",
            ) from None

    async def _fetch(self, provider: Provider, account: Account) -> ModelsReport:
        route = self._catalog.route_for(account)
        if isinstance(route, NoRoute):
            raise ModelsUnavailable(route.reason)
        async with asyncio.timeout(self._timeout_s):
            secret = await self._tokens.secret_for(account, provider)
            project = await self._projects.project_for(account, provider, secret, route)
            report = await self._source.fetch(provider, secret, project, route)
        stored = _Stored(provider.id, self._clock.monotonic(), report, frozenset(report.ids()))
        self._reports[account.id] = stored
        return report

    async def refresh(self) -> None:
        """Fetch every Antigravity account whose report is missing or older than `ttl_s`."""
        catalog = self._catalog.current
        live: set[str] = set()
        for provider in catalog.providers:
            if provider.kind is not ProviderKind.ANTIGRAVITY or not provider.is_active:
                continue
            for account in catalog.accounts_for(provider.id):
                live.add(account.id)
                stored = self._reports.get(account.id)
                if stored is not None and self._clock.monotonic() - stored.fetched_at < self._ttl_s:
                    continue
                try:
                    await self._fetch(provider, account)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # keeps the last report; tried again next round
                    log.warning("models of account %s not fetched: %s", account.id, exc)
        for account_id in [a for a in self._reports if a not in live]:
            del self._reports[account_id]

    async def watch(self) -> None:
        """Background task: `refresh` now and every `interval_s`; never dies on an error."""
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("model reports not refreshed: %s", exc)
            await asyncio.sleep(self._interval_s)
