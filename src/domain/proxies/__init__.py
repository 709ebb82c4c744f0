"""The outbound proxy pool: proxies, their assignment to accounts, routes and health."""

from aigateway.domain.proxies.assignment import Seat, assign
from aigateway.domain.proxies.egress import DirectEgress, NoRoute, route_for
from aigateway.domain.proxies.health import (
    HealthPolicy,
    after_failure,
    after_success,
    due_for_check,
)
from aigateway.domain.proxies.model import (
    DIRECT,
    InvalidProxyUrl,
    Proxy,
    ProxyEndpoint,
    ProxyHealth,
    ProxyProtocol,
    Route,
    parse_proxy_url,
    unreadable_row,
)

__all__ = [
    "DIRECT",
    "DirectEgress",
    "HealthPolicy",
    "InvalidProxyUrl",
    "NoRoute",
    "Proxy",
    "ProxyEndpoint",
    "ProxyHealth",
    "ProxyProtocol",
    "Route",
    "Seat",
    "after_failure",
    "after_success",
    "assign",
    "due_for_check",
    "parse_proxy_url",
    "route_for",
    "unreadable_row",
]
