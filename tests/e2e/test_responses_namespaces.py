"""A Responses client that groups functions in a `namespace` tool (Codex's `multi_agent_v1`)
gets the model's call of one of them back naming that namespace, whole and streamed, from a
translated upstream: Codex runs a namespaced function only when its call names the namespace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = pytest.mark.e2e

MODEL = "gpt-5.1"
GROUPED = "close_agent"
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
    {
        "type": "namespace",
        "name": "multi_agent_v1",
        "description": "Agents",
        "tools": [
            {
                "type": "function",
                "name": GROUPED,
                "parameters": {"type": "object", "properties": {"target": {"type": "string"}}},
            }
        ],
    },
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(tool_name=GROUPED, tool_arguments={"target": "a1"}) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI
) -> Iterator[tuple[Gateway, str]]:
    workdir: Path = tmp_path_factory.mktemp("namespaces")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw, gw.setup_pool(fake.base_url, ["sk-namespaces"], ["gpt-*"])


def body(stream: bool) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": [{"role": "user", "content": "close agent a1"}],
        "tools": TOOLS,
        "store": False,
        "stream": stream,
    }


def test_a_namespaced_function_call_names_its_namespace(
    gateway: tuple[Gateway, str], fake: FakeOpenAI
) -> None:
    gw, key = gateway
    before = len(fake.calls)
    answer = httpx.post(
        f"{gw.base_url}/v1/responses", json=body(False), headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    (call,) = [item for item in answer.json()["output"] if item["type"] == "function_call"]
    assert (call["name"], call.get("namespace")) == (GROUPED, "multi_agent_v1")
    assert json.loads(call["arguments"]) == {"target": "a1"}
    offered = [t["function"]["name"] for t in fake.calls[before].body["tools"]]
    assert offered == ["exec_command", GROUPED]  # the group's functions reach the upstream


def test_a_streamed_namespaced_call_names_its_namespace_in_every_item(
    gateway: tuple[Gateway, str],
) -> None:
    gw, key = gateway
    items: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream("POST", f"{gw.base_url}/v1/responses", json=body(True), headers=headers) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event["type"] in ("response.output_item.added", "response.output_item.done"):
                    items.append(event["item"])
                elif event["type"] == "response.completed":
                    items += event["response"]["output"]
    calls = [item for item in items if item["type"] == "function_call"]
    assert len(calls) == 3  # added, done, and in the completed response
    assert all(item.get("namespace") == "multi_agent_v1" for item in calls)
