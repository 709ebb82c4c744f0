"""The Cloud Code project of a Google account: `loadCodeAssist`, else `onboardUser` with the
default tier, polled until done. There is no fallback project: a failure is an error that says
what happened (a made-up project only moves the failure to every request)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aigateway.adapters.upstream.cloud_code.calls import CallFailed, call, client_version
from aigateway.application.ports.onboarding import DiscoveryFailed
from aigateway.application.ports.upstream import Upstream
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route

DEFAULT_TIER = "free-tier"


def project_of(value: Any) -> str | None:
    """`cloudaicompanionProject`: a string, or an object with an `id`."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value.strip() else None


def default_tier(load: dict[str, Any]) -> str:
    """The allowed tier marked default, else the current tier, else the free tier."""
    allowed = load.get("allowedTiers")
    if isinstance(allowed, list):
        for tier in allowed:
            if isinstance(tier, dict) and tier.get("isDefault") and isinstance(tier.get("id"), str):
                return str(tier["id"])
    current = load.get("currentTier")
    if isinstance(current, dict) and isinstance(current.get("id"), str) and current["id"]:
        return str(current["id"])
    return DEFAULT_TIER


class CloudCodeDiscovery:
    """`ProjectDiscovery` over the provider's base URLs. `onboardUser` is asked at most
    `attempts` times, `interval_s` apart, within `deadline_s` overall."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        attempts: int = 5,
        interval_s: float = 2.0,
        deadline_s: float = 60.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._upstream = upstream
        self._attempts = attempts
        self._interval_s = interval_s
        self._deadline_s = deadline_s
        self._timeout_s = timeout_s
        self._sleep = sleep

    async def discover(self, provider: Provider, access_token: str, route: Route) -> str:
        try:
            async with asyncio.timeout(self._deadline_s):
                return await self._discover(provider, access_token, route)
        except CallFailed as exc:
            raise DiscoveryFailed(f"project discovery failed: {exc}") from None
        except TimeoutError:
            raise DiscoveryFailed(
                f"project discovery did not finish within {self._deadline_s:g} s"
            ) from None

    async def _discover(self, provider: Provider, token: str, route: Route) -> str:
        load = await call(
            self._upstream,
            provider,
            token,
            "loadCodeAssist",
            {"metadata": {"ideType": "ANTIGRAVITY"}},
            route=route,
            timeout_s=self._timeout_s,
        )
        found = project_of(load.get("cloudaicompanionProject"))
        if found is not None:
            return found
        tier = default_tier(load)
        body = {
            "tier_id": tier,
            "metadata": {
                "ide_type": "ANTIGRAVITY",
                "ide_version": client_version(provider),
                "ide_name": "antigravity",
            },
        }
        for attempt in range(self._attempts):
            if attempt:
                await self._sleep(self._interval_s)
            answer = await call(
                self._upstream,
                provider,
                token,
                "onboardUser",
                body,
                route=route,
                timeout_s=self._timeout_s,
            )
            if answer.get("done") is True:
                response = answer.get("response")
                project = project_of(
                    response.get("cloudaicompanionProject") if isinstance(response, dict) else None
                )
                if project is None:
                    raise DiscoveryFailed(
                        f"onboardUser ({tier}) finished without a project for this account"
                    )
                return project
        raise DiscoveryFailed(
            f"onboardUser ({tier}) was still not done after {self._attempts} attempts; "
            "try the login again later, or give the project as auth_data.project_id"
        )
