"""Redis stopped under traffic: no gateway error, round-robin continues, Redis resumes when back.

The test runs its own redis-server on a free port; the shared one is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.harness import Gateway, free_port, gateway_env
from tests.fakes.openai_upstream import FakeOpenAI
from tests.services import unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

KEYS = ["sk-outage-one-00000001", "sk-outage-two-00000002"]


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server binary", FileNotFoundError("redis-server"))
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
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
        assert redis.Redis(port=private_redis.port).get(counter_key) == b"10"

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
            resumed = redis.Redis(port=private_redis.port).get(counter_key) is not None
            time.sleep(0.2)
        assert resumed, "the gateway never went back to Redis"
        assert httpx.get(f"{gateway.base_url}/health").status_code == 200
