"""dishka provider of the proxy pool's operator use cases: assignments and the admin actions."""

from __future__ import annotations

from datetime import timedelta

from dishka import Provider, Scope, provide

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.ports.upstream import Upstream
from aigateway.application.use_cases.proxies_admin import ProxiesAdmin, ProxyTesting
from aigateway.application.use_cases.proxy_assignments import ProxyAssignments
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
        upstream: Upstream,
        assignments: ProxyAssignments,
        settings: Settings,
    ) -> ProxiesAdmin:
        testing = ProxyTesting(
            default_url=settings.proxy.health_check_url,
            timeout_s=settings.proxy.check_timeout_s,
            policy=health_policy(settings),
        )
        return ProxiesAdmin(uow, clock, upstream, testing, assignments)
