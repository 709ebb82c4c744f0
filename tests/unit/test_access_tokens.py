"""OAuth accounts on the hot path, with the in-process cache and lock and a scripted token
endpoint: when a refresh happens, how often, what is stored, and what a failure does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pytest

from aigateway.application.errors import GatewayError
from aigateway.application.ports.oauth import TokenEndpointError
from aigateway.application.use_cases.access_tokens import CredentialUnavailable
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.routing.eligibility import Cooldown
from tests.unit.chat_world import ANTHROPIC_CLIENT, World, chat

REVOKED = b'{"error":"invalid_grant","error_description":"Token has been expired or revoked."}'
UNAUTHORIZED: tuple[int, bytes, dict[str, str]] = (
    401,
    b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
    {},
)


async def test_a_valid_stored_token_is_used_without_a_refresh_or_settings() -> None:
    world = World(oauth_client=None)  # no OAuth client configured at all
    await world.add_oauth_account("at-still-good", "rt-1", world.clock.now() + timedelta(hours=1))
    await world.catalog.reload()
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat("claude-x"), client)
    assert result.status == 200
    assert world.upstream.keys == ["at-still-good"]
    assert world.token_endpoint.calls == []


async def test_concurrent_requests_on_an_expired_token_refresh_once() -> None:
    world = World()
    gate = world.token_endpoint.gate = asyncio.Event()
    account = await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    await world.catalog.reload()
    provider = await world.providers.get("anthropic")
    waiting = [asyncio.ensure_future(world.tokens.secret_for(account, provider)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    secrets = await asyncio.gather(*waiting)
    assert set(secrets) == {"at-fresh-1"}
    assert world.token_endpoint.calls == ["rt-1"]
    # stored with the account (the catalog was told), cached for its lifetime minus the skew
    (stored,) = world.catalog.current.accounts_for("anthropic")
    assert stored.credential.data["access_token"] == "at-fresh-1"
    assert stored.expires_at == world.clock.now() + timedelta(hours=1)
    assert await world.token_cache.ttl("anthropic", account.id) == timedelta(minutes=55)
    # the process cache answers until the skew; then one more refresh
    assert await world.tokens.secret_for(stored, provider) == "at-fresh-1"
    world.clock.t += 3600 - 300
    assert await world.tokens.secret_for(stored, provider) == "at-fresh-2"
    assert len(world.token_endpoint.calls) == 2


async def test_a_rotated_refresh_token_is_stored_and_keeps_the_cooldowns() -> None:
    world = World()
    world.token_endpoint.rotate = True
    account = await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    await world.catalog.reload()
    cooldown = Cooldown(
        account_id=account.id, model="claude-y", until=world.clock.now() + timedelta(hours=1)
    )
    await world.rotation.cool_down("anthropic", cooldown)
    provider = await world.providers.get("anthropic")
    assert await world.tokens.secret_for(account, provider) == "at-fresh-1"
    stored = await world.accounts.get(account.id)
    assert stored.credential.data["refresh_token"] == "rt-rotated-1"
    assert await world.rotation.cooldowns("anthropic", account.id, world.clock.now()) == [cooldown]
    # an attempt that still holds the old credential is not "replaced by the operator"
    assert not world.catalog.current.holds(account)
    assert world.catalog.current.holds(world.tokens.current(account))
    # the next refresh uses the rotated token
    world.clock.t += 3600
    assert await world.tokens.secret_for(stored, provider) == "at-fresh-2"
    assert world.token_endpoint.calls == ["rt-1", "rt-rotated-1"]


async def test_an_upstream_401_refreshes_once_and_retries_the_same_account() -> None:
    world = World()
    await world.add_oauth_account("at-old", "rt-1", world.clock.now() + timedelta(hours=1))
    await world.add_accounts("sk-other", provider_id="anthropic")
    await world.catalog.reload()
    world.upstream.script["at-old"] = UNAUTHORIZED
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat("claude-x"), client)
    assert result.status == 200
    oauth_keys = [k for k in world.upstream.keys if k != "sk-other"]
    assert oauth_keys == ["at-old", "at-fresh-1"]
    assert world.token_endpoint.calls == ["rt-1"]


async def test_a_fresh_token_refused_too_is_not_refreshed_again() -> None:
    world = World()
    await world.add_oauth_account("at-old", "rt-1", world.clock.now() + timedelta(hours=1))
    await world.catalog.reload()
    world.upstream.script["at-old"] = UNAUTHORIZED
    world.upstream.script["at-fresh-1"] = UNAUTHORIZED
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat("claude-x"), client)
    assert result.status == 401
    assert world.upstream.keys == ["at-old", "at-fresh-1"]
    assert world.token_endpoint.calls == ["rt-1"]


async def test_a_revoked_refresh_token_disables_and_the_request_moves_on() -> None:
    world = World()
    await world.add_oauth_account("at-old", "rt-dead", world.clock.now(), label="dead")
    await world.add_accounts("sk-alive", provider_id="anthropic")
    await world.catalog.reload()
    world.token_endpoint.error = TokenEndpointError("refused", status=400, body=REVOKED)
    client = world.proxy.authenticate(await world.client())
    for _ in range(2):  # whichever account the rotation starts with
        result = await world.proxy.start(chat("claude-x"), client)
        assert result.status == 200
    assert set(world.upstream.keys) == {"sk-alive"}
    ((disabled, reason),) = world.disabled
    assert disabled.label == "dead"
    assert "revoked" in reason and "re-authorise" in reason


async def test_a_down_token_endpoint_cools_the_account_briefly() -> None:
    world = World()
    account = await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    await world.add_accounts("sk-alive", provider_id="anthropic")
    await world.catalog.reload()
    world.token_endpoint.error = TokenEndpointError("down", kind=NetworkErrorKind.CONNECT)
    client = world.proxy.authenticate(await world.client())
    for _ in range(2):
        assert (await world.proxy.start(chat("claude-x"), client)).status == 200
    assert world.disabled == []
    (cooldown,) = await world.rotation.cooldowns("anthropic", account.id, world.clock.now())
    assert cooldown.model is None  # the whole account
    assert cooldown.until - world.clock.now() <= timedelta(minutes=5)
    assert "token refresh network" in cooldown.reason


async def test_a_missing_client_id_is_named_to_the_client_and_in_the_notices() -> None:
    world = World(oauth_client=msgspec.structs.replace(ANTHROPIC_CLIENT, client_id=None))
    await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    await world.catalog.reload()
    client = world.proxy.authenticate(await world.client())
    with pytest.raises(GatewayError) as refused:
        await world.proxy.start(chat("claude-x"), client)
    setting = "anthropic_oauth.client_id (AIGATEWAY_ANTHROPIC_OAUTH_CLIENT_ID)"
    assert setting in refused.value.message
    assert any(setting in n.message for n in world.notices.current())
    assert world.token_endpoint.calls == []


async def test_an_account_without_a_refresh_token_cannot_be_refreshed() -> None:
    world = World()
    account = await world.add_oauth_account("at-old", None, world.clock.now())
    provider = await world.providers.get("anthropic")
    with pytest.raises(CredentialUnavailable) as refused:
        await world.tokens.secret_for(account, provider)
    assert refused.value.failure.disables_account
    assert "no refresh token" in refused.value.failure.reason


async def test_forgetting_the_cached_token_and_refreshing_now() -> None:
    world = World()
    account = await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    provider = await world.providers.get("anthropic")
    await world.tokens.secret_for(account, provider)
    assert await world.tokens.cached_until(account) is not None
    assert await world.tokens.forget(account) is True
    assert await world.tokens.cached_until(account) is None
    token = await world.tokens.renew(await world.accounts.get(account.id), provider)
    assert token.access_token == "at-fresh-2"
    assert world.token_endpoint.calls == ["rt-1", "rt-1"]
