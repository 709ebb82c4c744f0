"""dishka provider of the proxy pool's operator use cases: assignments and the admin actions."""

from __future__ import annotations

from datetime import timedelta

from dishka import Provider, Scope, provide

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.ports.upstream import Upstream
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.egress import NewAccountRoutes
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.proxies_admin import ProxiesAdmin
from aigateway.application.use_cases.proxy_assignments import ProxyAssignments
from aigateway.application.use_cases.proxy_health import ProxyMonitor
from aigateway.domain.proxies import HealthPolicy
from aigateway.entrypoints.ioc.settings import Settings


def health_policy(settings: Settings) -> HealthPolicy:
    return HealthPolicy(
        failure_threshold=settings.proxy.failure_threshold,
        recovery=timedelta(seconds=settings.proxy.recovery_s),
    )


class ProxiesProvider(Provider):
    scope = Scope.APP

    @provide
    def assignments(self, uow: UnitOfWorkFactory) -> ProxyAssignments:
        return ProxyAssignments(uow)

    @provide
    def proxies_admin(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        monitor: ProxyMonitor,
        assignments: ProxyAssignments,
    ) -> ProxiesAdmin:
        return ProxiesAdmin(uow, clock, monitor, assignments)

    @provide
    def proxy_monitor(
        self,
        catalog: CatalogCache,
        uow: UnitOfWorkFactory,
        upstream: Upstream,
        clock: Clock,
        notices: OperatorNotices,
        settings: Settings,
    ) -> ProxyMonitor:
        proxy = settings.proxy
        return ProxyMonitor(
            catalog,
            uow,
            upstream,
            clock,
            notices,
            policy=health_policy(settings),
            check_url=proxy.health_check_url,
            check_timeout_s=proxy.check_timeout_s,
            interval_s=proxy.health_check_interval_s,
        )

    @provide
    def new_account_routes(
        self, uow: UnitOfWorkFactory, assignments: ProxyAssignments, catalog: CatalogCache
    ) -> NewAccountRoutes:
        return NewAccountRoutes(uow, assignments, catalog)
