"""The operator's token actions: clear 4xx/503-class errors (never a 500 on the admin API),
and never a disable the operator did not ask for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aigateway.adapters.memory.tokens import InMemoryRefreshLock, InMemoryTokenCache
from aigateway.application.ports.repositories import Conflict, StoreUnavailable
from aigateway.application.use_cases.access_tokens import AccessTokens
from aigateway.application.use_cases.token_upkeep import TokenAdmin
from aigateway.domain.providers import ProviderKind
from tests.unit.chat_world import ANTHROPIC_CLIENT, World


class AwayTokenCache(InMemoryTokenCache):
    """A shared token cache whose server went away (what redis-py raises)."""

    async def delete(self, provider_id: str, account_id: str) -> bool:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379")


async def test_forgetting_a_token_while_the_cache_is_away_is_store_unavailable() -> None:
    world = World()
    account = await world.add_oauth_account("at-1", "rt-1", world.clock.now() + timedelta(hours=1))
    tokens = AccessTokens(
        {ProviderKind.ANTHROPIC: ANTHROPIC_CLIENT},
        world.token_endpoint,
        AwayTokenCache(world.clock),
        InMemoryRefreshLock(world.clock),
        world.accounts,
        world.uow,
        world.clock,
        world.notices,
        world.catalog.route_for,
    )
    admin = TokenAdmin(tokens, world.accounts, world.providers, lambda *_: None)
    with pytest.raises(StoreUnavailable, match="token cache"):
        await admin.forget(account.id)


async def test_refreshing_an_account_without_a_refresh_token_is_a_conflict_and_keeps_it() -> None:
    world = World()
    account = await world.add_oauth_account("at-1", None, world.clock.now() + timedelta(hours=1))
    disabled: list[str] = []
    admin = TokenAdmin(
        world.tokens, world.accounts, world.providers, lambda a, _: disabled.append(a.id)
    )
    with pytest.raises(Conflict, match="no refresh token"):
        await admin.refresh(account.id)
    assert disabled == []
    assert (await world.accounts.get(account.id)).usable
