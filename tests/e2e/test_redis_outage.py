"""Redis stopped under traffic: no gateway error, round-robin continues, Redis resumes when back.

The test runs its own redis-server on a free port; the shared one is never touched.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.e2e.load import SteadyLoad
from tests.e2e.private_services import PrivateRedis
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

KEYS = ["sk-outage-one-00000001", "sk-outage-two-00000002"]


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def chat(gateway: Gateway, key: str) -> int:
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "gpt-outage", "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    return response.status_code


def test_redis_outage_is_invisible_to_clients(
    tmp_path: Path, private_redis: PrivateRedis, fake_openai: FakeOpenAI
) -> None:
    env = gateway_env(
        tmp_path, {"AIGATEWAY_REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0"}
    )
    counter_key = "account:rr:openai:gpt-outage"
    with Gateway(tmp_path, env) as gateway:
        client_key = gateway.setup_pool(fake_openai.base_url, KEYS, ["gpt-*"])
        assert [chat(gateway, client_key) for _ in range(10)] == [200] * 10
        assert private_redis.client().get(counter_key) == b"10"

        private_redis.stop()
        before = len(fake_openai.calls)
        statuses = [chat(gateway, client_key) for _ in range(20)]
        assert statuses == [200] * 20
        assert Counter(fake_openai.keys_seen()[before:]) == {KEYS[0]: 10, KEYS[1]: 10}
        assert httpx.get(f"{gateway.base_url}/health").status_code == 503

        private_redis.start()  # an empty Redis on the same port
        deadline = time.monotonic() + 20
        resumed = False
        while time.monotonic() < deadline and not resumed:
            assert chat(gateway, client_key) == 200
            resumed = private_redis.client().get(counter_key) is not None
            time.sleep(0.2)
        assert resumed, "the gateway never went back to Redis"
        assert httpx.get(f"{gateway.base_url}/health").status_code == 200


def test_redis_down_for_ten_seconds_under_steady_load_gives_no_5xx(
    tmp_path: Path, private_redis: PrivateRedis, fake_openai: FakeOpenAI
) -> None:
    env = gateway_env(tmp_path, {"AIGATEWAY_REDIS_URL": private_redis.url})
    with Gateway(tmp_path, env) as gateway:
        client_key = gateway.setup_pool(fake_openai.base_url, KEYS, ["gpt-*"])
        with SteadyLoad(gateway.base_url, client_key, "gpt-steady", rate=50) as load:
            time.sleep(1)
            private_redis.stop()
            time.sleep(10)
            private_redis.start()
            time.sleep(2)
        assert set(load.statuses) == {200}, load.statuses
        assert sum(load.statuses.values()) > 400  # about 50 per second for 13 s
