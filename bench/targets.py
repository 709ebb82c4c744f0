"""Starting and stopping the measured targets, each behind its own fresh fake upstream.

- D: the fake upstream itself (the rig's ceiling).
- P: bench/passthrough.py (the floor a Python gateway is compared against).
- G: the real gateway: `aigateway migrate` + `aigateway serve` on MariaDB + Redis, its pool
  set up through the admin API: the seeded providers `openai` (gpt-*), `anthropic` (claude-*)
  and `antigravity` (gemini-*) all pointed at the one fake upstream, 3 accounts each; and a
  provider `openai-proxied` (kind openai, proxied-*, 3 accounts) whose accounts leave through
  an HTTP proxy with a user and password (a pproxy process started here, serving only that
  provider). `proxy.direct_egress` is `fallback`, so the other accounts, which no proxy
  serves, still go direct. And `openai-responses` (kind openai, resp-*, 3 accounts,
  `config.wire_api` `responses`): its upstream speaks OpenAI Responses.
- L: a LiteLLM proxy from its own venv, when one is installed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pymysql
import redis

from procs import Server, free_port
from proxy_cost import OutboundProxy

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
LITELLM_VENV_BIN = BENCH / ".litellm-venv" / "bin" / "litellm"
LITELLM_CONFIG = BENCH / "litellm_config.yaml"
LITELLM_KEY = "sk-bench-litellm"

ADMIN_KEY = "adm_bench_0123456789abcdef0123456789abcdef"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"  # noqa: S105 (a fixture)
PROXY_USER, PROXY_PASSWORD = "bench", "bench-proxy-secret"
PROXIED_PROVIDER = "openai-proxied"
RESPONSES_PROVIDER = "openai-responses"
# pproxy's own uvloop start-up fails on current uvloop: it runs on the default loop
PPROXY = (
    "import asyncio, sys; sys.modules['uvloop'] = None; "
    "asyncio.set_event_loop(asyncio.new_event_loop()); "
    "from pproxy.server import main; sys.argv[0] = 'pproxy'; main()"
)


@dataclass(frozen=True)
class Services:
    mysql_host: str = "127.0.0.1"
    mysql_port: int = 3306
    mysql_user: str = "root"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 13


@dataclass
class Target:
    name: str
    base_url: str
    server: Server  # the process whose CPU and RSS are reported
    upstream: Server
    headers: dict[str, str] = field(default_factory=dict)  # client auth, if any
    api_key: str = ""
    info: dict[str, str] = field(default_factory=dict)
    proxy: OutboundProxy | None = None  # G's outbound proxy (the openai-proxied route)
    upstream_url: str = ""  # the fake upstream's root


def _start_upstream(name: str, log_dir: Path, chunks: int, delay_ms: float) -> tuple[Server, str]:
    port = free_port()
    argv = [sys.executable, str(BENCH / "upstream.py"), "--port", str(port)]
    argv += ["--chunks", str(chunks), "--chunk-delay-ms", str(delay_ms)]
    upstream = Server(f"upstream-for-{name}", argv, log_dir)
    url = f"http://127.0.0.1:{port}"
    upstream.wait_ready(url=f"{url}/health", timeout=30)
    return upstream, url


def litellm_bin() -> Path | None:
    configured = os.environ.get("LITELLM_BIN")
    path = Path(configured) if configured else LITELLM_VENV_BIN
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AIGATEWAY_")}


@contextlib.contextmanager
def running(
    name: str,
    log_dir: Path,
    *,
    chunks: int = 8,
    chunk_delay_ms: float = 0.0,
    services: Services | None = None,
) -> Iterator[Target]:
    """Start `name` (D, P, G or L) on a fresh upstream; stop both afterwards, whatever happens."""
    upstream, upstream_url = _start_upstream(name, log_dir, chunks, chunk_delay_ms)
    try:
        if name == "D":
            yield Target("D", upstream_url, upstream, upstream)
        elif name == "P":
            with _passthrough(upstream, upstream_url, log_dir) as target:
                yield target
        elif name == "G":
            with _gateway(upstream, upstream_url, log_dir, services or Services()) as target:
                yield target
        elif name == "L":
            with _litellm(upstream, upstream_url, log_dir) as target:
                yield target
        else:
            raise ValueError(f"unknown target {name!r}")
    finally:
        upstream.stop()


@contextlib.contextmanager
def _passthrough(upstream: Server, upstream_url: str, log_dir: Path) -> Iterator[Target]:
    port = free_port()
    argv = [sys.executable, str(BENCH / "passthrough.py"), "--upstream", upstream_url]
    server = Server("P", [*argv, "--port", str(port)], log_dir)
    try:
        url = f"http://127.0.0.1:{port}"
        server.wait_ready(url=f"{url}/health", timeout=60)
        yield Target("P", url, server, upstream)
    finally:
        server.stop()


@contextlib.contextmanager
def _gateway(
    upstream: Server, upstream_url: str, log_dir: Path, services: Services
) -> Iterator[Target]:
    database = f"aigw_bench_{uuid.uuid4().hex[:10]}"
    workdir = log_dir / f"gateway-{database}"
    workdir.mkdir()
    redis_client = redis.Redis(
        host=services.redis_host, port=services.redis_port, db=services.redis_db
    )
    mysql = pymysql.connect(
        host=services.mysql_host, port=services.mysql_port, user=services.mysql_user
    )
    server: Server | None = None
    proxy = _start_proxy(log_dir)
    try:
        with mysql.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        redis_client.flushdb()
        env = _clean_env() | {
            # the accounts no proxy serves (all but openai-proxied's) go direct
            "AIGATEWAY_PROXY_DIRECT_EGRESS": "fallback",
            "AIGATEWAY_PROXY_HEALTH_CHECK_URL": f"{upstream_url}/health",
            "AIGATEWAY_DATABASE_URL": (
                f"mysql+asyncmy://{services.mysql_user}@{services.mysql_host}:"
                f"{services.mysql_port}/{database}"
            ),
            "AIGATEWAY_REDIS_URL": (
                f"redis://{services.redis_host}:{services.redis_port}/{services.redis_db}"
            ),
            "AIGATEWAY_ADMIN_KEY": ADMIN_KEY,
            "AIGATEWAY_SECRET_KEY": SECRET_KEY,
            "AIGATEWAY_DATA_DIR": str(workdir / "data"),
        }
        aigateway = str(VENV_BIN / "aigateway")
        migrated = subprocess.run(
            [aigateway, "migrate"],
            cwd=workdir,  # not the repo: a local config/config.yaml must not leak in
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"aigateway migrate failed:\n{migrated.stderr[-2000:]}")
        port = free_port()
        server = Server("G", [aigateway, "serve", "--port", str(port)], log_dir, env, workdir)
        url = f"http://127.0.0.1:{port}"
        server.wait_ready(url=f"{url}/health", timeout=90)
        key, problems = _set_up_pool(url, upstream_url, proxy)
        info = {"database": database, "redis_db": str(services.redis_db)}
        info |= {f"setup_failed:{route}": why for route, why in problems.items()}
        headers = {"Authorization": f"Bearer {key}"}
        yield Target("G", url, server, upstream, headers, key, info, proxy, upstream_url)
    finally:
        if server is not None:
            server.stop(grace=30)  # a graceful stop flushes the queued request logs
        proxy.server.stop()
        with contextlib.suppress(Exception), mysql.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        mysql.close()
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        redis_client.close()


ANTIGRAVITY_AUTH_DATA = {
    "refresh_token": "bench-refresh-token",
    "expires_at": "2099-01-01T00:00:00Z",  # far ahead: the bench never refreshes a token
    "project_id": "bench-project",
}


def _start_proxy(log_dir: Path) -> OutboundProxy:
    port = free_port()
    listen = f"http://127.0.0.1:{port}#{PROXY_USER}:{PROXY_PASSWORD}"
    server = Server("proxy-for-G", [sys.executable, "-c", PPROXY, "-l", listen], log_dir)
    server.wait_ready(port=port, timeout=30)
    return OutboundProxy(server, port, PROXY_USER, PROXY_PASSWORD)


def _add_provider(
    admin: httpx.Client, provider: dict[str, object], proxy: OutboundProxy | None = None
) -> str | None:
    """A new provider (with `proxy`, a proxy that serves only it) and its 3 API-key accounts;
    None, or why it could not be set up."""
    created = admin.post("/providers", json=provider)
    if not created.is_success:
        return f"POST /providers: {created.status_code} {created.text[:200]}"
    proxy_id = None
    if proxy is not None:
        spec = {"url": proxy.url, "label": "bench", "providers": [provider["id"]]}
        added = admin.post("/proxies", json=spec)
        if not added.is_success:
            return f"POST /proxies: {added.status_code} {added.text[:200]}"
        proxy_id = added.json()["id"]
    for index in range(3):
        account = {
            "provider_id": provider["id"],
            "label": f"bench {provider['id']} account {index}",
            "auth_data": {"api_key": f"sk-bench-{provider['id']}-{index}-{uuid.uuid4().hex}"},
        }
        answer = admin.post("/accounts", json=account)
        if not answer.is_success:
            return f"POST /accounts: {answer.status_code} {answer.text[:200]}"
    if proxy_id is not None:
        placed = admin.get("/proxies/assignments").json()
        carried = {p["id"]: p["count"] for p in placed["proxies"]}
        if carried.get(proxy_id) != 3:
            return f"the proxy carries {carried.get(proxy_id)} accounts, not 3"
    return None


def _set_up_pool(
    gateway_url: str, upstream_url: str, proxy: OutboundProxy
) -> tuple[str, dict[str, str]]:
    """Point `openai`, `anthropic` and `antigravity` at the fake upstream with 3 accounts each,
    `openai-proxied` through `proxy`, and add `openai-responses` (kind openai, speaking
    Responses upstream); return a new client key and, per route that could not be set up,
    why."""
    admin = httpx.Client(
        base_url=f"{gateway_url}/api/v1",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=10,
    )
    pools: dict[str, dict[str, object]] = {
        "openai": {"base_url": f"{upstream_url}/v1", "models": ["gpt-*"]},
        "anthropic": {"base_url": upstream_url, "models": ["claude-*"]},
        "antigravity": {
            "base_url": upstream_url,
            "models": ["gemini-*"],
            "config": {"base_urls": [upstream_url]},
        },
    }
    problems: dict[str, str] = {}
    with admin:
        for provider, update in pools.items():
            answer = admin.patch(f"/providers/{provider}", json=update)
            if not answer.is_success:
                if provider == "openai":
                    answer.raise_for_status()
                problems[provider] = (
                    f"PATCH /providers/{provider}: {answer.status_code} " + (answer.text[:200])
                )
                continue
            for index in range(3):
                token = f"bench-{provider}-{index}-{uuid.uuid4().hex}"
                auth_data = (
                    {"api_key": f"sk-{token}"}
                    if provider != "antigravity"
                    else {"access_token": f"ya29.{token}", **ANTIGRAVITY_AUTH_DATA}
                )
                account = {
                    "provider_id": provider,
                    "label": f"bench {provider} account {index}",
                    "auth_data": auth_data,
                    "is_active": True,
                }
                created = admin.post("/accounts", json=account)
                if not created.is_success:
                    if provider == "openai":
                        created.raise_for_status()
                    problems[provider] = (
                        f"POST /accounts: {created.status_code} " + (created.text[:200])
                    )
                    break
        proxied = {
            "id": PROXIED_PROVIDER,
            "name": "OpenAI through a proxy",
            "kind": "openai",
            "base_url": f"{upstream_url}/v1",
            "models": ["proxied-*"],
        }
        failed = _add_provider(admin, proxied, proxy)
        if failed is not None:
            problems[PROXIED_PROVIDER] = failed
        # the gateway calls `{base_url}/responses` on a provider that speaks Responses
        responses = {
            "id": RESPONSES_PROVIDER,
            "name": "OpenAI Responses",
            "kind": "openai",
            "base_url": f"{upstream_url}/v1",
            "models": ["resp-*"],
            "config": {"wire_api": "responses"},
        }
        failed = _add_provider(admin, responses)
        if failed is not None:
            problems[RESPONSES_PROVIDER] = failed
        created = admin.post("/api-keys", json={"label": "bench"})
        created.raise_for_status()
        return str(created.json()["key"]), problems


@contextlib.contextmanager
def _litellm(upstream: Server, upstream_url: str, log_dir: Path) -> Iterator[Target]:
    binary = litellm_bin()
    if binary is None:
        raise RuntimeError("LiteLLM is not installed (see bench/README.md)")
    port = free_port()
    env = os.environ | {
        "BENCH_UPSTREAM_BASE": f"{upstream_url}/v1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the model cost map
        "LITELLM_LOG": "ERROR",
        # Anthropic /v1/messages for an openai/ model: Chat Completions upstream, as for G,
        # not the Responses API (which the fake upstream does not serve)
        "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True",
    }
    argv = [str(binary), "--config", str(LITELLM_CONFIG), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--num_workers", "1"]
    server = Server("L", argv, log_dir, env)
    try:
        url = f"http://127.0.0.1:{port}"
        server.wait_ready(url=f"{url}/health/liveliness", timeout=180)
        headers = {"Authorization": f"Bearer {LITELLM_KEY}"}
        yield Target("L", url, server, upstream, headers, LITELLM_KEY, _litellm_info(binary))
    finally:
        server.stop()


def _litellm_info(binary: Path) -> dict[str, str]:
    python = binary.parent / "python"
    with contextlib.suppress(Exception):
        version = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        return {"version": version, "binary": str(binary)}
    return {"binary": str(binary)}
