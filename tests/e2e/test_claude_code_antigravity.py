"""Claude Code, the real CLI, completes a turn with a tool call through an Antigravity account:
on a `claude-*` model and on a `gemini-*` model, both translated from Anthropic Messages to the
Cloud Code envelope and back, streaming.

The fake Cloud Code backend answers the first request with a `Bash` call `echo <nonce>` (a
Gemini call carries a thought signature that must come back with it) and the request holding
the tool result with `The tool said: <result>`, Claude Code's final result.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.e2e.test_claude_code import NONCE, run_claude
from tests.fakes.cloud_code import CloudCall, FakeCloudCode

pytestmark = pytest.mark.e2e

ACCESS_TOKEN = "ya29.claude-code-antigravity-0001"
PROJECT = "claude-code-project-0001"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(
        tokens={ACCESS_TOKEN}, tool_name="Bash", tool_input={"command": f"echo {NONCE}"}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeCloudCode
) -> Iterator[tuple[Gateway, str]]:
    workdir = tmp_path_factory.mktemp("claude-code-antigravity")
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
                "label": "antigravity for claude code",
                "auth_data": {
                    "access_token": ACCESS_TOKEN,
                    "refresh_token": "1//claude-code-refresh",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "project_id": PROJECT,
                },
                "is_active": True,
            },
        ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "claude code"})
        created.raise_for_status()
        yield gw, str(created.json()["key"])


def function_parts(call: CloudCall, key: str) -> list[dict[str, Any]]:
    return [p for c in call.request["contents"] for p in c["parts"] if key in p]


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-3-flash"])
def test_claude_code_tool_turn_through_antigravity(
    gateway: tuple[Gateway, str], fake: FakeCloudCode, tmp_path: Path, model: str
) -> None:
    gw, client_key = gateway
    before = len(fake.generation_calls())
    result = run_claude(gw, client_key, model, tmp_path / "home")

    calls = [c for c in fake.generation_calls()[before:] if c.model == model]
    with_result = [c for c in calls if function_parts(c, "functionResponse")]
    assert with_result, f"no request carried the tool result ({len(calls)} calls)"
    last = with_result[-1]
    assert last.method == "streamGenerateContent" and last.body["project"] == PROJECT
    (response,) = function_parts(last, "functionResponse")
    assert NONCE in str(response["functionResponse"]["response"])
    (sent_call,) = function_parts(last, "functionCall")
    assert sent_call["functionCall"]["name"] == "Bash"
    if model.startswith("gemini"):
        issued = fake.issued_signatures[sent_call["functionCall"]["id"]]
        assert sent_call["thoughtSignature"] == issued
    else:
        tools = last.request["tools"][0]["functionDeclarations"]
        assert all("parameters" in t and "parametersJsonSchema" not in t for t in tools)
    assert NONCE in result["result"]
    assert result["result"].startswith("The tool said:")
