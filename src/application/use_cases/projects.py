"""The Cloud Code project of each Antigravity account, as requests need it.

The operator-given `auth_data.project_id` wins. Without one, the project is discovered once
per account (one discovery at a time per account, whoever asks), written into the account's
auth_data (one unit of work, which announces the catalog change) and kept in process memory.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from aigateway.application.ports.onboarding import DiscoveryFailed, ProjectDiscovery
from aigateway.application.ports.repositories import NotFound
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.ports.upstream import UpstreamUnavailable
from aigateway.domain.accounts import Account, Credential
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route

log = logging.getLogger(__name__)

MAX_CACHED_PROJECTS = 10_000


def given_project(account: Account) -> str | None:
    value = account.credential.data.get("project_id")
    return value.strip() if isinstance(value, str) and value.strip() else None


class AccountProjects:
    """The request-time project source of the Antigravity executor."""

    def __init__(
        self,
        discovery: ProjectDiscovery,
        uow: UnitOfWorkFactory,
        *,
        max_cached: int = MAX_CACHED_PROJECTS,
    ) -> None:
        self._discovery = discovery
        self._uow = uow
        self._max_cached = max_cached
        self._known: dict[str, str] = {}  # account id -> discovered project
        self._finding: dict[str, asyncio.Future[str]] = {}

    async def project_for(
        self, account: Account, provider: Provider, secret: str, route: Route
    ) -> str:
        """The account's project; raises UpstreamUnavailable (a failed attempt, saying why)
        when it has none and none is found."""
        given = given_project(account)
        if given is not None:
            return given
        known = self._known.get(account.id)
        if known is not None:
            return known
        finding = self._finding.get(account.id)
        if finding is None:
            finding = asyncio.ensure_future(self._find(account, provider, secret, route))
            self._finding[account.id] = finding
            finding.add_done_callback(lambda _: self._finding.pop(account.id, None))
        return await asyncio.shield(finding)

    async def _find(self, account: Account, provider: Provider, secret: str, route: Route) -> str:
        try:
            project = await self._discovery.discover(provider, secret, route)
        except DiscoveryFailed as exc:
            raise UpstreamUnavailable(f"antigravity account {account.id}: {exc}") from None
        if len(self._known) >= self._max_cached:
            del self._known[next(iter(self._known))]
        self._known[account.id] = project
        try:
            await self.remember(account.id, project)
        except Exception as exc:  # the request goes on; the next process discovers it again
            log.warning("project of account %s not saved: %s", account.id, exc)
        return project

    async def remember(self, account_id: str, project: str) -> None:
        """Write `project` into the account's auth_data unless it has one by now."""
        async with self._uow() as tx:
            try:
                current = await tx.accounts.get(account_id)
            except NotFound:
                return
            if given_project(current) is not None:
                return
            credential = Credential(
                auth_type=current.credential.auth_type,
                data={**current.credential.data, "project_id": project},
            )
            await tx.accounts.update(msgspec.structs.replace(current, credential=credential))
