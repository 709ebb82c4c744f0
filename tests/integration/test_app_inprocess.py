"""The Litestar app in-process on a temporary SQLite database, with DI overrides where needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from dishka import Provider, Scope, make_async_container, provide
from litestar.testing import AsyncTestClient

from aigateway.adapters.memory.coordination import StaticPinger
from aigateway.entrypoints.bootstrap import preflight
from aigateway.entrypoints.http.app import create_app
from aigateway.entrypoints.ioc.providers import HealthChecks, production_providers
from aigateway.entrypoints.ioc.settings import Settings, load_settings

ADMIN = {"Authorization": "Bearer adm_inprocess"}
ERROR_TYPES = {400: "invalid_request", 404: "not_found", 409: "conflict", 422: "validation_error"}


class DatabaseDown(Provider):
    scope = Scope.APP

    @provide(override=True)
    def health_checks(self) -> HealthChecks:
        return HealthChecks(StaticPinger("database", ok=False), StaticPinger("redis", ok=True))


async def settings_for(tmp_path: Path) -> Settings:
    settings = load_settings(
        {"AIGATEWAY_DATA_DIR": str(tmp_path), "AIGATEWAY_ADMIN_KEY": "adm_inprocess"}
    )
    await preflight(settings)
    return settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(create_app(await settings_for(tmp_path))) as test_client:
        yield test_client


async def test_health_is_ok_with_its_checks(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("not configured")
    assert body["request_log"] == {"pending": 0, "dropped": 0, "refused": 0}
    assert body["skipped"] == {"providers": [], "accounts": [], "proxies": []}
    assert body["notices"] == []


async def test_health_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = await settings_for(tmp_path)
    container = make_async_container(
        *production_providers(), DatabaseDown(), context={Settings: settings}
    )
    async with AsyncTestClient(create_app(settings, container)) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/v1/providers", b"{oops", 400),
        ("post", "/api/v1/providers", b'{"id": "x"}', 422),
        (
            "post",
            "/api/v1/providers",
            b'{"id":"Bad Id","name":"n","kind":"openai","base_url":"http://h"}',
            422,
        ),
        (
            "post",
            "/api/v1/providers",
            b'{"id":"p1","name":"n","kind":"grpc","base_url":"http://h"}',
            422,
        ),
        (
            "post",
            "/api/v1/providers",
            b'{"id":"p2","name":"n","kind":"openai","base_url":"ftp://h"}',
            422,
        ),
        (
            "post",
            "/api/v1/providers",
            b'{"id":"openai","name":"n","kind":"openai","base_url":"http://h"}',
            409,
        ),
        ("patch", "/api/v1/providers/nope", b'{"name": "x"}', 404),
        ("patch", "/api/v1/providers/openai", b'{"priority": "high"}', 422),
        ("patch", "/api/v1/providers/openai", b'{"config": {"read_timeout_s": -1}}', 422),
        ("patch", "/api/v1/providers/openai", b'{"config": {"total_timeout_s": "soon"}}', 422),
        ("patch", "/api/v1/providers/anthropic", b'{"config": {"anthropic_version": 2023}}', 422),
        ("patch", "/api/v1/providers/anthropic", b'{"config": {"anthropic_beta": ["a"]}}', 422),
        ("delete", "/api/v1/providers/nope", None, 404),
        ("get", "/api/v1/accounts/nope", None, 404),
        ("post", "/api/v1/accounts", b'{"provider_id":"openai","auth_data":{}}', 422),
        ("post", "/api/v1/accounts", b'{"provider_id":"openai","auth_data":"not json"}', 422),
        (
            "post",
            "/api/v1/accounts",
            b'{"provider_id":"openai","auth_data":{"api_key":"k"},"label":7}',
            422,
        ),
        ("delete", "/api/v1/api-keys/nope", None, 404),
    ],
)
async def test_bad_admin_input_is_a_json_4xx(
    client: AsyncTestClient,  # type: ignore[type-arg]
    method: str,
    path: str,
    body: bytes | None,
    status: int,
) -> None:
    kwargs = {"content": body} if body is not None else {}
    response = await client.request(method.upper(), path, headers=ADMIN, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    assert error["type"] == ERROR_TYPES[status]


async def test_account_update_semantics(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    created = await client.post(
        "/api/v1/accounts",
        headers=ADMIN,
        json={
            "provider_id": "openai",
            "label": "first",
            "auth_data": {"api_key": "sk-original-000001"},
        },
    )
    assert created.status_code == 201
    account = created.json()
    # the operator guide's PUT carries only auth_data: everything else is kept
    replaced = await client.put(
        f"/api/v1/accounts/{account['id']}",
        headers=ADMIN,
        json={"auth_data": {"api_key": "sk-replaced-000002"}},
    )
    assert replaced.status_code == 200
    after = replaced.json()
    assert after["label"] == "first"
    assert after["credential"]["masked"] == "sk-r…0002"
    assert after["credential"]["fingerprint"] != account["credential"]["fingerprint"]
    patched = await client.patch(
        f"/api/v1/accounts/{account['id']}", headers=ADMIN, json={"is_active": False}
    )
    assert patched.json()["is_active"] is False
    assert patched.json()["credential"] == after["credential"]
    listed = await client.get("/api/v1/accounts", headers=ADMIN, params={"is_active": "false"})
    assert [a["id"] for a in listed.json()["data"]] == [account["id"]]
    assert "sk-replaced-000002" not in listed.text and "sk-original-000001" not in listed.text
    deleted = await client.delete(f"/api/v1/accounts/{account['id']}", headers=ADMIN)
    assert deleted.status_code == 200
    assert (await client.get(f"/api/v1/accounts/{account['id']}", headers=ADMIN)).status_code == 404


async def test_provider_with_accounts_cannot_be_deleted(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post(
        "/api/v1/accounts",
        headers=ADMIN,
        json={"provider_id": "openai", "auth_data": {"api_key": "sk-keeps-provider-1"}},
    )
    response = await client.delete("/api/v1/providers/openai", headers=ADMIN)
    assert response.status_code == 409


async def test_oversized_body_is_413(tmp_path: Path) -> None:
    settings = await settings_for(tmp_path)
    small = msgspec.structs.replace(
        settings, server=msgspec.structs.replace(settings.server, max_body_bytes=1024)
    )
    async with AsyncTestClient(create_app(small)) as client:
        issued = await client.post("/api/v1/api-keys", headers=ADMIN, json={})
        response = await client.post(
            "/v1/chat/completions",
            content=b"x" * 4096,
            headers={"Authorization": f"Bearer {issued.json()['key']}"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


async def test_account_cooldowns_can_be_seen_cleared_and_the_account_re_enabled(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from datetime import UTC, datetime, timedelta

    from aigateway.application.ports.coordination import Rotation
    from aigateway.domain.routing.eligibility import Cooldown

    created = await client.post(
        "/api/v1/accounts",
        headers=ADMIN,
        json={"provider_id": "openai", "auth_data": {"api_key": "sk-cooling-00000001"}},
    )
    account = created.json()
    rotation: Rotation = client.app.state.runtime.services.proxy_chat._rotation
    until = datetime.now(UTC) + timedelta(seconds=30)
    await rotation.cool_down(
        "openai",
        Cooldown(account_id=account["id"], model="gpt-4o", until=until, reason="rate limited"),
    )
    listed = await client.get(f"/api/v1/accounts/{account['id']}/cooldowns", headers=ADMIN)
    assert listed.status_code == 200
    assert [(c["model"], c["reason"]) for c in listed.json()["data"]] == [
        ("gpt-4o", "rate limited")
    ]
    cleared = await client.delete(f"/api/v1/accounts/{account['id']}/cooldowns", headers=ADMIN)
    assert cleared.json()["cleared"] == 1
    again = await client.get(f"/api/v1/accounts/{account['id']}/cooldowns", headers=ADMIN)
    assert again.json()["total"] == 0

    await client.patch(
        f"/api/v1/accounts/{account['id']}", headers=ADMIN, json={"is_active": False}
    )
    enabled = await client.post(f"/api/v1/accounts/{account['id']}/enable", headers=ADMIN)
    assert enabled.status_code == 200
    assert enabled.json()["is_active"] is True
    assert enabled.json()["disabled_reason"] is None
    missing = await client.get("/api/v1/accounts/nope/cooldowns", headers=ADMIN)
    assert missing.status_code == 404


async def test_errors_outside_the_chat_routes_are_openai_error_objects(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    missing = await client.get("/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.get("/v1/chat/completions")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"
