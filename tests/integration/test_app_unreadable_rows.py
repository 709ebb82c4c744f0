"""The gateway starts and keeps its snapshot current with unreadable rows in the database; /health
and the admin listings name them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy import insert

from aigateway.adapters.persistence.engine import create_engine
from aigateway.adapters.persistence.tables import accounts, providers
from aigateway.entrypoints.http.app import create_app
from tests.integration.test_app_inprocess import ADMIN, settings_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def insert_unreadable_rows(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(providers).values(
                    id="future",
                    name="From a newer version",
                    kind="grpc",
                    base_url="https://future.test",
                    models=["future-*"],
                    priority=0,
                    is_active=True,
                    config={},
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            await conn.execute(
                insert(accounts).values(
                    id="corrupt-1",
                    provider_id="openai",
                    label="damaged",
                    auth_type="api_key",
                    # the cipher's format, sealed with another key
                    auth_data=base64.b64encode(b"\x01" + bytes(44)).decode(),
                    is_active=True,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    finally:
        await engine.dispose()


async def test_the_gateway_starts_and_reloads_with_unreadable_rows(tmp_path: Path) -> None:
    settings = await settings_for(tmp_path)
    await insert_unreadable_rows(settings.database.url)

    async with AsyncTestClient(create_app(settings)) as client:
        health = await client.get("/health")
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["status"] == "ok"
        assert body["skipped"] == {
            "providers": [{"id": "future", "reason": "unknown kind 'grpc'"}],
            "accounts": [
                {"id": "corrupt-1", "reason": "stored credential does not decrypt with this key"}
            ],
            "proxies": [],
        }

        created = await client.post(
            "/api/v1/accounts",
            headers=ADMIN,
            json={"provider_id": "openai", "auth_data": {"api_key": "sk-readable-0000001"}},
        )
        assert created.status_code == 201, created.text
        listed = await client.get("/api/v1/accounts", headers=ADMIN)
        assert listed.status_code == 200, listed.text
        data = listed.json()["data"]
        assert [a["id"] for a in data] == [created.json()["id"], "corrupt-1"]
        assert data[1] == {
            "id": "corrupt-1",
            "error": "unreadable: stored credential does not decrypt with this key",
        }
        assert listed.json()["total"] == 2
        one = await client.get("/api/v1/accounts/corrupt-1", headers=ADMIN)
        assert one.status_code == 409
        assert "does not decrypt" in one.json()["error"]["message"]
        provider_list = await client.get("/api/v1/providers", headers=ADMIN)
        assert provider_list.status_code == 200
        assert {"id": "future", "error": "unreadable: unknown kind 'grpc'"} in provider_list.json()[
            "data"
        ]

        # a client key revoked now is refused: the snapshot still reloads
        issued = (await client.post("/api/v1/api-keys", headers=ADMIN, json={})).json()
        chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        auth = {"Authorization": f"Bearer {issued['key']}"}
        revoked = await client.delete(f"/api/v1/api-keys/{issued['id']}", headers=ADMIN)
        assert revoked.status_code == 200
        refused = await client.post("/v1/chat/completions", json=chat, headers=auth)
        assert refused.status_code == 401

        assert (await client.delete("/api/v1/accounts/corrupt-1", headers=ADMIN)).status_code == 200
        after = (await client.get("/health")).json()
        assert after["skipped"]["accounts"] == []
