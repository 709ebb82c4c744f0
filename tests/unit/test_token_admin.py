"""The operator's token actions while the shared token cache is away: a clear 503-class error
(StoreUnavailable), never an unexpected exception (a 500 on the admin API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aigateway.adapters.memory.tokens import InMemoryRefreshLock, InMemoryTokenCache
from aigateway.application.ports.repositories import StoreUnavailable
from aigateway.application.use_cases.access_tokens import AccessTokens, TokenAdmin
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
    )
    admin = TokenAdmin(tokens, world.accounts, world.providers, lambda *_: None)
    with pytest.raises(StoreUnavailable, match="token cache"):
        await admin.forget(account.id)
