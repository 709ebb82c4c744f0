"""Which way an account's calls leave (`route_for`): through its own proxy while that proxy
serves, directly only as `proxy.direct_egress` allows, else no route and a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.domain.proxies import (
    DIRECT,
    DirectEgress,
    NoRoute,
    Proxy,
    ProxyHealth,
    Route,
    parse_proxy_url,
    route_for,
    unreadable_row,
)

ENDPOINT = parse_proxy_url("http://user:pw-SECRET@proxy.example:3128")
HEALTHY = Proxy(id=1, endpoint=ENDPOINT, health=ProxyHealth.HEALTHY)
OTHER = Proxy(id=2, endpoint=parse_proxy_url("socks5://10.0.0.2:1080"))


def pool(*proxies: Proxy) -> dict[int, Proxy]:
    return {p.id: p for p in proxies}


@pytest.mark.parametrize("policy", list(DirectEgress))
def test_a_serving_proxy_carries_the_account_under_every_policy(policy: DirectEgress) -> None:
    route = route_for("acct-1", "openai", 1, pool(HEALTHY, OTHER), policy)
    assert route == Route(1, ENDPOINT)
    assert isinstance(route, Route) and route.endpoint is not None


def test_a_proxy_not_checked_yet_serves_as_well() -> None:
    fresh = Proxy(id=1, endpoint=ENDPOINT)
    assert fresh.health is ProxyHealth.UNKNOWN
    assert route_for("acct-1", "openai", 1, pool(fresh), DirectEgress.NEVER) == Route(1, ENDPOINT)


def test_a_proxy_limited_to_a_provider_serves_that_provider() -> None:
    limited = Proxy(id=1, endpoint=ENDPOINT, providers=("openai", "gemini"))
    route = route_for("acct-1", "gemini", 1, pool(limited), DirectEgress.NEVER)
    assert route == Route(1, ENDPOINT)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (DirectEgress.WHEN_NO_PROXIES, DIRECT),
        (DirectEgress.FALLBACK, DIRECT),
        (DirectEgress.NEVER, NoRoute("no proxy is configured and proxy.direct_egress is never")),
    ],
)
def test_without_any_proxy_calls_go_direct_unless_the_policy_is_never(
    policy: DirectEgress, expected: Route | NoRoute
) -> None:
    assert route_for("acct-1", "openai", None, {}, policy) == expected


UNUSABLE = [
    (None, pool(HEALTHY), "account acct-1 has no proxy assigned"),
    (9, pool(HEALTHY), "proxy 9 of account acct-1 is not in the pool"),  # not known here
    (9, {}, "proxy 9 of account acct-1 is not in the pool"),  # a snapshot older than the proxy
    (9, pool(unreadable_row(9)), "proxy 9 of account acct-1 cannot be read (see /health skipped)"),
    (
        1,
        pool(Proxy(id=1, endpoint=ENDPOINT, is_active=False)),
        "proxy 1 of account acct-1 is disabled",
    ),
    (
        1,
        pool(Proxy(id=1, endpoint=ENDPOINT, health=ProxyHealth.DOWN)),
        "proxy 1 of account acct-1 is down",
    ),
    (
        1,
        pool(Proxy(id=1, endpoint=ENDPOINT, providers=("anthropic",))),
        "proxy 1 of account acct-1 does not serve provider openai",
    ),
]


@pytest.mark.parametrize(("proxy_id", "proxies", "reason"), UNUSABLE)
@pytest.mark.parametrize("policy", [DirectEgress.WHEN_NO_PROXIES, DirectEgress.NEVER])
def test_an_account_whose_proxy_cannot_serve_gets_no_route_and_the_reason(
    proxy_id: int | None, proxies: dict[int, Proxy], reason: str, policy: DirectEgress
) -> None:
    route = route_for("acct-1", "openai", proxy_id, proxies, policy)
    assert route == NoRoute(reason)
    assert isinstance(route, NoRoute) and "SECRET" not in route.reason


@pytest.mark.parametrize(("proxy_id", "proxies", "reason"), UNUSABLE)
def test_fallback_sends_an_account_whose_proxy_cannot_serve_direct(
    proxy_id: int | None, proxies: dict[int, Proxy], reason: str
) -> None:
    assert route_for("acct-1", "openai", proxy_id, proxies, DirectEgress.FALLBACK) == DIRECT


def test_the_policy_is_read_from_its_setting_values() -> None:
    assert [DirectEgress(v) for v in ("when_no_proxies", "never", "fallback")] == [
        DirectEgress.WHEN_NO_PROXIES,
        DirectEgress.NEVER,
        DirectEgress.FALLBACK,
    ]


proxies_ = st.lists(
    st.builds(
        Proxy,
        id=st.integers(1, 5),
        endpoint=st.just(ENDPOINT),
        is_active=st.booleans(),
        health=st.sampled_from(ProxyHealth),
        providers=st.sampled_from([(), ("openai",), ("anthropic",)]),
    ),
    max_size=4,
    unique_by=lambda p: p.id,
).map(lambda rows: pool(*rows))


@given(
    proxies=proxies_,
    proxy_id=st.none() | st.integers(1, 6),
    provider=st.sampled_from(["openai", "anthropic"]),
    policy=st.sampled_from(DirectEgress),
)
def test_a_call_never_leaves_through_a_proxy_other_than_the_accounts_own(
    proxies: dict[int, Proxy], proxy_id: int | None, provider: str, policy: DirectEgress
) -> None:
    route = route_for("acct-1", provider, proxy_id, proxies, policy)
    own = proxies.get(proxy_id) if proxy_id is not None else None
    serves = own is not None and own.is_active and not own.down and own.serves(provider)
    if serves:
        assert route == Route(proxy_id, ENDPOINT)
    elif route == DIRECT:
        assert policy is DirectEgress.FALLBACK or (
            not proxies and policy is DirectEgress.WHEN_NO_PROXIES
        )
    else:
        assert isinstance(route, NoRoute)
