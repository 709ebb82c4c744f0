"""The gateway on its embedded defaults (SQLite + in-process stores), driven by the openai SDK."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.harness import Gateway, free_port, gateway_env, run_cli
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = pytest.mark.e2e

ACCOUNT_KEYS = ["sk-test-account-one-0001", "sk-test-account-two-0002"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply_text="The answer is forty two.") as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("embedded")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw


@pytest.fixture(scope="module")
def client_key(gateway: Gateway, upstream: FakeOpenAI) -> str:
    return gateway.setup_pool(upstream.base_url, ACCOUNT_KEYS, ["gpt-*"])


@pytest.fixture
def sdk(gateway: Gateway, client_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=client_key, max_retries=0)


def test_first_start_prints_an_admin_key_that_opens_the_admin_api(gateway: Gateway) -> None:
    assert gateway.admin_key is not None and gateway.admin_key.startswith("adm_")
    assert httpx.get(f"{gateway.base_url}/health").json()["status"] == "ok"
    with gateway.admin() as admin:
        providers = admin.get("/providers").json()["data"]
    assert {"openai", "anthropic", "antigravity"} <= {p["id"] for p in providers}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer ' OR '1'='1"}],
    ids=["no-key", "wrong-key", "injection"],
)
def test_admin_api_refuses_without_the_admin_key(gateway: Gateway, headers: dict[str, str]) -> None:
    response = httpx.get(f"{gateway.base_url}/api/v1/accounts", headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()


def test_admin_api_refuses_a_client_key(gateway: Gateway, client_key: str) -> None:
    response = httpx.get(
        f"{gateway.base_url}/api/v1/accounts", headers={"Authorization": f"Bearer {client_key}"}
    )
    assert response.status_code == 401


def test_chat_goes_round_robin_with_the_account_keys(
    sdk: openai.OpenAI, upstream: FakeOpenAI, client_key: str
) -> None:
    before = len(upstream.calls)
    for _ in range(4):
        reply = sdk.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "The answer is forty two."
        assert reply.usage is not None and reply.usage.completion_tokens == 5
    keys = upstream.keys_seen()[before:]
    assert Counter(keys) == {ACCOUNT_KEYS[0]: 2, ACCOUNT_KEYS[1]: 2}
    assert keys[0] != keys[1]
    assert client_key not in keys


def test_streaming_relays_every_chunk(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert text == "The answer is forty two."
    assert usage is not None and usage.completion_tokens == 5


def test_models_lists_concrete_names(gateway: Gateway, client_key: str) -> None:
    with gateway.admin() as admin:
        admin.post(
            "/providers",
            json={
                "id": "local",
                "name": "Local",
                "kind": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "models": ["llama-3-8b", "qwen-*"],
            },
        ).raise_for_status()
    sdk = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=client_key)
    ids = {m.id for m in sdk.models.list()}
    assert "llama-3-8b" in ids
    assert not any("*" in i for i in ids)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"model": "gpt-4o"}', "messages"),
        (b'{"model": 7, "messages": []}', "model"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user"}], "stream": "yes"}', "stream"),
        (b'{"model": "gpt-4o", "messages": "hello"}', "messages"),
        (b"[1, 2]", None),
    ],
)
def test_bad_bodies_get_400_in_openai_format(
    gateway: Gateway, client_key: str, body: bytes, param: str | None
) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {client_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    if param is not None:
        assert error["param"] == param


def test_unknown_model_is_404_model_not_found(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "x"}]
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "model_not_found"
    assert body["message"] == "provider not found: no-such-model"


def test_provider_without_accounts_is_503(gateway: Gateway, sdk: openai.OpenAI) -> None:
    with gateway.admin() as admin:
        admin.post(
            "/providers",
            json={
                "id": "empty",
                "name": "Empty",
                "kind": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "models": ["empty-model"],
            },
        ).raise_for_status()
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.chat.completions.create(
            model="empty-model", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.status_code == 503
    assert "no available accounts for provider empty" in str(caught.value)


def test_missing_or_revoked_client_key_is_401(gateway: Gateway, upstream: FakeOpenAI) -> None:
    anonymous = httpx.post(f"{gateway.base_url}/v1/chat/completions", json={})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
    with gateway.admin() as admin:
        created = admin.post("/api-keys", json={"label": "short-lived"}).json()
        admin.delete(f"/api-keys/{created['id']}").raise_for_status()
    sdk = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=created["key"], max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_account_listing_never_shows_a_secret(gateway: Gateway, client_key: str) -> None:
    with gateway.admin() as admin:
        listing = admin.get("/accounts", params={"provider_id": "openai"})
        keys = admin.get("/api-keys")
    assert listing.status_code == 200
    text = listing.text
    for secret in ACCOUNT_KEYS:
        assert secret not in text
        assert secret[:4] + "…" + secret[-4:] in text
    assert client_key not in keys.text
    accounts = listing.json()["data"]
    assert {a["credential"]["fingerprint"][:7] for a in accounts} == {"sha256:"}


def test_account_create_with_unknown_provider_is_422(gateway: Gateway) -> None:
    with gateway.admin() as admin:
        response = admin.post(
            "/accounts", json={"provider_id": "nope", "label": "x", "auth_data": {"api_key": "k"}}
        )
    assert response.status_code == 422
    assert "nope" in response.json()["error"]["message"]


def test_restart_keeps_the_admin_key_and_prints_no_new_one(tmp_path: Path) -> None:
    env = gateway_env(tmp_path)
    with Gateway(tmp_path, env) as first:
        key = first.admin_key
    assert key
    with Gateway(tmp_path, env, port=None) as second:
        assert "adm_" not in second.output()
        second.admin_key = key
        with second.admin() as admin:
            assert admin.get("/providers").status_code == 200


def test_bad_configuration_stops_with_one_line(tmp_path: Path) -> None:
    cases = {
        "AIGATEWAY_DATABASE_URL": "not a url at all",
        "AIGATEWAY_REDIS_URL": "http://example.invalid",
    }
    for name, value in cases.items():
        result = run_cli(["serve"], tmp_path, gateway_env(tmp_path, {name: value}))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("aigateway: error: invalid configuration")
    unreachable = gateway_env(
        tmp_path, {"AIGATEWAY_DATABASE_URL": "mysql+asyncmy://root@127.0.0.1:1/x"}
    )
    result = run_cli(["serve"], tmp_path, unreachable)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "cannot reach the database" in result.stderr
    no_redis = gateway_env(tmp_path, {"AIGATEWAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    result = run_cli(["serve"], tmp_path, no_redis)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "cannot reach Redis" in result.stderr


def test_wrong_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = gateway_env(tmp_path, {"AIGATEWAY_SECRET_KEY": "first-secret"})
    assert run_cli(["migrate"], tmp_path, env).returncode == 0
    with Gateway(tmp_path, env):
        pass
    result = run_cli(["serve"], tmp_path, env | {"AIGATEWAY_SECRET_KEY": "another-secret"})
    assert result.returncode == 1
    assert "AIGATEWAY_SECRET_KEY does not match" in result.stderr
    assert "first-secret" not in result.stderr and "another-secret" not in result.stderr


def test_error_bodies_are_json(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.base_url}/v1/nowhere")
    assert response.status_code == 404
    assert json.loads(response.text)["error"]["message"]


def test_stream_chunks_reach_the_client_before_the_upstream_finishes(
    gateway: Gateway, client_key: str, upstream: FakeOpenAI
) -> None:
    gate = threading.Event()
    upstream.stream_gate = gate
    try:
        body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        headers = {"Authorization": f"Bearer {client_key}"}
        with httpx.stream(
            "POST", f"{gateway.base_url}/v1/chat/completions", json=body, headers=headers
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            events: list[str] = []
            while not any('"The answer' in e for e in events):
                line = next(lines)
                if line.startswith("data: "):
                    events.append(line)
            assert not gate.is_set()  # the upstream is still holding the rest back
            gate.set()
            events += [line for line in lines if line.startswith("data: ")]
    finally:
        upstream.stream_gate = None
        gate.set()
    assert events[-1] == "data: [DONE]"
    deltas = [json.loads(e[6:]) for e in events[:-1]]
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in deltas if d["choices"])
    assert text == "The answer is forty two."


def test_sigterm_flushes_queued_request_logs(tmp_path: Path, upstream: FakeOpenAI) -> None:
    env = gateway_env(tmp_path, {"AIGATEWAY_LOG_FLUSH_INTERVAL_S": "600"})
    with Gateway(tmp_path, env) as gw:
        key = gw.setup_pool(upstream.base_url, ["sk-flush-test-key-0001"], ["gpt-*"])
        sdk = openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=key, max_retries=0)
        for _ in range(5):
            sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        assert gw.stop() == 0
    with sqlite3.connect(tmp_path / "data" / "aigateway.db") as db:
        rows = db.execute("SELECT status_code, COUNT(*) FROM request_logs GROUP BY 1").fetchall()
    assert rows == [(200, 5)]
