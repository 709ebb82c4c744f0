"""A token endpoint answering nonsense, through the real app in-process (production wiring,
SQLite): the client gets a clear answer, the operator's refresh a clear 4xx/5xx error, never a
500, and no token shows in any of it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from litestar.testing import AsyncTestClient

from aigateway.entrypoints.bootstrap import preflight
from aigateway.entrypoints.http.app import create_app
from aigateway.entrypoints.ioc.settings import load_settings
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import UpstreamServer

ADMIN_KEY = "adm_review_tokens"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ACCESS = "at-hostile-endpoint-secret-0001"
REFRESH = "rt-hostile-endpoint-secret-0001"

Client = AsyncTestClient[Any]


@dataclass
class HostileTokenEndpoint:
    """A token endpoint whose 200 answer is whatever `answer` holds (raw bytes)."""

    answer: bytes = b"{}"
    calls: int = 0
    _server: UpstreamServer = field(default_factory=UpstreamServer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/token"

    def __enter__(self) -> HostileTokenEndpoint:
        self._server.start([("POST", "/token", self._token)])
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    async def _token(self, _: web.Request) -> web.Response:
        self.calls += 1
        return web.Response(body=self.answer, content_type="application/json")

    def answers(self, **fields: Any) -> None:
        self.answer = json.dumps(fields).encode()


@dataclass
class World:
    client: Client
    endpoint: HostileTokenEndpoint
    upstream: FakeAnthropic
    account_id: str
    client_key: dict[str, str]

    async def chat(self) -> Any:
        body = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}],
        }
        return await self.client.post("/v1/messages", headers=self.client_key, json=body)


@pytest.fixture
def endpoint() -> Iterator[HostileTokenEndpoint]:
    with HostileTokenEndpoint() as server:
        yield server


@pytest.fixture
def upstream() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
async def world(
    tmp_path: Path, endpoint: HostileTokenEndpoint, upstream: FakeAnthropic
) -> AsyncIterator[World]:
    settings = load_settings(
        {"AIGATEWAY_DATA_DIR": str(tmp_path), "AIGATEWAY_ADMIN_KEY": ADMIN_KEY},
        overrides={"anthropic_oauth": {"client_id": "review-client", "token_url": endpoint.url}},
    )
    await preflight(settings)
    async with AsyncTestClient(create_app(settings)) as client:
        patched = await client.patch(
            "/api/v1/providers/anthropic", headers=ADMIN, json={"base_url": upstream.base_url}
        )
        assert patched.status_code == 200, patched.text
        created = await client.post(
            "/api/v1/accounts",
            headers=ADMIN,
            json={
                "provider_id": "anthropic",
                "label": "expired",
                "auth_data": {
                    "access_token": "at-expired-0001",
                    "refresh_token": REFRESH,
                    "expires_at": "2020-01-01T00:00:00Z",
                },
            },
        )
        assert created.status_code == 201, created.text
        issued = await client.post("/api/v1/api-keys", headers=ADMIN, json={})
        key = {"Authorization": f"Bearer {issued.json()['key']}"}
        yield World(client, endpoint, upstream, created.json()["id"], key)


@pytest.mark.parametrize("expires_in", [1e12, 1e20, 10**30])
async def test_an_absurd_expires_in_is_no_500(world: World, expires_in: float) -> None:
    """`expires_in` beyond what a datetime holds: the token is used for a bounded time."""
    world.endpoint.answers(access_token=ACCESS, expires_in=expires_in)
    answered = await world.chat()
    assert answered.status_code == 200, answered.text
    assert world.upstream.calls[-1].key == ACCESS
    refreshed = await world.client.post(
        f"/api/v1/accounts/{world.account_id}/refresh", headers=ADMIN
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["expires_at"] < "2030"  # bounded, not year 9999
    assert ACCESS not in refreshed.text


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b"[1, 2]",
        b'{"access_token": 5}',
        b'{"expires_in": 3600}',
        b'{"access_token": "x", "expires_in": "3600"}',
        b'{"access_token": "x", "account": "someone"}',
        b'{"access_token": "x", "refresh_token": ["a"]}',
        b"{" * 100_000,
    ],
)
async def test_a_garbage_token_answer_is_a_clear_error(world: World, answer: bytes) -> None:
    world.endpoint.answer = answer
    answered = await world.chat()
    assert answered.status_code in (502, 503), answered.text
    assert answered.json()["type"] == "error"
    refreshed = await world.client.post(
        f"/api/v1/accounts/{world.account_id}/refresh", headers=ADMIN
    )
    assert refreshed.status_code == 502, refreshed.text
    assert "token refresh" in refreshed.json()["error"]["message"]
    assert REFRESH not in refreshed.text and REFRESH not in answered.text
