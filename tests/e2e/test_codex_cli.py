"""Codex CLI, the real CLI (npm `@openai/codex`, installed by `.ci/run` into `tests/e2e/clients`),
completes a turn with a tool call through the gateway's Responses endpoint.

Codex speaks only the OpenAI Responses API: `POST {base_url}/responses`, streamed, with the whole
history in every request (`store: false`). It runs as `codex exec` (non-interactive) in a
throwaway workspace holding `note.txt`, with its own `CODEX_HOME` whose `config.toml` defines the
gateway as a custom model provider (`base_url` at the gateway's `/v1`, the client key in an
environment variable named by `env_key`, no retries). For a model it has no metadata for, Codex
offers its shell as the function tool `exec_command` (`{"cmd": …}`).

One gateway, two upstreams: `openai` (kind openai, a Chat Completions fake, translated both ways)
serves `gpt-*`; `antigravity` (the Cloud Code fake) serves `gemini-*` and `claude-*`. Each fake
answers the first request with an `exec_command` call `cat note.txt`; Codex runs it in the
workspace and sends its output back as a `function_call_output` after the replayed call; the fake
answers that with `The tool said: <output>`, which Codex prints as its last message. The nonce is
only in the file, so finding it at the upstream proves the command ran. A model the gateway
routes nowhere ends Codex at once with the gateway's message.

Under CI=true a missing Codex binary fails the test; elsewhere it is skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.cloud_code import CloudCall, FakeCloudCode
from tests.fakes.openai_upstream import FakeOpenAI, content_text
from tests.services import in_ci

pytestmark = pytest.mark.e2e

CLIENTS_DIR = Path(__file__).parent / "clients"
CODEX_BIN = CLIENTS_DIR / "node_modules" / ".bin" / "codex"
TIMEOUT_S = 60
NONCE = f"nonce-{secrets.token_hex(6)}"
SHELL_TOOL = "exec_command"
COMMAND = {"cmd": "cat note.txt"}
PROMPT = "What does note.txt in this directory say?"
ACCESS_TOKEN = "ya29.codex-antigravity-0001"
PROJECT = "codex-project-0001"
KEY_VARIABLE = "AIGATEWAY_CLIENT_KEY"
CONFIG = """\
model_provider = "aigateway"
model = "{model}"
check_for_update_on_startup = false

[analytics]
enabled = false

[otel]
exporter = "none"

[model_providers.aigateway]
name = "AIGateway"
base_url = "{base_url}/v1"
env_key = "{key_variable}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""


def codex_binary() -> Path:
    if CODEX_BIN.exists() and os.access(CODEX_BIN, os.X_OK) and shutil.which("node"):
        return CODEX_BIN
    message = (
        f"Codex CLI is not installed at {CODEX_BIN} (npm ci --prefix tests/e2e/clients installs it)"
    )
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(tool_name=SHELL_TOOL, tool_arguments=COMMAND) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_cloud() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens={ACCESS_TOKEN}, tool_name=SHELL_TOOL, tool_input=COMMAND) as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI, fake_cloud: FakeCloudCode
) -> Iterator[tuple[Gateway, str]]:
    """The gateway with both upstreams on their fakes; yields it and a client key."""
    workdir = tmp_path_factory.mktemp("codex")
    with Gateway(workdir, gateway_env(workdir)) as gw, gw.admin() as admin:
        admin.patch(
            "/providers/openai", json={"base_url": fake_openai.base_url, "models": ["gpt-*"]}
        ).raise_for_status()
        admin.post(
            "/accounts",
            json={
                "provider_id": "openai",
                "label": "openai for codex",
                "auth_data": {"api_key": "sk-test-openai-codex-0001"},
                "is_active": True,
            },
        ).raise_for_status()
        # `claude-*` goes to Antigravity, not to the seeded anthropic provider
        admin.patch("/providers/anthropic", json={"is_active": False}).raise_for_status()
        admin.patch(
            "/providers/antigravity",
            json={
                "base_url": fake_cloud.base_url,
                "models": ["gemini-*", "claude-*"],
                "config": {"base_urls": [fake_cloud.base_url]},
            },
        ).raise_for_status()
        admin.post(
            "/accounts",
            json={
                "provider_id": "antigravity",
                "label": "antigravity for codex",
                "auth_data": {
                    "access_token": ACCESS_TOKEN,
                    "refresh_token": "1//codex-refresh",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "project_id": PROJECT,
                },
                "is_active": True,
            },
        ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "codex"})
        created.raise_for_status()
        yield gw, str(created.json()["key"])


def run_codex(gateway: Gateway, client_key: str, model: str, root: Path) -> str:
    """One `codex exec` turn against the gateway in a fresh workspace; Codex's last message."""
    completed = exec_codex(gateway, client_key, model, root)
    detail = (
        f"exit {completed.returncode}\nstdout: {completed.stdout[-4000:]}\n"
        f"stderr: {completed.stderr[-4000:]}\ngateway log:\n{gateway.output()[-4000:]}"
    )
    assert completed.returncode == 0, detail
    return completed.stdout.strip()


def exec_codex(
    gateway: Gateway, client_key: str, model: str, root: Path
) -> subprocess.CompletedProcess[str]:
    """`codex exec` once on `model`, in a fresh workspace and CODEX_HOME under `root`."""
    binary = codex_binary()
    home = root / "codex-home"
    workspace = root / "workspace"
    home.mkdir(parents=True)
    workspace.mkdir()
    (workspace / "note.txt").write_text(f"The note holds {NONCE}.\n")
    config = CONFIG.format(model=model, base_url=gateway.base_url, key_variable=KEY_VARIABLE)
    (home / "config.toml").write_text(config)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(home),
        KEY_VARIABLE: client_key,
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [
            str(binary),
            "exec",
            "--strict-config",
            "--skip-git-repo-check",
            "--ephemeral",
            "--color",
            "never",
            # the workspace is a throwaway directory: no approvals, no sandbox to set up
            "--dangerously-bypass-approvals-and-sandbox",
            "--cd",
            str(workspace),
            PROMPT,
        ],
        env=env,
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_codex_tool_turn_translated_to_chat_completions(
    gateway: tuple[Gateway, str], fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    gw, client_key = gateway
    before = len(fake_openai.calls)
    said = run_codex(gw, client_key, "gpt-5.1", tmp_path)

    calls = fake_openai.calls[before:]
    assert len(calls) == 2, [c.body.get("messages", [])[-1:] for c in calls]
    first, last = calls
    assert first.stream and first.model == "gpt-5.1"
    assert SHELL_TOOL in [tool["function"]["name"] for tool in first.body["tools"]]
    # the second request replays the whole turn: the prompt, the call, then its output
    messages = last.body["messages"]
    assert any(m["role"] == "user" and PROMPT in content_text(m["content"]) for m in messages)
    (assistant,) = [m for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    (tool_call,) = assistant["tool_calls"]
    assert tool_call["id"] == fake_openai.issued_tool_ids[before]
    assert tool_call["function"]["name"] == SHELL_TOOL
    assert json.loads(tool_call["function"]["arguments"]) == COMMAND
    assert messages[-1]["role"] == "tool" and messages[-1]["tool_call_id"] == tool_call["id"]
    assert NONCE in content_text(messages[-1]["content"])
    assert said.startswith("The tool said:") and NONCE in said


def parts_with(call: CloudCall, key: str) -> list[dict[str, Any]]:
    return [p for c in call.request["contents"] for p in c["parts"] if key in p]


@pytest.mark.parametrize("model", ["gemini-3-flash", "claude-sonnet-4-6"])
def test_codex_tool_turn_through_antigravity(
    gateway: tuple[Gateway, str], fake_cloud: FakeCloudCode, tmp_path: Path, model: str
) -> None:
    gw, client_key = gateway
    before = len(fake_cloud.generation_calls())
    said = run_codex(gw, client_key, model, tmp_path)

    calls = [c for c in fake_cloud.generation_calls()[before:] if c.model == model]
    assert len(calls) == 2, [c.request["contents"][-1:] for c in calls]
    first, last = calls
    assert first.method == "streamGenerateContent" and first.body["project"] == PROJECT
    declared = [d["name"] for t in first.request["tools"] for d in t["functionDeclarations"]]
    assert SHELL_TOOL in declared
    (sent_call,) = parts_with(last, "functionCall")
    assert sent_call["functionCall"]["name"] == SHELL_TOOL
    assert sent_call["functionCall"]["args"] == COMMAND
    if model.startswith("gemini"):
        # the call's thought signature came back through Codex's replayed history
        assert (
            sent_call["thoughtSignature"]
            == fake_cloud.issued_signatures[sent_call["functionCall"]["id"]]
        )
    (response,) = parts_with(last, "functionResponse")
    assert response["functionResponse"]["name"] == SHELL_TOOL
    assert NONCE in str(response["functionResponse"]["response"])
    assert said.startswith("The tool said:") and NONCE in said


def test_codex_shows_the_gateways_refusal_of_an_unrouted_model(
    gateway: tuple[Gateway, str],
    fake_openai: FakeOpenAI,
    fake_cloud: FakeCloudCode,
    tmp_path: Path,
) -> None:
    gw, client_key = gateway
    before = (len(fake_openai.calls), len(fake_cloud.generation_calls()))
    completed = exec_codex(gw, client_key, "mistral-large-9", tmp_path)

    # a 4xx is final: Codex stops at once with the gateway's message, no upstream was asked
    assert completed.returncode != 0 and completed.stdout.strip() == ""
    errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors and all("mistral-large-9" in line for line in errors), completed.stderr
    assert (len(fake_openai.calls), len(fake_cloud.generation_calls())) == before
