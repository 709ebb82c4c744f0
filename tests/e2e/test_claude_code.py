"""Claude Code, the real CLI (npm `@anthropic-ai/claude-code`, installed by `.ci/run` into
`tests/e2e/clients`), completes a turn with a tool call through the gateway.

One embedded gateway with two providers on fakes: `anthropic` (kind anthropic, passthrough) serves
`claude-*`, `openai` (kind openai, translated both ways, streaming) serves `gpt-*`. Claude Code runs
in print mode (`claude -p … --output-format json`) with `ANTHROPIC_BASE_URL` at the gateway and a
gateway client key. The fake upstream answers the first request with a `Bash` tool call
`echo <nonce>`; Claude Code runs it and sends the tool result; the fake answers that request with
`The tool said: <result>`, which is Claude Code's final result. The test checks both ends: the
upstream received the tool result holding the nonce, and Claude Code's JSON result holds it.

Under CI=true a missing Claude Code binary fails the test; elsewhere it is skipped.
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
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import Call, FakeOpenAI, content_text
from tests.services import in_ci

pytestmark = pytest.mark.e2e

CLIENTS_DIR = Path(__file__).parent / "clients"
CLAUDE_BIN = CLIENTS_DIR / "node_modules" / ".bin" / "claude"
CLAUDE_MODEL = "claude-opus-4-7"
GPT_MODEL = "gpt-5.1"
NONCE = f"nonce-{secrets.token_hex(6)}"
TIMEOUT_S = 60


def claude_binary() -> Path:
    if CLAUDE_BIN.exists() and os.access(CLAUDE_BIN, os.X_OK) and shutil.which("node"):
        return CLAUDE_BIN
    message = (
        f"Claude Code is not installed at {CLAUDE_BIN}"
        " (npm ci --prefix tests/e2e/clients installs it)"
    )
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    # as the real service does, fields of a beta are refused unless its anthropic-beta is sent
    with FakeAnthropic(
        tool_name="Bash", tool_input={"command": f"echo {NONCE}"}, require_betas=True
    ) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(tool_name="Bash", tool_arguments={"command": f"echo {NONCE}"}) as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> Iterator[tuple[Gateway, str]]:
    """The gateway with both providers on their fakes; yields it and a client key."""
    workdir = tmp_path_factory.mktemp("claude-code")
    with Gateway(workdir, gateway_env(workdir)) as gw, gw.admin() as admin:
        admin.patch(
            "/providers/anthropic",
            json={"base_url": fake_anthropic.base_url, "models": ["claude-*"]},
        ).raise_for_status()
        admin.patch(
            "/providers/openai", json={"base_url": fake_openai.base_url, "models": ["gpt-*"]}
        ).raise_for_status()
        for provider in ("anthropic", "openai"):
            admin.post(
                "/accounts",
                json={
                    "provider_id": provider,
                    "label": f"{provider} for claude code",
                    "auth_data": {"api_key": f"sk-test-{provider}-claude-code-0001"},
                    "is_active": True,
                },
            ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "claude code"})
        created.raise_for_status()
        yield gw, str(created.json()["key"])


def run_claude(gateway: Gateway, client_key: str, model: str, home: Path) -> dict[str, Any]:
    """One print-mode turn of Claude Code against the gateway; its JSON result."""
    binary = claude_binary()
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.base_url,
        "ANTHROPIC_API_KEY": client_key,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }
    completed = subprocess.run(
        [
            str(binary),
            "-p",
            f"Run the shell command `echo {NONCE}` and tell me what it printed.",
            "--output-format",
            "json",
            "--model",
            model,
            # as root Claude Code refuses bypassPermissions; allowing the one tool is enough
            "--allowedTools",
            "Bash",
        ],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    detail = (
        f"exit {completed.returncode}\nstdout: {completed.stdout[-4000:]}\n"
        f"stderr: {completed.stderr[-4000:]}\ngateway log:\n{gateway.output()[-4000:]}"
    )
    assert completed.returncode == 0, detail
    result: dict[str, Any] = json.loads(completed.stdout)
    assert result.get("is_error") is False, detail
    return result


def tool_turns(calls: list[Call]) -> tuple[Call, Call]:
    """The request answered with the tool call and the one carrying its result."""
    assert len(calls) >= 2, f"expected at least two upstream calls, got {len(calls)}"
    return calls[0], calls[-1]


def anthropic_tool_result(call: Call) -> dict[str, Any]:
    content = call.body["messages"][-1]["content"]
    results = [block for block in content if block.get("type") == "tool_result"]
    assert len(results) == 1, content
    return dict(results[0])


def test_claude_code_tool_turn_passthrough_to_anthropic(
    gateway: tuple[Gateway, str], fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    gw, client_key = gateway
    before = len(fake_anthropic.calls)
    result = run_claude(gw, client_key, CLAUDE_MODEL, tmp_path / "home")

    calls = fake_anthropic.calls[before:]
    first, last = tool_turns(calls)
    assert first.stream and first.model == CLAUDE_MODEL
    # Claude Code's betas reach the upstream, so nothing it sends is refused and retried
    assert all(c.body.get("context_management") for c in calls if c.body.get("tools"))
    assert all(
        b'"type": "error"' not in fake_anthropic.raw_responses.get(i, b"")
        for i in range(before, before + len(calls))
    )
    assert "Bash" in [tool["name"] for tool in first.body["tools"]]
    issued = fake_anthropic.issued_tool_ids[before]
    tool_result = anthropic_tool_result(last)
    assert tool_result["tool_use_id"] == issued
    assert not tool_result.get("is_error")
    assert NONCE in content_text(tool_result["content"])
    assert NONCE in result["result"]
    assert result["result"].startswith("The tool said:")


def test_claude_code_tool_turn_translated_to_openai(
    gateway: tuple[Gateway, str], fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    gw, client_key = gateway
    before = len(fake_openai.calls)
    result = run_claude(gw, client_key, GPT_MODEL, tmp_path / "home")

    first, last = tool_turns(fake_openai.calls[before:])
    assert first.stream and first.model == GPT_MODEL
    assert "Bash" in [tool["function"]["name"] for tool in first.body["tools"]]
    # what Claude Code sends for a non-Claude model, carried across: its mid-conversation
    # `role: "system"` message joins the system prompt, `output_config.effort` becomes the
    # reasoning effort, and its long JSON `metadata.user_id` fits OpenAI's 64-character `user`
    system = [m for m in first.body["messages"] if m["role"] == "system"]
    assert len(system) == 1 and "# Environment" in content_text(system[0]["content"])
    assert first.body.get("reasoning_effort") in {"low", "medium", "high", "xhigh", "max"}
    assert 0 < len(first.body["user"]) <= 64
    issued = fake_openai.issued_tool_ids[before]
    messages = last.body["messages"]
    assert messages[-1]["role"] == "tool" and messages[-1]["tool_call_id"] == issued
    assert NONCE in content_text(messages[-1]["content"])
    calls = [m for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    assert calls[-1]["tool_calls"][0]["function"]["name"] == "Bash"
    assert json.loads(calls[-1]["tool_calls"][0]["function"]["arguments"]) == {
        "command": f"echo {NONCE}"
    }
    assert NONCE in result["result"]
    assert result["result"].startswith("The tool said:")
