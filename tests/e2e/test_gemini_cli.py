"""Gemini CLI, the real CLI (npm `@google/gemini-cli`, installed by `.ci/run` into
`tests/e2e/clients`), completes a turn with a tool call through the gateway's Gemini routes.

One embedded gateway with three providers on fakes: `openai` (kind openai) serves `gpt-*` and
`anthropic` serves `claude-*`, both translated from Gemini's format; `antigravity` serves
`gemini-*` through the Cloud Code backend (FakeCloudCode). Gemini CLI runs headless
(`gemini -p … -o json`) with `GOOGLE_GEMINI_BASE_URL` at the gateway and `GEMINI_API_KEY` a
gateway client key, in an isolated HOME whose settings choose API-key auth and turn off
telemetry, usage statistics, update checks and retries, in YOLO approval mode on a trusted
temporary workspace holding `note.txt`. The fake answers the first request with a call of Gemini
CLI's own `read_file` tool on that file; Gemini CLI reads it and sends the functionResponse; the
fake answers `The tool said: <result>`, which Gemini CLI prints. The tests check both ends: the
upstream received the file's content as the tool result, and Gemini CLI printed it; and that
every request Gemini CLI made was served (no refused call in the request log).

Under CI=true a missing Gemini CLI binary fails the test; elsewhere it is skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.cloud_code import FakeCloudCode
from tests.fakes.openai_upstream import Call, FakeOpenAI, content_text
from tests.services import in_ci

pytestmark = pytest.mark.e2e

CLIENTS_DIR = Path(__file__).parent / "clients"
GEMINI_BIN = CLIENTS_DIR / "node_modules" / ".bin" / "gemini"
GPT_MODEL = "gpt-5.1"
CLAUDE_MODEL = "claude-sonnet-4-5"
GEMINI_MODEL = "gemini-3.8-flash"  # Gemini CLI sends its newest flash model by this name
ACCESS_TOKEN = "ya29.e2e-gemini-cli-access-0001"
NOTE = f"The note says nonce-{secrets.token_hex(6)}.\n"
READ_NOTE = {"file_path": "note.txt"}
PROMPT = "Read note.txt and tell me what it says."
TIMEOUT_S = 60
SETTINGS: dict[str, Any] = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False, "maxAttempts": 1},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
}


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
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(tool_name="read_file", tool_arguments=READ_NOTE) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(tool_name="read_file", tool_input=READ_NOTE) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_cloud_code() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens={ACCESS_TOKEN}, tool_name="read_file", tool_input=READ_NOTE) as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    fake_cloud_code: FakeCloudCode,
) -> Iterator[tuple[Gateway, str]]:
    """The gateway with the three providers on their fakes; yields it and a client key."""
    workdir = tmp_path_factory.mktemp("gemini-cli")
    with Gateway(workdir, gateway_env(workdir)) as gw, gw.admin() as admin:
        admin.patch(
            "/providers/openai", json={"base_url": fake_openai.base_url, "models": ["gpt-*"]}
        ).raise_for_status()
        admin.patch(
            "/providers/anthropic",
            json={"base_url": fake_anthropic.base_url, "models": ["claude-*"]},
        ).raise_for_status()
        admin.patch(
            "/providers/antigravity",
            json={
                "base_url": fake_cloud_code.base_url,
                "models": ["gemini-*"],
                "config": {"base_urls": [fake_cloud_code.base_url], "models": [GEMINI_MODEL]},
            },
        ).raise_for_status()
        for provider in ("openai", "anthropic"):
            admin.post(
                "/accounts",
                json={
                    "provider_id": provider,
                    "label": f"{provider} for gemini cli",
                    "auth_data": {"api_key": f"sk-test-{provider}-gemini-cli-0001"},
                    "is_active": True,
                },
            ).raise_for_status()
        admin.post(
            "/accounts",
            json={
                "provider_id": "antigravity",
                "label": "antigravity for gemini cli",
                "auth_data": {
                    "access_token": ACCESS_TOKEN,
                    "refresh_token": "1//e2e-gemini-cli-refresh-0001",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "project_id": "e2e-gemini-cli-project",
                },
                "is_active": True,
            },
        ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "gemini cli"})
        created.raise_for_status()
        yield gw, str(created.json()["key"])


def log_rows(gw: Gateway, after: int) -> list[dict[str, Any]]:
    with sqlite3.connect(gw.workdir / "data" / "aigateway.db") as db:
        db.row_factory = sqlite3.Row
        query = "SELECT * FROM request_logs WHERE id > ? ORDER BY id"
        return [dict(row) for row in db.execute(query, (after,))]


def last_log_id(gw: Gateway) -> int:
    with sqlite3.connect(gw.workdir / "data" / "aigateway.db") as db:
        return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM request_logs").fetchone()[0])


def run_gemini(gateway: tuple[Gateway, str], model: str, root: Path) -> dict[str, Any]:
    """One headless turn of Gemini CLI against the gateway; its JSON output. Every request it
    made is in the request log, answered 200 (nothing it asked for was refused)."""
    binary = gemini_binary()
    gw, client_key = gateway
    home, workspace = root / "home", root / "workspace"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    workspace.mkdir()
    (workspace / "note.txt").write_text(NOTE)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GOOGLE_GEMINI_BASE_URL": gw.base_url,
        "GEMINI_API_KEY": client_key,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "TERM": "dumb",
        "TMPDIR": str(root),  # where it writes error reports
    }
    before = last_log_id(gw)
    completed = subprocess.run(
        [str(binary), "-p", PROMPT, "-m", model, "--approval-mode", "yolo", "-o", "json"],
        env=env,
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    detail = (
        f"exit {completed.returncode}\nstdout: {completed.stdout[-4000:]}\n"
        f"stderr: {completed.stderr[-4000:]}\ngateway log:\n{gw.output()[-4000:]}"
    )
    assert completed.returncode == 0, detail
    result: dict[str, Any] = json.loads(completed.stdout)
    deadline = time.monotonic() + 10
    while len(rows := log_rows(gw, before)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [(r["model"], r["status_code"]) for r in rows] == [(model, 200)] * len(rows), detail
    assert len(rows) >= 2 and all(r["stream"] for r in rows)
    assert all(r["prompt_tokens"] and r["completion_tokens"] for r in rows)
    return result


def declared_tools(call: Call) -> dict[str, Any]:
    return {tool["function"]["name"]: tool["function"] for tool in call.body["tools"]}


def test_gemini_cli_tool_turn_translated_to_openai(
    gateway: tuple[Gateway, str], fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    before = len(fake_openai.calls)
    result = run_gemini(gateway, GPT_MODEL, tmp_path)

    first, *_, last = fake_openai.calls[before:]
    assert first.stream and first.model == GPT_MODEL
    read_file = declared_tools(first)["read_file"]
    assert read_file["parameters"]["required"] == ["file_path"]
    issued = fake_openai.issued_tool_ids[before]
    messages = last.body["messages"]
    calls = [m for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    assert calls[-1]["tool_calls"][0]["id"] == issued
    assert calls[-1]["tool_calls"][0]["function"]["name"] == "read_file"
    assert json.loads(calls[-1]["tool_calls"][0]["function"]["arguments"]) == READ_NOTE
    assert messages[-1] == {"role": "tool", "tool_call_id": issued, "content": NOTE}
    assert result["response"].strip() == f"The tool said: {NOTE}".strip()


def test_gemini_cli_tool_turn_translated_to_anthropic(
    gateway: tuple[Gateway, str], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    """Gemini CLI marks the unsigned call it sends back with Gemini's skip-validation
    sentinel; the Anthropic upstream refuses any signature it did not make, so the turn
    completes only when the sentinel is not carried over as one."""
    before = len(fake_anthropic.calls)
    result = run_gemini(gateway, CLAUDE_MODEL, tmp_path)

    first, *_, last = fake_anthropic.calls[before:]
    assert first.stream and first.model == CLAUDE_MODEL
    tools = {tool["name"]: tool for tool in first.body["tools"]}
    assert tools["read_file"]["input_schema"]["required"] == ["file_path"]
    issued = fake_anthropic.issued_tool_ids[before]
    assistant, answer = last.body["messages"][-2:]
    uses = [b for b in assistant["content"] if b["type"] == "tool_use"]
    assert [(u["id"], u["name"], u["input"]) for u in uses] == [(issued, "read_file", READ_NOTE)]
    (tool_result,) = answer["content"]
    assert tool_result["type"] == "tool_result" and tool_result["tool_use_id"] == issued
    assert content_text(tool_result["content"]) == NOTE
    assert NOTE.strip() in result["response"]


def test_gemini_cli_tool_turn_through_antigravity(
    gateway: tuple[Gateway, str], fake_cloud_code: FakeCloudCode, tmp_path: Path
) -> None:
    """The fake refuses a call sent back without the signature it issued on it."""
    before = len(fake_cloud_code.generation_calls())
    result = run_gemini(gateway, GEMINI_MODEL, tmp_path)

    calls = fake_cloud_code.generation_calls()[before:]
    assert len(calls) >= 2
    contents = calls[-1].request["contents"]
    answers = [
        p["functionResponse"] for c in contents for p in c["parts"] if "functionResponse" in p
    ]
    assert [a["name"] for a in answers] == ["read_file"]
    assert NOTE in answers[0]["response"].values()
    assert NOTE.strip() in result["response"]
