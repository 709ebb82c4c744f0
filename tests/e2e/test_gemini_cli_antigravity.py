"""Gemini CLI, the real client (API-key mode against `GOOGLE_GEMINI_BASE_URL`), completes a turn
with a tool call through an Antigravity account: on a `gemini-*` model (its requests relayed
untranslated) and on a `claude-*` model (Claude's rules applied as edits), streaming.

The fake Cloud Code backend answers the first request with a `read_file` call for a file holding
a nonce, and the request holding the tool result with `The tool said: <result>`, which Gemini
CLI prints as its answer.
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
from tests.e2e.test_claude_code import CLIENTS_DIR, TIMEOUT_S
from tests.fakes.cloud_code import CloudCall, FakeCloudCode
from tests.services import in_ci

pytestmark = pytest.mark.e2e

GEMINI_BIN = CLIENTS_DIR / "node_modules" / ".bin" / "gemini"
ACCESS_TOKEN = "ya29.gemini-cli-antigravity-0001"
PROJECT = "gemini-cli-project-0001"
NONCE = secrets.token_hex(8)


def gemini_binary() -> Path:
    if GEMINI_BIN.exists() and os.access(GEMINI_BIN, os.X_OK) and shutil.which("node"):
        return GEMINI_BIN
    message = (
        f"Gemini CLI is not installed at {GEMINI_BIN}"
        " (npm ci --prefix tests/e2e/clients installs it)"
    )
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gemini-cli-workspace")
    (folder / "notes.txt").write_text(f"The nonce is {NONCE}.\n")
    return folder


@pytest.fixture(scope="module")
def fake(workspace: Path) -> Iterator[FakeCloudCode]:
    tool_input = {"file_path": str(workspace / "notes.txt")}
    with FakeCloudCode(
        tokens={ACCESS_TOKEN}, tool_name="read_file", tool_input=tool_input
    ) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeCloudCode
) -> Iterator[tuple[Gateway, str]]:
    workdir = tmp_path_factory.mktemp("gemini-cli-antigravity")
    with Gateway(workdir, gateway_env(workdir)) as gw, gw.admin() as admin:
        admin.patch("/providers/anthropic", json={"is_active": False}).raise_for_status()
        admin.patch(
            "/providers/antigravity",
            json={
                "base_url": fake.base_url,
                "models": ["gemini-*", "claude-*"],
                "config": {"base_urls": [fake.base_url]},
            },
        ).raise_for_status()
        admin.post(
            "/accounts",
            json={
                "provider_id": "antigravity",
                "label": "antigravity for gemini cli",
                "auth_data": {
                    "access_token": ACCESS_TOKEN,
                    "refresh_token": "1//gemini-cli-refresh",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "project_id": PROJECT,
                },
                "is_active": True,
            },
        ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "gemini cli"})
        created.raise_for_status()
        yield gw, str(created.json()["key"])


def run_gemini(gateway: Gateway, key: str, model: str, home: Path, cwd: Path) -> dict[str, Any]:
    """One headless turn of Gemini CLI against the gateway; its JSON result."""
    binary = gemini_binary()
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"disableAutoUpdate": True},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
    }
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GEMINI_API_KEY": key,
        "GOOGLE_GEMINI_BASE_URL": gateway.base_url,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "NO_COLOR": "1",
    }
    completed = subprocess.run(
        [str(binary), "-p", "Read notes.txt", "-m", model, "--yolo", "--output-format", "json"],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    detail = f"exit {completed.returncode}; stderr: {completed.stderr[-2000:]}"
    assert completed.returncode == 0, detail
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def function_parts(call: CloudCall, key: str) -> list[dict[str, Any]]:
    return [p for c in call.request["contents"] for p in c["parts"] if key in p]


@pytest.mark.parametrize("model", ["gemini-3-flash", "claude-sonnet-4-6"])
def test_gemini_cli_tool_turn_through_antigravity(
    gateway: tuple[Gateway, str],
    fake: FakeCloudCode,
    workspace: Path,
    tmp_path: Path,
    model: str,
) -> None:
    gw, client_key = gateway
    before = len(fake.generation_calls())
    result = run_gemini(gw, client_key, model, tmp_path / "home", workspace)
    assert result["response"].strip() == f"The tool said: The nonce is {NONCE}."

    calls = fake.generation_calls()[before:]
    family = model.split("-")[0]
    assert calls and all(c.model.startswith(family) and c.body["project"] == PROJECT for c in calls)
    assert all(c.method == "streamGenerateContent" for c in calls)
    last = calls[-1]
    (response,) = function_parts(last, "functionResponse")
    assert NONCE in json.dumps(response["functionResponse"]["response"])
    (sent_call,) = function_parts(last, "functionCall")
    assert sent_call["functionCall"]["name"] == "read_file"
    declarations = last.request["tools"][0]["functionDeclarations"]
    if family == "gemini":  # untranslated: Gemini CLI's own schemas and signatures
        assert all("parametersJsonSchema" in d for d in declarations)
        issued = fake.issued_signatures[sent_call["functionCall"]["id"]]
        assert sent_call["thoughtSignature"] == issued
    else:
        assert all("parameters" in d and "parametersJsonSchema" not in d for d in declarations)
        assert last.request["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"
        assert "thoughtSignature" not in sent_call
