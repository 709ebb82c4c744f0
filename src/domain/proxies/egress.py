"""Which route an account's calls take: its assigned proxy, and when (if ever) direct."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import msgspec

from aigateway.domain.proxies.model import DIRECT, Proxy, Route


class DirectEgress(enum.StrEnum):
    """When a call may leave from the gateway's own address (`proxy.direct_egress`)."""

    WHEN_NO_PROXIES = "when_no_proxies"  # only while the proxy pool is empty (the default)
    NEVER = "never"  # never, even without any proxy
    FALLBACK = "fallback"  # also for an account whose proxy is missing, disabled or down


class NoRoute(msgspec.Struct, frozen=True):
    """The account has no way out now; `reason` says why (for the operator and the 503)."""

    reason: str


def route_for(
    account_id: str,
    provider_id: str,
    proxy_id: int | None,
    proxies: Mapping[int, Proxy],
    policy: DirectEgress,
) -> Route | NoRoute:
    """The account's route. A proxy serves while it is active, not down, and allowed for the
    provider; the account is then sent through it and nowhere else. An account that names a
    proxy never goes direct because of it, even while that proxy is unknown here."""
    if not proxies and proxy_id is None:
        if policy is DirectEgress.NEVER:
            return NoRoute("no proxy is configured and proxy.direct_egress is never")
        return DIRECT
    proxy = proxies.get(proxy_id) if proxy_id is not None else None
    if proxy_id is None:
        reason = f"account {account_id} has no proxy assigned"
    elif proxy is None:
        reason = f"proxy {proxy_id} of account {account_id} is not in the pool"
    elif not proxy.readable:
        reason = f"proxy {proxy.id} of account {account_id} cannot be read (see /health skipped)"
    elif not proxy.is_active:
        reason = f"proxy {proxy.id} of account {account_id} is disabled"
    elif proxy.down:
        reason = f"proxy {proxy.id} of account {account_id} is down"
    elif not proxy.serves(provider_id):
        reason = f"proxy {proxy.id} of account {account_id} does not serve provider {provider_id}"
    else:
        return Route(proxy.id, proxy.endpoint)
    if policy is DirectEgress.FALLBACK:
        return DIRECT
    return NoRoute(reason)
