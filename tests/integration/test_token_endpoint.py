"""The HTTP token endpoint against the fake OAuth server: both grants, both shapes, and every
failure as a TokenEndpointError whose text holds no token."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest

from aigateway.adapters.oauth.token_endpoint import HttpTokenEndpoint
from aigateway.adapters.upstream.aiohttp_transport import AiohttpUpstream
from aigateway.application.ports.oauth import TokenEndpointError
from aigateway.domain.errors import FailureAction, NetworkErrorKind, classify_token_refresh_error
from aigateway.domain.proxies import DIRECT, Route, parse_proxy_url
from tests.fakes.oauth_server import FakeOAuth, Shape, oauth_client, s256
from tests.fakes.proxies import FakeProxy

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SHAPES: list[Shape] = ["google", "anthropic"]


@pytest.fixture
def fake() -> Iterator[FakeOAuth]:
    with FakeOAuth() as server:
        yield server


@pytest.fixture
async def endpoint() -> AsyncIterator[HttpTokenEndpoint]:
    upstream = AiohttpUpstream()
    yield HttpTokenEndpoint(upstream, timeout_s=2, total_timeout_s=3)
    await upstream.aclose()


@pytest.mark.parametrize("shape", SHAPES)
async def test_refresh_answers_a_fresh_access_token(
    fake: FakeOAuth, endpoint: HttpTokenEndpoint, shape: Shape
) -> None:
    fake.expires_in = 1800
    refresh = fake.issue_refresh_token("ada@example.com")
    grant = await endpoint.refresh(oauth_client(fake, shape), refresh, NOW, DIRECT)
    assert fake.is_current(grant.access_token)
    assert grant.expires_at == NOW + timedelta(seconds=1800)
    assert grant.refresh_token is None  # no rotation by default
    assert grant.email == ("ada@example.com" if shape == "anthropic" else None)
    (call,) = fake.calls()
    assert call.grant_type == "refresh_token"
    assert call.refresh_token == refresh
    assert grant.access_token not in repr(grant)


@pytest.mark.parametrize("protocol", ["http", "socks5"])
async def test_a_refresh_leaves_through_the_route_it_is_given(
    fake: FakeOAuth, endpoint: HttpTokenEndpoint, protocol: str
) -> None:
    proxy = FakeProxy(protocol, username="gw", password="pw-1").start()
    try:
        route = Route(4, parse_proxy_url(proxy.url))
        refresh = fake.issue_refresh_token()
        grant = await endpoint.refresh(oauth_client(fake, "google"), refresh, NOW, route)
        assert fake.is_current(grant.access_token)
        await endpoint.refresh(oauth_client(fake, "google"), refresh, NOW, DIRECT)
        first, second = fake.calls()
        assert (first.peer, second.peer) == (proxy.egress_ip, "127.0.0.1")
        assert len(proxy.connections()) == 1
    finally:
        proxy.close()


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_rotated_refresh_token_is_answered(
    fake: FakeOAuth, endpoint: HttpTokenEndpoint, shape: Shape
) -> None:
    fake.rotate = True
    first = fake.issue_refresh_token()
    grant = await endpoint.refresh(oauth_client(fake, shape), first, NOW, DIRECT)
    assert grant.refresh_token is not None
    assert grant.refresh_token != first
    again = await endpoint.refresh(oauth_client(fake, shape), grant.refresh_token, NOW, DIRECT)
    assert again.refresh_token not in (None, first, grant.refresh_token)


@pytest.mark.parametrize("shape", SHAPES)
async def test_code_exchange_with_pkce(
    fake: FakeOAuth, endpoint: HttpTokenEndpoint, shape: Shape
) -> None:
    client = oauth_client(fake, shape, redirect_uri="http://localhost:9/callback")
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    fake.login_email = "grace@example.com"
    async with httpx.AsyncClient() as http:
        redirect = await http.get(
            client.auth_url,
            params={
                "client_id": client.client_id,
                "redirect_uri": client.redirect_uri,
                "response_type": "code",
                "state": state,
                "code_challenge": s256(verifier),
                "code_challenge_method": "S256",
            },
        )
        assert redirect.status_code == 302
        query = parse_qs(urlsplit(redirect.headers["location"]).query)
        assert query["state"] == [state]
        grant = await endpoint.exchange_code(
            client,
            code=query["code"][0],
            verifier=verifier,
            redirect_uri=client.redirect_uri,
            state=state,
            now=NOW,
            route=DIRECT,
        )
        assert grant.refresh_token is not None
        if shape == "google":
            assert client.userinfo_url is not None
            info = await http.get(
                client.userinfo_url, headers={"Authorization": f"Bearer {grant.access_token}"}
            )
            assert info.json()["email"] == "grace@example.com"
        else:
            assert grant.email == "grace@example.com"
    # a code is good once; a wrong verifier is refused
    with pytest.raises(TokenEndpointError) as refused:
        await endpoint.exchange_code(
            client,
            code=query["code"][0],
            verifier=verifier,
            redirect_uri=client.redirect_uri,
            state=state,
            now=NOW,
            route=DIRECT,
        )
    assert refused.value.status == 400


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_revoked_refresh_token_disables(
    fake: FakeOAuth, endpoint: HttpTokenEndpoint, shape: Shape
) -> None:
    refresh = fake.issue_refresh_token()
    fake.revoke(refresh)
    with pytest.raises(TokenEndpointError) as refused:
        await endpoint.refresh(oauth_client(fake, shape), refresh, NOW, DIRECT)
    error = refused.value
    assert error.status == 400
    assert refresh not in str(error)
    failure = classify_token_refresh_error(error.status, error.body, error_kind=error.kind)
    assert failure.action is FailureAction.DISABLE_AND_ROTATE
    assert "revoked" in failure.reason


async def test_google_needs_the_client_secret(fake: FakeOAuth, endpoint: HttpTokenEndpoint) -> None:
    client = oauth_client(fake, "google")
    wrong = msgspec.structs.replace(client, client_secret="not-the-secret")
    with pytest.raises(TokenEndpointError) as refused:
        await endpoint.refresh(wrong, fake.issue_refresh_token(), NOW, DIRECT)
    assert refused.value.status == 401
    assert "not-the-secret" not in str(refused.value)


async def test_a_down_endpoint_is_a_transient_failure(
    fake: FakeOAuth, endpoint: HttpTokenEndpoint
) -> None:
    fake.down = True
    with pytest.raises(TokenEndpointError) as refused:
        await endpoint.refresh(
            oauth_client(fake, "anthropic"), fake.issue_refresh_token(), NOW, DIRECT
        )
    failure = classify_token_refresh_error(refused.value.status, refused.value.body)
    assert refused.value.status == 503
    assert failure.action is FailureAction.ROTATE


async def test_a_slow_endpoint_times_out(fake: FakeOAuth) -> None:
    fake.delay_s = 2
    upstream = AiohttpUpstream()
    endpoint = HttpTokenEndpoint(upstream, timeout_s=0.2, total_timeout_s=0.3)
    try:
        with pytest.raises(TokenEndpointError) as refused:
            await endpoint.refresh(
                oauth_client(fake, "google"), fake.issue_refresh_token(), NOW, DIRECT
            )
    finally:
        await upstream.aclose()
    assert refused.value.status is None
    assert refused.value.kind is NetworkErrorKind.TIMEOUT


async def test_an_unreachable_endpoint(endpoint: HttpTokenEndpoint, fake: FakeOAuth) -> None:
    client = oauth_client(fake, "google")
    gone = msgspec.structs.replace(client, token_url="http://127.0.0.1:9/token")
    with pytest.raises(TokenEndpointError) as refused:
        await endpoint.refresh(gone, "rt-x", NOW, DIRECT)
    assert refused.value.status is None
    assert refused.value.kind is NetworkErrorKind.CONNECT
