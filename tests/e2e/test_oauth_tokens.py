"""OAuth accounts across two gateway processes sharing MariaDB and Redis, on both kinds whose
accounts hold OAuth tokens (`anthropic` with a Claude subscription, `antigravity` on Cloud
Code): an expired access token is refreshed once for every process, a revoked refresh token
disables its account and traffic moves on, an upstream 401 forces one refresh and one retry on
the same account, and the operator's token actions.

Each upstream fake accepts only the current access tokens the fake OAuth server issued (an
expired or revoked one gets a 401), so a request answered 200 went out with a fresh token."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.harness import Gateway, gateway_env, run_cli
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.cloud_code import FakeCloudCode
from tests.fakes.oauth_server import FakeOAuth, IssuedTokens, Shape
from tests.services import REDIS_URL

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb, pytest.mark.redis]

LIFETIME_S = 3600
GEMINI = "gemini-3-flash"


@dataclass(frozen=True)
class Case:
    """A provider kind whose accounts hold OAuth tokens, and how to talk to it."""

    provider_id: str
    section: str  # the settings section of its OAuth client
    shape: Shape  # the fake token endpoint's shape
    model: str
    auth_data: dict[str, str] = field(default_factory=dict)  # besides the tokens

    def env(self, oauth: FakeOAuth) -> dict[str, str]:
        prefix = f"AIGATEWAY_{self.section.upper()}_"
        env = {
            prefix + "TOKEN_URL": oauth.token_url(self.shape),
            prefix + "CLIENT_ID": oauth.client_id,
        }
        if self.shape == "google":
            env[prefix + "CLIENT_SECRET"] = oauth.client_secret
        return env

    def provider_update(self, upstream_url: str) -> dict[str, Any]:
        """The provider pointed at the fake upstream, serving `model`."""
        if self.provider_id == "antigravity":
            config = {"base_urls": [upstream_url], "models": [self.model]}
            return {"base_url": upstream_url, "models": ["gemini-*"], "config": config}
        return {"base_url": upstream_url, "models": ["claude-*"]}

    def request(self, index: int) -> tuple[str, dict[str, Any]]:
        body = {
            "model": self.model,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": f"question {index}"}],
        }
        return "/v1/messages", body


ANTHROPIC = Case("anthropic", "anthropic_oauth", "anthropic", "claude-oauth-e2e")
ANTIGRAVITY = Case(
    "antigravity", "google_oauth", "google", GEMINI, {"project_id": "oauth-e2e-project"}
)
CASES = [
    pytest.param(ANTHROPIC, id="anthropic"),
    pytest.param(ANTIGRAVITY, id="antigravity"),
]


@dataclass(frozen=True)
class Upstream:
    """The case's fake upstream, as these tests look at it."""

    base_url: str
    tokens_sent: Callable[[], list[str]]  # the bearer token of every generation call, in order


@pytest.fixture
def oauth() -> Iterator[FakeOAuth]:
    with FakeOAuth(expires_in=LIFETIME_S) as fake:
        yield fake


@pytest.fixture
def upstream(case: Case, oauth: FakeOAuth) -> Iterator[Upstream]:
    if case.provider_id == "antigravity":
        with FakeCloudCode(tokens=IssuedTokens(oauth)) as cloud:
            yield Upstream(cloud.base_url, lambda: [c.key for c in cloud.generation_calls()])
    else:
        with FakeAnthropic(accepts=oauth.is_current) as fake:
            yield Upstream(fake.base_url, fake.keys_seen)


def start_env(tmp_path: Path, mysql_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = gateway_env(
        tmp_path,
        {
            "AIGATEWAY_DATABASE_URL": mysql_url,
            "AIGATEWAY_REDIS_URL": REDIS_URL,
            "AIGATEWAY_ADMIN_KEY": "adm_e2e_" + uuid.uuid4().hex,
            "AIGATEWAY_SECRET_KEY": "e2e-secret-" + uuid.uuid4().hex,
            "AIGATEWAY_LOGGING_LEVEL": "debug",  # the most the gateway ever logs
            **extra,
        },
    )
    migrated = run_cli(["migrate"], tmp_path, env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def oauth_account(
    gw: Gateway, case: Case, upstream_url: str, refresh_tokens: list[str]
) -> tuple[str, list[str]]:
    """Point the provider at the fake upstream, add one OAuth account per refresh token (each
    with an expired access token); return a client key and the account ids."""
    with gw.admin() as admin:
        admin.patch(
            f"/providers/{case.provider_id}", json=case.provider_update(upstream_url)
        ).raise_for_status()
        ids = []
        for index, refresh in enumerate(refresh_tokens):
            created = admin.post(
                "/accounts",
                json={
                    "provider_id": case.provider_id,
                    "label": f"oauth {index}",
                    "auth_data": {
                        "access_token": f"at-expired-{index}",
                        "refresh_token": refresh,
                        "expires_at": "2020-01-01T00:00:00Z",
                        **case.auth_data,
                    },
                },
            )
            created.raise_for_status()
            ids.append(str(created.json()["id"]))
        key = admin.post("/api-keys", json={"label": "oauth e2e"})
        key.raise_for_status()
        return str(key.json()["key"]), ids


def wait_for_key(gw: Gateway, client_key: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = httpx.get(
            f"{gw.base_url}/v1/models", headers={"Authorization": f"Bearer {client_key}"}
        )
        if seen.status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the gateway never saw the new client key")


async def spread(
    gateways: list[Gateway], case: Case, client_key: str, count: int
) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as http:

        async def one(index: int) -> httpx.Response:
            path, body = case.request(index)
            gw = gateways[index % len(gateways)]
            return await http.post(
                gw.base_url + path,
                json=body,
                headers={"x-api-key": client_key, "anthropic-version": "2023-06-01"},
            )

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def ask(gw: Gateway, case: Case, client_key: str) -> httpx.Response:
    (answer,) = asyncio.run(spread([gw], case, client_key, 1))
    return answer


def assert_no_secret_logged(oauth: FakeOAuth, *gateways: Gateway) -> None:
    """No refresh token, access token or client secret in any log line, at DEBUG level."""
    secrets = [*oauth.refresh_tokens, *oauth.access_tokens, oauth.client_secret]
    for gw in gateways:
        output = gw.output()
        assert "DEBUG" in output  # the level took effect: the check reads a debug log
        leaked = [s[:6] + "…" for s in secrets if s in output]
        assert not leaked, f"secrets in the log of {gw.port}: {leaked}"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cached(redis_client: redis.Redis, key: str, oauth: FakeOAuth) -> dict[str, Any] | None:
    """What the shared cache holds under `key`, read as `redis-cli GET` would: the access
    token sealed (no token the fake issued shows in clear) and its expiry."""
    raw = redis_client.get(key)
    if raw is None:
        return None
    assert not any(t.encode() in raw for t in oauth.access_tokens)
    entry = json.loads(raw)
    assert isinstance(entry, dict) and entry["access_token"] and entry["expires_at"]
    return entry


@pytest.mark.parametrize("case", CASES)
def test_an_expired_token_is_refreshed_once_for_every_process(
    tmp_path: Path,
    mysql_url: str,
    redis_client: redis.Redis,
    oauth: FakeOAuth,
    upstream: Upstream,
    case: Case,
) -> None:
    oauth.delay_s = 0.5  # the refresh is under way while the requests pile up
    refresh = oauth.issue_refresh_token("pool@example.com")
    env = start_env(tmp_path, mysql_url, case.env(oauth))
    with Gateway(tmp_path, env) as first, Gateway(tmp_path, env) as second:
        client_key, (account_id,) = oauth_account(first, case, upstream.base_url, [refresh])
        wait_for_key(second, client_key)
        answers = asyncio.run(spread([first, second], case, client_key, 100))

        assert [a.status_code for a in answers] == [200] * 100, answers[0].text
        assert len(oauth.calls("refresh_token")) == 1
        sent = upstream.tokens_sent()
        assert len(sent) == 100
        fresh = set(sent)
        assert len(fresh) == 1 and oauth.is_current(fresh.pop())  # only the fresh token
        key = f"auth:oauth:{case.provider_id}:{account_id}"  # the seed's name for it
        assert list(redis_client.scan_iter(f"auth:*{account_id}*")) == [key.encode()]
        ttl = redis_client.ttl(key)
        assert 0 < ttl < LIFETIME_S
        print(f"token-endpoint calls: 1; TTL {key} = {ttl} s (lifetime {LIFETIME_S} s)")
        oauth.delay_s = 0.0

        with first.admin() as admin:
            shown = admin.get(f"/accounts/{account_id}").json()
            assert shown["token_cached_until"] is not None
            first_expiry = instant(shown["expires_at"])  # the column follows the new token
            assert first_expiry > datetime.now(UTC) + timedelta(seconds=LIFETIME_S // 2)
            # the operator's actions: refresh now, then forget the cached token
            asked = datetime.now(UTC)
            refreshed = admin.post(f"/accounts/{account_id}/refresh")
            assert refreshed.status_code == 200, refreshed.text
            assert len(oauth.calls("refresh_token")) == 2
            new_expiry = instant(refreshed.json()["expires_at"])
            assert new_expiry >= first_expiry
            assert new_expiry >= asked + timedelta(seconds=LIFETIME_S - 1)
            assert instant(admin.get(f"/accounts/{account_id}").json()["expires_at"]) == new_expiry
            renewed = cached(redis_client, key, oauth)
            assert renewed is not None and instant(renewed["expires_at"]) == new_expiry
            for shown_text in (refreshed.text, admin.get(f"/accounts/{account_id}").text):
                assert refresh not in shown_text
                assert not any(t in shown_text for t in oauth.access_tokens)

            cleared = admin.delete(f"/accounts/{account_id}/token-cache")
            assert cleared.status_code == 200, cleared.text
            assert cleared.json()["cleared"] == 1
            assert redis_client.get(key) is None
            assert admin.get(f"/accounts/{account_id}").json()["token_cached_until"] is None
        # the next request refreshes or re-reads the stored token, and caches it again
        assert ask(first, case, client_key).status_code == 200
        assert oauth.is_current(upstream.tokens_sent()[-1])
        assert cached(redis_client, key, oauth) is not None
        assert 0 < redis_client.ttl(key) < LIFETIME_S
        assert len(oauth.calls("refresh_token")) in (2, 3)
        assert first.stop() == 0
        assert second.stop() == 0
        assert_no_secret_logged(oauth, first, second)


@pytest.mark.parametrize("case", CASES)
def test_an_upstream_401_forces_one_refresh_and_a_retry_on_the_same_account(
    tmp_path: Path,
    mysql_url: str,
    oauth: FakeOAuth,
    upstream: Upstream,
    case: Case,
) -> None:
    refresh_tokens = [oauth.issue_refresh_token(f"user{i}@example.com") for i in range(2)]
    env = start_env(tmp_path, mysql_url, case.env(oauth))
    with Gateway(tmp_path, env) as gw:
        client_key, ids = oauth_account(gw, case, upstream.base_url, refresh_tokens)
        with gw.admin() as admin:
            for account_id in ids:
                admin.post(f"/accounts/{account_id}/refresh").raise_for_status()
        assert len(oauth.calls("refresh_token")) == 2
        # upstream stops accepting the current access tokens; the refresh tokens stay good
        revoked = [t for t in list(oauth.access_tokens) if oauth.is_current(t)]
        assert len(revoked) == 2
        for token in revoked:
            oauth.revoke_access(token)
        before = len(upstream.tokens_sent())

        answer = ask(gw, case, client_key)

        assert answer.status_code == 200, answer.text
        refused, retried = upstream.tokens_sent()[before:]  # one refusal, one retry
        assert refused in revoked
        assert oauth.is_current(retried)
        calls = oauth.calls("refresh_token")
        assert len(calls) == 3  # one more refresh
        # the retry went out on the same account: the refused token's, refreshed once
        assert oauth.email_of(retried) == oauth.email_of(refused)
        assert oauth.refresh_tokens[str(calls[-1].refresh_token)] == oauth.email_of(refused)
        with gw.admin() as admin:
            for account_id in ids:
                shown = admin.get(f"/accounts/{account_id}").json()
                assert shown["disabled_reason"] is None and shown["is_active"]


@pytest.mark.parametrize("case", CASES)
def test_a_revoked_refresh_token_disables_its_account(
    tmp_path: Path,
    mysql_url: str,
    oauth: FakeOAuth,
    upstream: Upstream,
    case: Case,
) -> None:
    revoked = oauth.issue_refresh_token("gone@example.com")
    alive = oauth.issue_refresh_token("alive@example.com")
    oauth.revoke(revoked)
    env = start_env(tmp_path, mysql_url, case.env(oauth))
    with Gateway(tmp_path, env) as first, Gateway(tmp_path, env) as second:
        client_key, (dead_id, alive_id) = oauth_account(
            first, case, upstream.base_url, [revoked, alive]
        )
        wait_for_key(second, client_key)
        answers = asyncio.run(spread([first, second], case, client_key, 10))
        assert [a.status_code for a in answers] == [200] * 10  # no client sees the revocation
        # every request went out with the valid account's fresh tokens
        assert {oauth.email_of(k) for k in upstream.tokens_sent()} == {"alive@example.com"}
        with first.admin() as admin:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                dead = admin.get(f"/accounts/{dead_id}").json()
                if dead["disabled_reason"]:
                    break
                time.sleep(0.1)
            assert "revoked" in dead["disabled_reason"]
            assert "re-authorise" in dead["disabled_reason"]
            assert admin.get(f"/accounts/{alive_id}").json()["disabled_reason"] is None
            refused = admin.post(f"/accounts/{dead_id}/refresh")
            assert refused.status_code == 502
            assert "revoked" in refused.json()["error"]["message"]
            assert revoked not in refused.text
        # the disabled account is out of rotation: later requests go to the other one only
        later = asyncio.run(spread([first, second], case, client_key, 10))
        assert [a.status_code for a in later] == [200] * 10
        assert {oauth.email_of(k) for k in upstream.tokens_sent()} == {"alive@example.com"}
        assert_no_secret_logged(oauth, first, second)


@pytest.mark.parametrize("case", CASES)
def test_a_missing_client_id_is_named(
    tmp_path: Path, mysql_url: str, oauth: FakeOAuth, upstream: Upstream, case: Case
) -> None:
    env = start_env(tmp_path, mysql_url, {})  # no OAuth client configured
    env[f"AIGATEWAY_{case.section.upper()}_TOKEN_URL"] = oauth.token_url(case.shape)
    with Gateway(tmp_path, env) as gw:
        client_key, _ = oauth_account(gw, case, upstream.base_url, [oauth.issue_refresh_token()])
        answer = ask(gw, case, client_key)
        setting = f"{case.section}.client_id (AIGATEWAY_{case.section.upper()}_CLIENT_ID)"
        assert answer.status_code == 503
        assert setting in answer.json()["error"]["message"]
        notices = httpx.get(f"{gw.base_url}/health").json()["notices"]
        assert any(setting in n["message"] for n in notices)
        assert oauth.calls() == []
        gw.stop()
        assert setting in gw.output()
