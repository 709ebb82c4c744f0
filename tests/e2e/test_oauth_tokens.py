"""OAuth accounts across two gateway processes sharing MariaDB and Redis: an expired access
token is refreshed once for every process, a revoked refresh token disables its account and
traffic moves on, and the operator's token actions."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.harness import Gateway, gateway_env, run_cli
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.oauth_server import FakeOAuth, Shape
from tests.services import REDIS_URL, create_mysql_database, drop_mysql_database, unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb, pytest.mark.redis]

LIFETIME_S = 3600


@dataclass(frozen=True)
class Case:
    """A provider kind whose accounts hold OAuth tokens, and how to talk to it."""

    provider_id: str
    section: str  # the settings section of its OAuth client
    shape: Shape  # the fake token endpoint's shape
    model: str

    def env(self, oauth: FakeOAuth) -> dict[str, str]:
        prefix = f"AIGATEWAY_{self.section.upper()}_"
        env = {
            prefix + "TOKEN_URL": oauth.token_url(self.shape),
            prefix + "CLIENT_ID": oauth.client_id,
        }
        if self.shape == "google":
            env[prefix + "CLIENT_SECRET"] = oauth.client_secret
        return env

    def request(self, index: int) -> tuple[str, dict[str, Any]]:
        body = {
            "model": self.model,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": f"question {index}"}],
        }
        return "/v1/messages", body


ANTHROPIC = Case("anthropic", "anthropic_oauth", "anthropic", "claude-oauth-e2e")
CASES = [pytest.param(ANTHROPIC, id="anthropic")]


@pytest.fixture
def mysql_url() -> Iterator[str]:
    url = asyncio.run(create_mysql_database())
    yield url
    asyncio.run(drop_mysql_database(url))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    yield client
    client.close()


@pytest.fixture
def oauth() -> Iterator[FakeOAuth]:
    with FakeOAuth(expires_in=LIFETIME_S) as fake:
        yield fake


@pytest.fixture
def upstream(oauth: FakeOAuth) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(accepts=oauth.is_current) as fake:
        yield fake


def start_env(tmp_path: Path, mysql_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = gateway_env(
        tmp_path,
        {
            "AIGATEWAY_DATABASE_URL": mysql_url,
            "AIGATEWAY_REDIS_URL": REDIS_URL,
            "AIGATEWAY_ADMIN_KEY": "adm_e2e_" + uuid.uuid4().hex,
            "AIGATEWAY_SECRET_KEY": "e2e-secret-" + uuid.uuid4().hex,
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
        update = {"base_url": upstream_url, "models": ["claude-*"]}
        admin.patch(f"/providers/{case.provider_id}", json=update).raise_for_status()
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


@pytest.mark.parametrize("case", CASES)
def test_an_expired_token_is_refreshed_once_for_every_process(
    tmp_path: Path,
    mysql_url: str,
    redis_client: redis.Redis,
    oauth: FakeOAuth,
    upstream: FakeAnthropic,
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
        fresh = {c.key for c in upstream.calls}
        assert len(fresh) == 1 and oauth.is_current(fresh.pop())  # only the fresh token
        key = f"auth:oauth:{case.provider_id}:{account_id}"
        ttl = redis_client.ttl(key)
        assert 0 < ttl < LIFETIME_S
        print(f"token-endpoint calls: 1; TTL {key} = {ttl} s (lifetime {LIFETIME_S} s)")

        with first.admin() as admin:
            shown = admin.get(f"/accounts/{account_id}").json()
            assert shown["token_cached_until"] is not None
            assert shown["expires_at"] > "2026"  # the column follows the refreshed token
            # the operator's actions: forget the cached token, refresh now
            cleared = admin.delete(f"/accounts/{account_id}/token-cache")
            assert cleared.json()["cleared"] == 1
            assert redis_client.get(key) is None
            refreshed = admin.post(f"/accounts/{account_id}/refresh")
            assert refreshed.status_code == 200, refreshed.text
            assert refreshed.json()["expires_at"] > "2026"
            assert len(oauth.calls("refresh_token")) == 2
            for shown_text in (refreshed.text, admin.get(f"/accounts/{account_id}").text):
                assert refresh not in shown_text
                assert not any(t in shown_text for t in oauth.access_tokens)
        assert first.stop() == 0
        assert second.stop() == 0


@pytest.mark.parametrize("case", CASES)
def test_a_revoked_refresh_token_disables_its_account(
    tmp_path: Path,
    mysql_url: str,
    oauth: FakeOAuth,
    upstream: FakeAnthropic,
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
        assert [a.status_code for a in answers] == [200] * 10
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


@pytest.mark.parametrize("case", CASES)
def test_a_missing_client_id_is_named(
    tmp_path: Path, mysql_url: str, oauth: FakeOAuth, upstream: FakeAnthropic, case: Case
) -> None:
    env = start_env(tmp_path, mysql_url, {})  # no OAuth client configured
    env[f"AIGATEWAY_{case.section.upper()}_TOKEN_URL"] = oauth.token_url(case.shape)
    with Gateway(tmp_path, env) as gw:
        client_key, _ = oauth_account(gw, case, upstream.base_url, [oauth.issue_refresh_token()])
        (answer,) = asyncio.run(spread([gw], case, client_key, 1))
        setting = f"{case.section}.client_id (AIGATEWAY_{case.section.upper()}_CLIENT_ID)"
        assert answer.status_code == 503
        assert setting in answer.json()["error"]["message"]
        notices = httpx.get(f"{gw.base_url}/health").json()["notices"]
        assert any(setting in n["message"] for n in notices)
        assert oauth.calls() == []
        gw.stop()
        assert setting in gw.output()
