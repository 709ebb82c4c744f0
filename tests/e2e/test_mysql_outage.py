"""MariaDB stopped under traffic: requests keep being answered from the cached snapshot, admin
writes answer 503, and every request answered meanwhile reaches request_logs once it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Gateway, gateway_env, run_cli
from tests.e2e.load import SteadyLoad
from tests.e2e.private_services import PrivateMariaDB
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb]


@pytest.fixture
def mariadb(tmp_path: Path) -> Iterator[PrivateMariaDB]:
    server = PrivateMariaDB(tmp_path)
    server.start()
    yield server
    server.stop()


def chat(gateway: Gateway, key: str) -> int:
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    return response.status_code


def logged(mariadb: PrivateMariaDB) -> int:
    result = mariadb.sql("SELECT COUNT(*) FROM gw.request_logs WHERE status_code = 200")
    return int(result.stdout.strip()) if result.returncode == 0 else -1


def test_database_outage_loses_no_request_and_no_log_row(
    tmp_path: Path, mariadb: PrivateMariaDB, fake_openai: FakeOpenAI
) -> None:
    assert mariadb.sql("CREATE DATABASE gw").returncode == 0
    env = gateway_env(tmp_path, {"AIGATEWAY_DATABASE_URL": mariadb.url("gw")})
    assert run_cli(["migrate"], tmp_path, env).returncode == 0
    with Gateway(tmp_path, env) as gateway:
        key = gateway.setup_pool(fake_openai.base_url, ["sk-outage-db-0000001"], ["gpt-*"])
        assert [chat(gateway, key) for _ in range(5)] == [200] * 5

        mariadb.stop()
        assert [chat(gateway, key) for _ in range(20)] == [200] * 20
        with gateway.admin() as admin:
            write = admin.post("/api-keys", json={"label": "during outage"})
        assert write.status_code == 503
        assert write.json()["error"]["type"] == "service_unavailable"
        assert httpx.get(f"{gateway.base_url}/health").status_code == 503

        mariadb.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and logged(mariadb) < 25:
            time.sleep(0.25)
        assert logged(mariadb) == 25
        assert gateway.stop() == 0


def test_database_down_for_ten_seconds_under_steady_load(
    tmp_path: Path, mariadb: PrivateMariaDB, fake_openai: FakeOpenAI
) -> None:
    assert mariadb.sql("CREATE DATABASE gw").returncode == 0
    env = gateway_env(tmp_path, {"AIGATEWAY_DATABASE_URL": mariadb.url("gw")})
    assert run_cli(["migrate"], tmp_path, env).returncode == 0
    with Gateway(tmp_path, env) as gateway:
        key = gateway.setup_pool(fake_openai.base_url, ["sk-steady-db-0000001"], ["gpt-*"])
        with SteadyLoad(gateway.base_url, key, "gpt-4o", rate=50) as load:
            time.sleep(1)
            mariadb.stop()
            time.sleep(10)
            mariadb.start()
            time.sleep(1)
        answered = load.statuses[200]
        assert set(load.statuses) == {200}, load.statuses
        assert answered > 400
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and logged(mariadb) < answered:
            time.sleep(0.25)
        assert logged(mariadb) == answered  # every request answered in the outage is logged
