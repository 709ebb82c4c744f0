"""A proxy's health: passive reports from live calls, active checks in the background."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from aigateway.domain.proxies.model import Proxy, ProxyHealth


class HealthPolicy(msgspec.Struct, frozen=True, kw_only=True):
    failure_threshold: int = 3  # consecutive failures that mark a proxy down
    recovery: timedelta = timedelta(minutes=5)  # a down proxy is checked again after this
    latency_weight: float = 0.3  # weight of the newest latency in the moving average


def after_success(proxy: Proxy, latency_ms: float, now: datetime, policy: HealthPolicy) -> Proxy:
    """A check (or call) through the proxy succeeded: healthy, the moving latency updated."""
    if proxy.latency_ms is None:
        latency = latency_ms
    else:
        weight = policy.latency_weight
        latency = weight * latency_ms + (1 - weight) * proxy.latency_ms
    return msgspec.structs.replace(
        proxy,
        health=ProxyHealth.HEALTHY,
        consecutive_failures=0,
        latency_ms=round(latency, 1),
        last_checked_at=now,
        marked_down_at=None,
    )


def after_failure(proxy: Proxy, now: datetime, policy: HealthPolicy) -> Proxy:
    """A connect failure or timeout through the proxy: one more in a row; down at the
    threshold (a down proxy that fails its retry stays down, its recovery wait restarts)."""
    failures = proxy.consecutive_failures + 1
    down = proxy.down or failures >= policy.failure_threshold
    return msgspec.structs.replace(
        proxy,
        health=ProxyHealth.DOWN if down else proxy.health,
        consecutive_failures=failures,
        last_checked_at=now,
        marked_down_at=now if down else None,
    )


def due_for_check(proxy: Proxy, now: datetime, policy: HealthPolicy) -> bool:
    """Active checks look at every active proxy; a down one only once its recovery wait is over."""
    if not proxy.is_active:
        return False
    if proxy.down and proxy.marked_down_at is not None:
        return now - proxy.marked_down_at >= policy.recovery
    return True
