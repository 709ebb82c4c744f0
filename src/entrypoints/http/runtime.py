"""The services the HTTP layer uses, typed, resolved once from the container at start-up.

The app's lifespan fills one `Runtime`; the gateway routes close over it, and the admin and
health handlers read it through `runtime_of` (the only thing kept in the app's state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection

from aigateway.application.use_cases.admin import AccountsAdmin, ClientKeysAdmin, ProvidersAdmin
from aigateway.application.use_cases.bootstrap import AdminAuth
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.onboarding import Onboarding
from aigateway.application.use_cases.proxies_admin import ProxiesAdmin
from aigateway.application.use_cases.proxy_chat import ProxyChat
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.application.use_cases.token_counting import TokenCounting
from aigateway.application.use_cases.token_upkeep import TokenAdmin
from aigateway.application.use_cases.upstream_models import AccountModels
from aigateway.entrypoints.ioc.providers import HealthChecks
from aigateway.entrypoints.ioc.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    started_at: float  # epoch seconds
    proxy_chat: ProxyChat
    token_counting: TokenCounting
    catalog: CatalogCache
    logs: RequestLogQueue
    admin_auth: AdminAuth
    providers_admin: ProvidersAdmin
    accounts_admin: AccountsAdmin
    keys_admin: ClientKeysAdmin
    proxies_admin: ProxiesAdmin
    health_checks: HealthChecks
    notices: OperatorNotices
    onboarding: Onboarding
    upstream_models: AccountModels
    token_admin: TokenAdmin


class Runtime:
    """Filled by the app's lifespan before the first request is served."""

    __slots__ = ("_services",)

    def __init__(self) -> None:
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the gateway has not started")
        return self._services

    def start(self, services: Services) -> None:
        self._services = services


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    runtime: Runtime = connection.app.state.runtime
    return runtime.services
