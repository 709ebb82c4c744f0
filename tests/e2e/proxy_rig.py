"""What the outbound-proxy end-to-end tests share: a gateway process on MariaDB and Redis whose
proxies are real `pproxy` processes (`FakeProxy`), a health-check target, OAuth accounts with
expired tokens, and readers of the stored state (the admin API and raw SQL).

Every request that leaves through a proxy reaches the fakes from that proxy's own egress
address (`FakeProxy.egress_ip`, 127.0.0.2 and up); a direct one from 127.0.0.1."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiohttp import web
from sqlalchemy import Engine, create_engine, text

from tests.e2e.harness import Gateway, gateway_env, run_cli
from tests.fakes.openai_upstream import UpstreamServer
from tests.fakes.proxies import FakeProxy
from tests.services import REDIS_URL

DIRECT_PEER = "127.0.0.1"
T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None], what: str, timeout_s: float = 15.0, every_s: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(every_s)


class CheckTarget:
    """What the proxies' health checks fetch (`proxy.health_check_url`): a 204 on its own port,
    so that checks never show up at the upstream fakes."""

    def __init__(self) -> None:
        self._server = UpstreamServer()

    async def _answer(self, _request: web.Request) -> web.Response:
        return web.Response(status=204)

    def __enter__(self) -> CheckTarget:
        self._server.start([("GET", "/generate_204", self._answer)])
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/generate_204"


@contextmanager
def proxies(*specs: dict[str, Any]) -> Iterator[list[FakeProxy]]:
    """Started FakeProxy processes (each spec: FakeProxy's arguments), closed afterwards."""
    started: list[FakeProxy] = []
    try:
        for spec in specs:
            started.append(FakeProxy(**spec).start())
        yield started
    finally:
        for proxy in started:
            proxy.close()


def start_env(
    tmp_path: Path, mysql_url: str, extra: Mapping[str, str], *, redis_url: str = REDIS_URL
) -> dict[str, str]:
    """The environment of a gateway on MariaDB + Redis, after `aigateway migrate`."""
    env = gateway_env(
        tmp_path,
        {
            "AIGATEWAY_DATABASE_URL": mysql_url,
            "AIGATEWAY_REDIS_URL": redis_url,
            "AIGATEWAY_ADMIN_KEY": "adm_e2e_" + uuid.uuid4().hex,
            "AIGATEWAY_SECRET_KEY": "e2e-secret-" + uuid.uuid4().hex,
            **extra,
        },
    )
    migrated = run_cli(["migrate"], tmp_path, env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def add_proxy(admin: httpx.Client, proxy: FakeProxy, label: str, **fields: Any) -> int:
    created = admin.post("/proxies", json={"url": proxy.url, "label": label, **fields})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def add_api_key_accounts(admin: httpx.Client, provider_id: str, keys: list[str]) -> list[str]:
    ids = []
    for index, key in enumerate(keys):
        created = admin.post(
            "/accounts",
            json={
                "provider_id": provider_id,
                "label": f"{provider_id} key {index}",
                "auth_data": {"api_key": key},
            },
        )
        assert created.status_code == 201, created.text
        ids.append(str(created.json()["id"]))
    return ids


def add_expired_oauth_accounts(
    admin: httpx.Client, provider_id: str, refresh_tokens: list[str], **auth_data: str
) -> list[str]:
    """OAuth accounts whose access token expired long ago: their first request refreshes it."""
    ids = []
    for index, refresh in enumerate(refresh_tokens):
        created = admin.post(
            "/accounts",
            json={
                "provider_id": provider_id,
                "label": f"{provider_id} oauth {index}",
                "auth_data": {
                    "access_token": f"at-expired-{index}",
                    "refresh_token": refresh,
                    "expires_at": "2020-01-01T00:00:00Z",
                    **auth_data,
                },
            },
        )
        assert created.status_code == 201, created.text
        ids.append(str(created.json()["id"]))
    return ids


def client_key(admin: httpx.Client) -> str:
    created = admin.post("/api-keys", json={"label": "proxy e2e"})
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def placements(admin: httpx.Client) -> dict[str, int | None]:
    """Account id -> its proxy id (None: unassigned), from GET /proxies/assignments."""
    answer = admin.get("/proxies/assignments")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    found: dict[str, int | None] = {a: None for a in body["unassigned"]}
    for proxy in body["proxies"]:
        assert proxy["count"] == len(proxy["accounts"])
        found.update(dict.fromkeys(proxy["accounts"], int(proxy["id"])))
    return found


def proxy_states(admin: httpx.Client) -> dict[int, dict[str, Any]]:
    answer = admin.get("/proxies")
    assert answer.status_code == 200, answer.text
    return {int(p["id"]): p for p in answer.json()["data"]}


def wait_for_health(gw: Gateway, proxy_id: int, status: str, timeout_s: float = 15.0) -> None:
    with gw.admin() as admin:
        wait_for(
            lambda: proxy_states(admin)[proxy_id]["health_status"] == status,
            f"proxy {proxy_id} {status}",
            timeout_s,
        )


def chat(
    gw: Gateway, key: str, model: str, *, timeout_s: float = 30.0, stream: bool = False
) -> httpx.Response:
    return httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout_s,
    )


def messages(gw: Gateway, key: str, model: str, *, timeout_s: float = 30.0) -> httpx.Response:
    return httpx.post(
        f"{gw.base_url}/v1/messages",
        json={"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        timeout=timeout_s,
    )


class Database:
    """The gateway's MariaDB database as an operator's SQL client sees it."""

    def __init__(self, mysql_url: str) -> None:
        self.engine: Engine = create_engine(
            mysql_url.replace("mysql+asyncmy://", "mysql+pymysql://")
        )

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def execute(self, sql: str, **params: Any) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(text(sql), params).rowcount)

    def request_logs(self, model: str, count: int, timeout_s: float = 15.0) -> list[dict[str, Any]]:
        """The request-log rows of `model`, once `count` of them are written (the writer
        flushes in batches)."""
        query = (
            "SELECT account_id, proxy_id, status_code, retry_count, switched_from_account_id "
            "FROM request_logs WHERE model = :model ORDER BY id"
        )

        def written() -> list[dict[str, Any]] | None:
            rows = self.rows(query, model=model)
            return rows if len(rows) >= count else None

        return wait_for(written, f"{count} request_logs rows of {model}", timeout_s, every_s=0.2)

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def database(mysql_url: str) -> Iterator[Database]:
    db = Database(mysql_url)
    try:
        yield db
    finally:
        db.close()
