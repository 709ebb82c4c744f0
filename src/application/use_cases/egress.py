"""The route of an account that an OAuth login is about to add (its code exchange, e-mail and
project lookups leave through the proxy the account will keep)."""

from __future__ import annotations

from aigateway.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.proxy_assignments import ProxyAssignments
from aigateway.domain.accounts import Account
from aigateway.domain.proxies import NoRoute, Route

NEW_ACCOUNT = "~new"  # stands for the account about to be added (sorts after uuids)


class NewAccountRoutes:
    def __init__(
        self, uow: UnitOfWorkFactory, assignments: ProxyAssignments, catalog: CatalogCache
    ) -> None:
        self._uow = uow
        self._assignments = assignments
        self._catalog = catalog

    async def for_new_account(self, provider_id: str) -> tuple[int | None, Route | NoRoute]:
        async with self._uow() as tx:  # reads only: the login adds the account at its end
            proxy_id = await self._assignments.proxy_for_new_account(tx, provider_id, NEW_ACCOUNT)
        route = self._catalog.current.route_through(provider_id, proxy_id, "the new account")
        return proxy_id, route

    async def place(self, tx: UnitOfWork, provider_id: str, account_id: str) -> int | None:
        return await self._assignments.proxy_for_new_account(tx, provider_id, account_id)

    def route_of(self, account: Account) -> Route | NoRoute:
        return self._catalog.route_for(account)
