"""A proxy's health over checks and calls: down after enough failures in a row, back with
one success, checked again only once its recovery wait is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from aigateway.domain.proxies import (
    HealthPolicy,
    Proxy,
    ProxyHealth,
    after_failure,
    after_success,
    due_for_check,
    parse_proxy_url,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
POLICY = HealthPolicy(failure_threshold=3, recovery=timedelta(minutes=5), latency_weight=0.3)
FRESH = Proxy(id=1, endpoint=parse_proxy_url("http://proxy.example:3128"))


def failed(proxy: Proxy, times: int, at: datetime = NOW) -> Proxy:
    for _ in range(times):
        proxy = after_failure(proxy, at, POLICY)
    return proxy


def test_the_first_success_makes_a_proxy_healthy_with_its_latency() -> None:
    proxy = after_success(FRESH, 120.04, NOW, POLICY)
    assert proxy.health is ProxyHealth.HEALTHY
    assert proxy.latency_ms == 120.0
    assert proxy.last_checked_at == NOW


def test_the_latency_is_a_moving_average_weighted_to_the_newest() -> None:
    proxy = after_success(after_success(FRESH, 100, NOW, POLICY), 200, NOW, POLICY)
    assert proxy.latency_ms == 130.0  # 0.3 * 200 + 0.7 * 100


def test_failures_below_the_threshold_keep_the_health_and_count_up() -> None:
    healthy = after_success(FRESH, 50, NOW, POLICY)
    proxy = failed(healthy, 2)
    assert proxy.health is ProxyHealth.HEALTHY
    assert proxy.consecutive_failures == 2
    assert proxy.marked_down_at is None
    assert failed(FRESH, 2).health is ProxyHealth.UNKNOWN


def test_the_threshold_of_failures_in_a_row_marks_a_proxy_down() -> None:
    proxy = failed(FRESH, 3)
    assert proxy.down and proxy.health is ProxyHealth.DOWN
    assert proxy.marked_down_at == NOW
    assert proxy.last_checked_at == NOW


def test_a_success_between_failures_starts_the_count_again() -> None:
    proxy = after_success(failed(FRESH, 2), 80, NOW, POLICY)
    assert proxy.consecutive_failures == 0
    assert not failed(proxy, 2).down


def test_a_down_proxy_that_fails_its_retry_stays_down_and_waits_again() -> None:
    down = failed(FRESH, 3)
    later = NOW + timedelta(minutes=6)
    retried = after_failure(down, later, POLICY)
    assert retried.down
    assert retried.marked_down_at == later
    assert not due_for_check(retried, later + timedelta(minutes=4), POLICY)
    assert due_for_check(retried, later + timedelta(minutes=5), POLICY)


def test_one_success_brings_a_down_proxy_back() -> None:
    back = after_success(failed(FRESH, 5), 90, NOW + timedelta(minutes=5), POLICY)
    assert back.health is ProxyHealth.HEALTHY
    assert back.consecutive_failures == 0
    assert back.marked_down_at is None


def test_an_active_proxy_that_is_up_is_always_due_for_a_check() -> None:
    assert due_for_check(FRESH, NOW, POLICY)
    assert due_for_check(after_success(FRESH, 10, NOW, POLICY), NOW, POLICY)
    assert due_for_check(failed(FRESH, 2), NOW, POLICY)


def test_a_down_proxy_is_due_only_once_its_recovery_wait_is_over() -> None:
    down = failed(FRESH, 3)
    assert not due_for_check(down, NOW, POLICY)
    assert not due_for_check(down, NOW + timedelta(minutes=4, seconds=59), POLICY)
    assert due_for_check(down, NOW + timedelta(minutes=5), POLICY)


def test_a_disabled_proxy_is_never_checked() -> None:
    disabled = Proxy(id=1, endpoint=FRESH.endpoint, is_active=False)
    assert not due_for_check(disabled, NOW, POLICY)
    assert not due_for_check(failed(disabled, 3), NOW + timedelta(days=1), POLICY)


outcomes = st.lists(st.none() | st.floats(1, 5000), max_size=30)  # None: a failure


@given(outcomes, st.integers(1, 5))
def test_a_proxy_is_down_exactly_when_the_failures_since_its_last_success_reach_the_threshold(
    history: list[float | None], threshold: int
) -> None:
    policy = HealthPolicy(failure_threshold=threshold)
    proxy = FRESH
    for n, latency in enumerate(history):
        at = NOW + timedelta(seconds=n)
        if latency is None:
            proxy = after_failure(proxy, at, policy)
        else:
            proxy = after_success(proxy, latency, at, policy)
    since_success = 0
    for latency in reversed(history):
        if latency is not None:
            break
        since_success += 1
    assert proxy.down == (since_success >= threshold)
    assert proxy.consecutive_failures == since_success
    assert (proxy.marked_down_at is not None) == proxy.down


@given(st.lists(st.floats(1, 5000), min_size=1, max_size=20))
def test_the_moving_latency_stays_within_the_latencies_seen(latencies: list[float]) -> None:
    proxy = FRESH
    for latency in latencies:
        proxy = after_success(proxy, latency, NOW, POLICY)
    assert proxy.latency_ms is not None
    assert round(min(latencies), 1) - 0.1 <= proxy.latency_ms <= round(max(latencies), 1) + 0.1
