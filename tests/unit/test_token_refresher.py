"""The background token refresher on the production use case: one account's unexpected failure
does not starve the others, and providers taken out of service are left alone."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import msgspec
import pytest

from aigateway.application.ports.oauth import OAuthClient, TokenGrant
from aigateway.application.use_cases.token_upkeep import TokenRefresher
from aigateway.domain.accounts import Account
from aigateway.domain.proxies import Route
from tests.unit.chat_world import ScriptedTokenEndpoint, World


class FirstCallBreaks(ScriptedTokenEndpoint):
    """The first refresh raises what no token endpoint adapter is meant to (a bug, an odd
    library error); the following ones answer."""

    async def refresh(
        self, client: OAuthClient, refresh_token: str, now: datetime, route: Route
    ) -> TokenGrant:
        if not self.calls:
            self.calls.append(refresh_token)
            raise ValueError("an unexpected failure")
        return await super().refresh(client, refresh_token, now, route)


def refresher(world: World) -> tuple[TokenRefresher, list[tuple[Account, str]]]:
    disabled: list[tuple[Account, str]] = []
    return TokenRefresher(
        world.tokens,
        world.catalog,
        world.clock,
        lambda account, reason: disabled.append((account, reason)),
        ahead=timedelta(minutes=15),
        interval_s=60,
    ), disabled


async def test_one_accounts_unexpected_failure_does_not_stop_the_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World()
    endpoint = FirstCallBreaks()
    world.tokens._endpoint = endpoint  # the production use case, with this endpoint
    for index in range(3):
        await world.add_oauth_account(f"at-old-{index}", f"rt-{index}", world.clock.now())
    await world.catalog.reload()
    task, _ = refresher(world)
    with caplog.at_level(logging.WARNING):
        due = await task.pass_once()
    assert due == 3
    assert len(endpoint.calls) == 3  # the two other accounts were renewed in the same pass
    stored = [a.credential.data["access_token"] for a in await world.accounts.list()]
    assert sorted(t for t in stored if t.startswith("at-fresh-")) == ["at-fresh-2", "at-fresh-3"]
    assert "an unexpected failure" in caplog.text


async def test_accounts_of_an_inactive_provider_are_not_refreshed() -> None:
    world = World()
    await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    provider = await world.providers.get("anthropic")
    async with world.uow() as tx:
        await tx.providers.update(msgspec.structs.replace(provider, is_active=False))
    await world.catalog.reload()
    task, _ = refresher(world)
    assert await task.pass_once() == 0
    assert world.token_endpoint.calls == []
