"""The services the HTTP layer uses, typed, resolved once from the container at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.proxy_chat import ProxyChat


@dataclass
class GatewayServices:
    proxy_chat: ProxyChat
    catalog: CatalogCache
    max_body_bytes: int
    started_at: float  # epoch seconds


class Runtime:
    """Filled by the app's lifespan before the first request is served."""

    __slots__ = ("_gateway",)

    def __init__(self) -> None:
        self._gateway: GatewayServices | None = None

    @property
    def gateway(self) -> GatewayServices:
        if self._gateway is None:
            raise RuntimeError("the gateway has not started")
        return self._gateway

    @gateway.setter
    def gateway(self, services: GatewayServices) -> None:
        self._gateway = services
