"""The route of an account that does not exist yet (an OAuth login about to create it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.domain.proxies import NoRoute, Route

ProxyChooser = Callable[[str], Awaitable[int | None]]
"""The proxy a new account of a provider gets (None: none has room), by the assignment rule."""


class NewAccountRoutes:
    def __init__(self, choose: ProxyChooser, catalog: CatalogCache) -> None:
        self._choose = choose
        self._catalog = catalog

    async def for_new_account(self, provider_id: str) -> tuple[int | None, Route | NoRoute]:
        proxy_id = await self._choose(provider_id)
        route = self._catalog.current.route_through(provider_id, proxy_id, "the new account")
        return proxy_id, route
