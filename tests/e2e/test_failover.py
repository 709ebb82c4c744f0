"""Failover across accounts and processes: a 429 never reaches the client, and the cooldown
it starts is honoured by every gateway process sharing Redis."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.e2e.private_services import PrivateRedis
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

A, B = "sk-failover-a-0000000001", "sk-failover-b-0000000002"


def chat(gateway: Gateway, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def test_a_429_fails_over_and_both_processes_honour_the_cooldown(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    redis_server = PrivateRedis()
    redis_server.start()
    try:
        env = gateway_env(
            tmp_path,
            {
                "AIGATEWAY_REDIS_URL": redis_server.url,
                "AIGATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shared.db",
                "AIGATEWAY_ADMIN_KEY": "adm_" + uuid.uuid4().hex,
            },
        )
        with Gateway(tmp_path, env) as first, Gateway(tmp_path, env) as second:
            client_key = first.setup_pool(fake_openai.base_url, [A, B], ["gpt-*"])
            gateways = (first, second)
            for gw in gateways:  # both processes know the pool before traffic starts
                for _ in range(50):
                    if chat(gw, client_key, "gpt-warmup").status_code == 200:
                        break
            fake_openai.calls.clear()
            fake_openai.errors[A] = (
                429,
                {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
            )
            fake_openai.error_headers[A] = {"Retry-After": "30"}
            statuses = [chat(gateways[i % 2], client_key, "gpt-4o").status_code for i in range(20)]
            assert statuses == [200] * 20
            seen = Counter(fake_openai.keys_seen())
            assert seen[A] == 1, seen  # one 429, then 30 s of cooldown in both processes
            assert seen[B] == 20
            with first.admin() as admin:
                accounts = admin.get("/accounts").json()["data"]
                a_id = next(a["id"] for a in accounts if a["credential"]["masked"].endswith(A[-4:]))
                cooling = admin.get(f"/accounts/{a_id}/cooldowns").json()["data"]
                assert [c["model"] for c in cooling] == ["gpt-4o"]
                admin.delete(f"/accounts/{a_id}/cooldowns").raise_for_status()
            del fake_openai.errors[A]
            for gw in gateways:  # back in rotation in both processes once cleared
                before = Counter(fake_openai.keys_seen())[A]
                assert [chat(gw, client_key, "gpt-4o").status_code for _ in range(4)] == [200] * 4
                assert Counter(fake_openai.keys_seen())[A] == before + 2
    finally:
        redis_server.stop()
