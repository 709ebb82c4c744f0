"""Thought signatures across gateway processes: an OpenAI client's tool call answered by one
process, its tool result sent to another. Two `aigateway serve` processes share a database and
a private Redis; the fake Cloud Code refuses a Gemini call sent back without the signature it
issued (or with the sentinel in its place, which this test does not accept either)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.harness import Gateway, gateway_env
from tests.e2e.private_services import PrivateRedis
from tests.e2e.test_antigravity_sdks import (
    ACCESS_TOKEN,
    GEMINI,
    OPENAI_TOOL,
    QUESTION,
    TOOL_RESULT,
    oai_turn,
    oauth_account,
)
from tests.fakes.cloud_code import FakeCloudCode

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens={ACCESS_TOKEN}) as server:
        yield server


@pytest.fixture(scope="module")
def two_gateways(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeCloudCode
) -> Iterator[tuple[Gateway, Gateway, str]]:
    workdir: Path = tmp_path_factory.mktemp("signatures")
    redis_server = PrivateRedis()
    redis_server.start()
    try:
        env = gateway_env(
            workdir,
            {
                "AIGATEWAY_REDIS_URL": redis_server.url,
                "AIGATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/shared.db",
                "AIGATEWAY_ADMIN_KEY": "adm_" + uuid.uuid4().hex,
            },
        )
        with Gateway(workdir, env) as first, Gateway(workdir, env) as second:
            with first.admin() as admin:
                admin.patch(
                    "/providers/antigravity",
                    json={
                        "base_url": fake.base_url,
                        "models": ["gemini-*"],
                        "config": {"base_urls": [fake.base_url], "models": [GEMINI]},
                    },
                ).raise_for_status()
                admin.post("/accounts", json=oauth_account("antigravity")).raise_for_status()
                created = admin.post("/api-keys", json={"label": "signatures"})
                created.raise_for_status()
                key = str(created.json()["key"])
            for gateway in (first, second):  # both processes know the key and the account
                ready(gateway, key)
            yield first, second, key
    finally:
        redis_server.stop()


def ready(gateway: Gateway, key: str, deadline_s: float = 30.0) -> None:
    """Poll (with a deadline) until the process answers with the catalog it reloaded."""
    deadline = time.monotonic() + deadline_s
    with client(gateway, key) as warm:
        while True:
            try:
                oai_turn(warm, GEMINI, [{"role": "user", "content": "hi"}], stream=False)
                return
            except openai.APIStatusError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0, timeout=30.0
    )


@pytest.mark.parametrize("stream", [False, True])
def test_the_next_turn_on_another_process_sends_the_original_signature(
    two_gateways: tuple[Gateway, Gateway, str], fake: FakeCloudCode, stream: bool
) -> None:
    first, second, key = two_gateways
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
    with client(first, key) as on_a:
        asked = oai_turn(on_a, GEMINI, messages, stream=stream, tools=[OPENAI_TOOL])
    (tool_call,) = asked.choices[0].message.tool_calls or []
    assert tool_call.type == "function"
    assert "sig" not in asked.model_dump_json()  # the OpenAI client never sees the signature
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": tool_call.id,
                    "type": "function",
                    "function": {
                        "name": tool_call.function.name,
                        "arguments": tool_call.function.arguments,
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": tool_call.id, "content": TOOL_RESULT},
    ]
    before = len(fake.generation_calls())
    with client(second, key) as on_b:
        answered = oai_turn(on_b, GEMINI, messages, stream=stream, tools=[OPENAI_TOOL])
    assert answered.choices[0].message.content == f"The tool said: {TOOL_RESULT}"
    (call,) = fake.generation_calls()[before:]
    (part,) = [p for c in call.request["contents"] for p in c["parts"] if "functionCall" in p]
    upstream_id = part["functionCall"]["id"]
    assert part["thoughtSignature"] == fake.issued_signatures[upstream_id]  # not the sentinel
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
