"""Proxy rows for tests of the pure proxy rules (assignment, routes, health)."""

from aigateway.domain.proxies import Proxy, ProxyEndpoint, ProxyHealth, ProxyProtocol

ENDPOINT = ProxyEndpoint(protocol=ProxyProtocol.HTTP, host="10.0.0.1", port=3128)


def proxy(
    proxy_id: int,
    *,
    priority: int = 0,
    max_accounts: int = 0,
    is_active: bool = True,
    health: ProxyHealth = ProxyHealth.UNKNOWN,
    providers: tuple[str, ...] = (),
) -> Proxy:
    return Proxy(
        id=proxy_id,
        endpoint=ENDPOINT,
        priority=priority,
        max_accounts=max_accounts,
        is_active=is_active,
        health=health,
        providers=providers,
    )
