"""Onboarding OAuth accounts against the fake Google OAuth server and the fake Cloud Code
backend, through the in-process app (production wiring, SQLite): init, the authorize redirect,
the callback page, the manual exchange, re-login of the same e-mail, the quota view and the
models the accounts report in `/v1/models`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from dishka import Provider, Scope, make_async_container, provide
from litestar.testing import AsyncTestClient

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.persistence.engine import create_engine
from aigateway.adapters.persistence.repositories import SqlAccountRepository
from aigateway.adapters.upstream.cloud_code.available_models import CloudCodeModels
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.repositories import AccountRepository, ProviderRepository
from aigateway.application.ports.upstream import Upstream
from aigateway.application.use_cases.access_tokens import AccessTokens
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.projects import AccountProjects
from aigateway.application.use_cases.upstream_models import AccountModels
from aigateway.domain.accounts import Account
from aigateway.entrypoints.bootstrap import preflight
from aigateway.entrypoints.http.app import create_app
from aigateway.entrypoints.ioc.providers import production_providers
from aigateway.entrypoints.ioc.settings import Settings, load_settings, resolve_secret_key
from tests.fakes.cloud_code import FakeCloudCode
from tests.fakes.oauth_server import FakeOAuth, IssuedTokens

ADMIN_KEY = "adm_onboarding"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
REDIRECT_URI = "http://gateway.test/api/v1/oauth/callback"

Client = AsyncTestClient[Any]


@dataclass
class World:
    client: Client
    oauth: FakeOAuth
    cloud: FakeCloudCode
    settings: Settings

    async def stored(self, account_id: str) -> Account:
        """The account as the database holds it (auth_data decrypted)."""
        engine = create_engine(self.settings.database.url)
        try:
            cipher = CredentialCipher(resolve_secret_key(self.settings)[0])
            return await SqlAccountRepository(engine, cipher).get(account_id)
        finally:
            await engine.dispose()


class QuickModelReports(Provider):
    """The production model reports, refreshed every 50 ms instead of every minute."""

    scope = Scope.APP

    @provide(override=True)
    def upstream_models(
        self,
        upstream: Upstream,
        projects: AccountProjects,
        tokens: AccessTokens,
        catalog: CatalogCache,
        accounts: AccountRepository,
        providers: ProviderRepository,
        clock: Clock,
    ) -> AccountModels:
        return AccountModels(
            CloudCodeModels(upstream),
            projects,
            tokens,
            catalog,
            accounts,
            providers,
            clock,
            interval_s=0.05,
        )


@pytest.fixture
def oauth() -> Iterator[FakeOAuth]:
    with FakeOAuth() as fake:
        yield fake


@pytest.fixture
def cloud(oauth: FakeOAuth) -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens=IssuedTokens(oauth), project=None) as fake:
        yield fake


@pytest.fixture
async def world(tmp_path: Path, oauth: FakeOAuth, cloud: FakeCloudCode) -> AsyncIterator[World]:
    settings = load_settings(
        {"AIGATEWAY_DATA_DIR": str(tmp_path), "AIGATEWAY_ADMIN_KEY": ADMIN_KEY},
        overrides={
            "google_oauth": {
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret,
                "auth_url": oauth.google_auth_url,
                "token_url": oauth.google_token_url,
                "userinfo_url": oauth.google_userinfo_url,
                "redirect_uri": REDIRECT_URI,
            }
        },
    )
    await preflight(settings)
    container = make_async_container(
        *production_providers(), QuickModelReports(), context={Settings: settings}
    )
    async with AsyncTestClient(create_app(settings, container)) as client:
        moved = await client.patch(
            "/api/v1/providers/antigravity",
            headers=ADMIN,
            json={"base_url": cloud.base_url, "config": {"base_urls": [cloud.base_url]}},
        )
        assert moved.status_code == 200, moved.text
        yield World(client, oauth, cloud, settings)


async def authorize(auth_url: str) -> str:
    """What the browser does at the provider: log in, get redirected; the redirect target."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(auth_url, allow_redirects=False) as response,
    ):
        assert response.status == 302, await response.text()
        return response.headers["Location"]


async def init(world: World, flow_type: str = "auto", **extra: Any) -> dict[str, Any]:
    response = await world.client.post(
        "/api/v1/oauth/init",
        headers=ADMIN,
        json={"provider": "antigravity", "flow_type": flow_type, **extra},
    )
    assert response.status_code == 200, response.text
    started: dict[str, Any] = response.json()
    return started


async def login_auto(world: World) -> str:
    """A whole `auto` login; the callback page's HTML."""
    started = await init(world)
    target = await authorize(started["auth_url"])
    assert target.startswith(REDIRECT_URI + "?")
    page = await world.client.get("/api/v1/oauth/callback?" + urlsplit(target).query)
    assert page.status_code == 200, page.text
    return page.text


async def antigravity_accounts(world: World) -> list[dict[str, Any]]:
    listed = await world.client.get(
        "/api/v1/accounts", headers=ADMIN, params={"provider_id": "antigravity"}
    )
    accounts: list[dict[str, Any]] = listed.json()["data"]
    return accounts


async def test_init_answers_a_pkce_authorize_url_on_the_configured_redirect(world: World) -> None:
    started = await init(world)
    parts = urlsplit(started["auth_url"])
    assert started["auth_url"].startswith(world.oauth.google_auth_url + "?")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["state"] == started["state"]
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["response_type"] == "code"
    assert "cloud-platform" in query["scope"]
    assert started["flow_type"] == "auto" and started["expires_at"]


async def test_an_auto_login_adds_the_account_with_its_email_and_discovered_project(
    world: World,
) -> None:
    page = await login_auto(world)
    assert "Account added" in page and "user@example.com" in page
    (account,) = await antigravity_accounts(world)
    assert account["label"] == "user@example.com"
    assert account["auth_type"] == "oauth"
    stored = await world.stored(account["id"])
    assert stored.credential.data["project_id"] == "onboarded-project-0001"
    assert world.oauth.is_current(stored.credential.data["access_token"])
    assert stored.credential.data["access_token"] not in page
    assert stored.credential.data["refresh_token"] not in page
    # discovery onboarded the user with the default tier, polling until done
    onboards = world.cloud.calls_to("onboardUser")
    assert len(onboards) == 2 and onboards[0].body["tier_id"] == "free-tier"


async def test_a_second_login_of_the_same_email_updates_that_account(world: World) -> None:
    await login_auto(world)
    (first,) = await antigravity_accounts(world)
    before = await world.stored(first["id"])
    await login_auto(world)
    (again,) = await antigravity_accounts(world)
    after = await world.stored(again["id"])
    assert again["id"] == first["id"]
    assert after.credential.data["refresh_token"] != before.credential.data["refresh_token"]
    assert again["credential"]["fingerprint"] != first["credential"]["fingerprint"]


async def test_the_manual_flow_finishes_with_the_pasted_url(world: World) -> None:
    world.oauth.login_email = "second@example.com"
    started = await init(world, "manual")
    target = await authorize(started["auth_url"])
    # the callback page does not finish a manual login, and leaves it pending
    page = await world.client.get("/api/v1/oauth/callback?" + urlsplit(target).query)
    assert "POST /api/v1/oauth/exchange" in page.text
    finished = await world.client.post(
        "/api/v1/oauth/exchange", headers=ADMIN, json={"callback_url": target}
    )
    assert finished.status_code == 200, finished.text
    account = finished.json()
    assert account["label"] == "second@example.com"
    assert "access_token" in account["credential"]["fields"]
    stored = await world.stored(account["id"])
    for secret in (stored.credential.data["access_token"], stored.credential.data["refresh_token"]):
        assert secret not in finished.text
    again = await world.client.post(
        "/api/v1/oauth/exchange", headers=ADMIN, json={"callback_url": target}
    )
    assert again.status_code == 400
    assert "unknown, expired or already finished" in again.json()["error"]["message"]


async def test_a_pasted_url_off_the_redirect_uri_is_refused(world: World) -> None:
    started = await init(world, "manual")
    target = await authorize(started["auth_url"])
    forged = "http://evil.test/api/v1/oauth/callback?" + urlsplit(target).query
    refused = await world.client.post(
        "/api/v1/oauth/exchange", headers=ADMIN, json={"callback_url": forged}
    )
    assert refused.status_code == 400
    assert "redirect URI" in refused.json()["error"]["message"]
    # the login is still pending: the right URL finishes it
    ok = await world.client.post(
        "/api/v1/oauth/exchange", headers=ADMIN, json={"callback_url": target}
    )
    assert ok.status_code == 200, ok.text


async def test_quota_shows_the_fractions_upstream_reports(world: World) -> None:
    await login_auto(world)
    (account,) = await antigravity_accounts(world)
    discovered = len(world.cloud.calls_to("loadCodeAssist"))
    response = await world.client.get(f"/api/v1/accounts/{account['id']}/quota", headers=ADMIN)
    assert response.status_code == 200, response.text
    quota = {m["model"]: m for m in response.json()["data"]}
    assert quota["gemini-3-flash"]["remaining_fraction"] == 0.75
    assert quota["gemini-3-flash"]["display_name"] == "Gemini 3 Flash"
    assert quota["claude-sonnet-4-6"]["reset_time"] == "2026-10-20T11:00:00Z"
    assert quota["claude-opus-4-6-thinking"]["remaining_fraction"] == 0.0  # exhausted
    assert response.json()["deprecated"] == {"gemini-3.5-flash": "gemini-3-flash"}
    # the stored project is used: no discovery again
    fetches = world.cloud.calls_to("fetchAvailableModels")
    assert fetches[-1].body == {"project": "onboarded-project-0001"}
    assert len(world.cloud.calls_to("loadCodeAssist")) == discovered


async def test_quota_errors_are_clear(world: World) -> None:
    unknown = await world.client.get("/api/v1/accounts/nope/quota", headers=ADMIN)
    assert unknown.status_code == 404
    created = await world.client.post(
        "/api/v1/accounts",
        headers=ADMIN,
        json={"provider_id": "openai", "auth_data": {"api_key": "sk-not-antigravity-1"}},
    )
    other = await world.client.get(f"/api/v1/accounts/{created.json()['id']}/quota", headers=ADMIN)
    assert other.status_code == 409
    assert "antigravity" in other.json()["error"]["message"]
    # an account whose token the backend refuses: 502 with the reason, not a 500
    stale = await world.client.post(
        "/api/v1/accounts",
        headers=ADMIN,
        json={
            "provider_id": "antigravity",
            "auth_data": {
                "access_token": "ya29.not-issued",
                "refresh_token": "rt-unknown",
                "expires_at": "2030-01-01T00:00:00Z",
                "project_id": "given-project",
            },
        },
    )
    assert stale.status_code == 201, stale.text
    failed = await world.client.get(f"/api/v1/accounts/{stale.json()['id']}/quota", headers=ADMIN)
    assert failed.status_code == 502
    assert "HTTP 401" in failed.json()["error"]["message"]
    assert "ya29.not-issued" not in failed.text


async def test_v1_models_lists_what_the_accounts_report(world: World) -> None:
    await login_auto(world)
    issued = await world.client.post("/api/v1/api-keys", headers=ADMIN, json={})
    key = {"Authorization": f"Bearer {issued.json()['key']}"}
    expected = {"gemini-3-flash", "claude-sonnet-4-6", "claude-opus-4-6-thinking"}
    for headers in (key, {**key, "anthropic-version": "2023-06-01"}):
        async with asyncio.timeout(10):
            while True:  # the background refresh fetches the new account's models
                listing = await world.client.get("/v1/models", headers=headers)
                ids = {m["id"] for m in listing.json()["data"]}
                if expected <= ids:
                    break
                await asyncio.sleep(0.02)
    assert not any(i.startswith(("chat_", "tab_")) for i in ids)


async def test_posting_oauth_tokens_as_auth_data_keeps_working(world: World) -> None:
    response = await world.client.post(
        "/api/v1/accounts",
        headers=ADMIN,
        json={
            "provider_id": "antigravity",
            "label": "seeded",
            "auth_data": {
                "access_token": "ya29.seeded-access",
                "refresh_token": "1//seeded-refresh",
                "expires_at": "2030-01-01T00:00:00Z",
            },
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["auth_type"] == "oauth"
    assert body["expires_at"].startswith("2030-01-01T00:00:00")
    assert sorted(body["credential"]["fields"]) == ["access_token", "expires_at", "refresh_token"]
    assert "seeded-refresh" not in response.text and "seeded-access" not in response.text


HOSTILE = "<script>alert(document.cookie)</script>"


async def test_the_callback_page_escapes_what_it_shows(world: World) -> None:
    started = await init(world)
    refused = await world.client.get(
        "/api/v1/oauth/callback", params={"state": started["state"], "error": HOSTILE}
    )
    assert refused.status_code == 400
    assert "<script" not in refused.text and "postMessage" not in refused.text
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in refused.headers["content-security-policy"]
    assert refused.headers["referrer-policy"] == "no-referrer"
    unknown = await world.client.get(
        "/api/v1/oauth/callback", params={"state": HOSTILE, "code": HOSTILE}
    )
    assert unknown.status_code == 400
    assert "<script" not in unknown.text
    assert "unknown, expired or already finished" in unknown.text
    assert await antigravity_accounts(world) == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            {"provider": "antigravity", "flow_type": "auto", "redirect_uri": "http://x"},
            "redirect_uri",
        ),
        ({"provider": "openai", "flow_type": "auto"}, "provider"),
        ({"provider": "antigravity", "flow_type": "popup"}, "flow_type"),
        ({"provider": "antigravity"}, "flow_type"),
    ],
)
async def test_init_refuses_bad_input_naming_the_field(
    world: World, body: dict[str, Any], named: str
) -> None:
    response = await world.client.post("/api/v1/oauth/init", headers=ADMIN, json=body)
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]["message"]


async def test_init_and_exchange_need_the_admin_key_the_callback_does_not(world: World) -> None:
    body = {"provider": "antigravity", "flow_type": "auto"}
    assert (await world.client.post("/api/v1/oauth/init", json=body)).status_code == 401
    exchange = {"callback_url": REDIRECT_URI + "?code=c&state=s"}
    assert (await world.client.post("/api/v1/oauth/exchange", json=exchange)).status_code == 401
    page = await world.client.get("/api/v1/oauth/callback", params={"state": "s", "code": "c"})
    assert page.status_code == 400  # reached without a key: an unknown login


async def test_without_a_client_id_init_names_the_setting(world: World) -> None:
    response = await world.client.post(
        "/api/v1/oauth/init", headers=ADMIN, json={"provider": "anthropic", "flow_type": "manual"}
    )
    assert response.status_code == 409
    assert "AIGATEWAY_ANTHROPIC_OAUTH_CLIENT_ID" in response.json()["error"]["message"]
