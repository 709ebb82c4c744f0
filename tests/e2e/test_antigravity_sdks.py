"""Antigravity end to end: the official openai and anthropic SDKs, through an embedded gateway,
to the fake Cloud Code backend, on a `gemini-*` and a `claude-*` model, streaming and not.

The provider `antigravity` (seeded by the migration) points at the fake (`base_url` and
`config.base_urls`); one OAuth account with a far-future access token and a project id. The
seeded `anthropic` provider is switched off so that `claude-*` routes to Antigravity. A second
provider of the kind, `ag-fallback`, starts at a dead port, then a fake that answers 503 "No
capacity available", then the working fake. A third, `ag-old`, presents a client version the
fake `gated` refuses (a 200 whose reply is the upgrade notice for one model, a 404 for a newer
one the provider lists, and for one only the account's fetchAvailableModels report lists).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic.types import ContentBlockParam, Message, MessageParam, TextBlock, ToolParam
from anthropic.types import ToolUseBlock as AnthropicToolUse
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, ChatCompletionToolParam

from tests.e2e.harness import Gateway, free_port, gateway_env
from tests.fakes.cloud_code import SKIP_SIGNATURE, CloudCall, FakeCloudCode, no_capacity

pytestmark = [pytest.mark.e2e]

ACCESS_TOKEN = "ya29.e2e-antigravity-access-0001"
PROJECT = "e2e-project-0001"
GEMINI = "gemini-3-flash"
NEWER = "gemini-3.7-flash-high"
REPORTED = "gemini-3.8-pro"  # listed by the account's report only, not by config.models
CLAUDE = "claude-sonnet-4-6"
MODELS = [GEMINI, CLAUDE]
REPLY = "Hello from the fake Cloud Code backend."
QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "Sunny, 21 C"
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name"}},
    "required": ["city"],
}
OPENAI_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_SCHEMA},
}
ANTHROPIC_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Weather",
    "input_schema": WEATHER_SCHEMA,
}


def oauth_account(provider: str) -> dict[str, Any]:
    return {
        "provider_id": provider,
        "label": f"{provider} e2e",
        "auth_data": {
            "access_token": ACCESS_TOKEN,
            "refresh_token": "1//e2e-refresh-0001",
            "expires_at": "2099-01-01T00:00:00Z",
            "project_id": PROJECT,
        },
        "is_active": True,
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens={ACCESS_TOKEN}, reply_text=REPLY) as server:
        yield server


@pytest.fixture(scope="module")
def busy() -> Iterator[FakeCloudCode]:
    errors = {"*": no_capacity(GEMINI)}
    with FakeCloudCode(tokens={ACCESS_TOKEN}, errors=errors) as server:
        yield server


@pytest.fixture(scope="module")
def gated() -> Iterator[FakeCloudCode]:
    gated_models = {NEWER, REPORTED}
    with FakeCloudCode(
        tokens={ACCESS_TOKEN}, min_version="2.9.0", gated_models=gated_models
    ) as server:
        server.models[REPORTED] = {"displayName": "Gemini 3.8 Pro", "model": "MODEL_PLACEHOLDER"}
        yield server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("antigravity")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw


@pytest.fixture(scope="module")
def client_key(
    gateway: Gateway, fake: FakeCloudCode, busy: FakeCloudCode, gated: FakeCloudCode
) -> str:
    with gateway.admin() as admin:
        admin.patch("/providers/anthropic", json={"is_active": False}).raise_for_status()
        admin.patch(
            "/providers/antigravity",
            json={
                "base_url": fake.base_url,
                "models": ["gemini-*", "claude-*"],
                "config": {"base_urls": [fake.base_url], "models": MODELS},
            },
        ).raise_for_status()
        admin.post(
            "/providers",
            json={
                "id": "ag-fallback",
                "name": "Antigravity (fallback)",
                "kind": "antigravity",
                "base_url": f"http://127.0.0.1:{free_port()}",
                "models": [],
                "config": {"base_urls": [busy.base_url, fake.base_url]},
            },
        ).raise_for_status()
        admin.post(
            "/providers",
            json={
                "id": "ag-old",
                "name": "Antigravity (outdated client)",
                "kind": "antigravity",
                "base_url": gated.base_url,
                "models": [],
                "config": {
                    "base_urls": [gated.base_url],
                    "client_version": "2.2.1",
                    "models": [GEMINI, NEWER],
                },
            },
        ).raise_for_status()
        for provider in ("antigravity", "ag-fallback", "ag-old"):
            admin.post("/accounts", json=oauth_account(provider)).raise_for_status()
        created = admin.post("/api-keys", json={"label": "antigravity"})
        created.raise_for_status()
        return str(created.json()["key"])


def new_calls(fake: FakeCloudCode, before: int) -> list[CloudCall]:
    return fake.generation_calls()[before:]


def oai_turn(
    client: openai.OpenAI,
    model: str,
    messages: list[ChatCompletionMessageParam],
    *,
    stream: bool,
    tools: list[ChatCompletionToolParam] | None = None,
) -> ChatCompletion:
    if stream:
        with client.chat.completions.stream(
            model=model, messages=messages, tools=tools or openai.omit
        ) as events:
            return events.get_final_completion()
    return client.chat.completions.create(
        model=model, messages=messages, tools=tools or openai.omit
    )


def ant_turn(
    client: anthropic.Anthropic,
    model: str,
    messages: list[MessageParam],
    *,
    stream: bool,
    tools: list[ToolParam] | None = None,
) -> Message:
    if stream:
        with client.messages.stream(
            model=model, max_tokens=512, messages=messages, tools=tools or anthropic.omit
        ) as events:
            return events.get_final_message()
    return client.messages.create(
        model=model, max_tokens=512, messages=messages, tools=tools or anthropic.omit
    )


def text_of(message: Message) -> str:
    return "".join(b.text for b in message.content if isinstance(b, TextBlock))


def check_envelope(call: CloudCall, model: str, *, stream: bool) -> None:
    assert call.key == ACCESS_TOKEN
    assert call.body["project"] == PROJECT and call.model == model
    assert call.headers["User-Agent"] == "antigravity/hub/2.19.1 darwin/arm64"
    # Claude is always asked on the stream method, also for a whole answer
    assert call.method == (
        "streamGenerateContent" if stream or model == CLAUDE else "generateContent"
    )


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_openai_sdk_text(oai: openai.OpenAI, fake: FakeCloudCode, model: str, stream: bool) -> None:
    before = len(fake.generation_calls())
    completion = oai_turn(oai, model, [{"role": "user", "content": "Say hello"}], stream=stream)
    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == model
    (call,) = new_calls(fake, before)
    check_envelope(call, model, stream=stream)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_sdk_text(
    ant: anthropic.Anthropic, fake: FakeCloudCode, model: str, stream: bool
) -> None:
    before = len(fake.generation_calls())
    message = ant_turn(ant, model, [{"role": "user", "content": "Say hello"}], stream=stream)
    assert text_of(message) == REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    (call,) = new_calls(fake, before)
    check_envelope(call, model, stream=stream)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_openai_sdk_tool_round_trip(
    oai: openai.OpenAI, fake: FakeCloudCode, model: str, stream: bool
) -> None:
    """For Gemini, the fake refuses a call sent back without its signature: the second turn
    passes only because the gateway puts back the signature the OpenAI client never saw."""
    before = len(fake.generation_calls())
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
    first = oai_turn(oai, model, messages, stream=stream, tools=[OPENAI_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (tool_call,) = choice.message.tool_calls or []
    assert tool_call.type == "function"
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert "sig" not in first.model_dump_json()
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
    second = oai_turn(oai, model, messages, stream=stream, tools=[OPENAI_TOOL])
    assert second.choices[0].message.content == f"The tool said: {TOOL_RESULT}"
    calls = new_calls(fake, before)
    assert len(calls) == 2
    sent_back = [
        part
        for content in calls[1].request["contents"]
        for part in content["parts"]
        if "functionCall" in part
    ]
    (part,) = sent_back
    if model == GEMINI:
        issued = fake.issued_signatures[part["functionCall"]["id"]]
        assert part["thoughtSignature"] == issued
    else:
        declaration = calls[0].request["tools"][0]["functionDeclarations"][0]
        assert "parameters" in declaration
        assert calls[0].request["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_sdk_tool_round_trip(
    ant: anthropic.Anthropic, fake: FakeCloudCode, model: str, stream: bool
) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": QUESTION}]
    first = ant_turn(ant, model, messages, stream=stream, tools=[ANTHROPIC_TOOL])
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if isinstance(b, AnthropicToolUse)]
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": "Paris"})]
    assistant: list[ContentBlockParam] = []
    for block in first.content:
        param = block.model_dump(exclude_none=True)
        param.pop("citations", None)
        assistant.append(param)  # type: ignore[arg-type]
    messages += [
        {"role": "assistant", "content": assistant},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": TOOL_RESULT}],
        },
    ]
    second = ant_turn(ant, model, messages, stream=stream, tools=[ANTHROPIC_TOOL])
    assert text_of(second) == f"The tool said: {TOOL_RESULT}"


def test_endpoints_are_tried_in_order(
    oai: openai.OpenAI, fake: FakeCloudCode, busy: FakeCloudCode
) -> None:
    before_busy, before = len(busy.generation_calls()), len(fake.generation_calls())
    completion = oai_turn(
        oai, f"ag-fallback/{GEMINI}", [{"role": "user", "content": "Say hello"}], stream=False
    )
    assert completion.choices[0].message.content == REPLY
    assert len(busy.generation_calls()) - before_busy == 1  # the dead port, then the 503
    (call,) = new_calls(fake, before)
    (refused,) = busy.generation_calls()[before_busy:]
    assert refused.body["requestId"] == call.body["requestId"]  # one attempt


@pytest.mark.parametrize("model", [GEMINI, NEWER])
def test_an_outdated_client_version_is_the_operators_problem(
    oai: openai.OpenAI, gateway: Gateway, gated: FakeCloudCode, model: str
) -> None:
    before = len(gated.generation_calls())
    with pytest.raises(openai.APIStatusError) as refused:
        oai_turn(oai, f"ag-old/{model}", [{"role": "user", "content": "Say hello"}], stream=False)
    assert refused.value.status_code == 502
    assert "config.client_version" in refused.value.message
    (call,) = gated.generation_calls()[before:]
    assert call.headers["User-Agent"] == "antigravity/hub/2.2.1 darwin/arm64"
    with gateway.admin() as admin:
        (account,) = admin.get("/accounts", params={"provider_id": "ag-old"}).json()["data"]
        assert account["is_active"] and account["disabled_reason"] is None
        cooldowns = admin.get(f"/accounts/{account['id']}/cooldowns").json()
    assert cooldowns["data"] == []
    health = httpx.get(f"{gateway.base_url}/health").json()
    assert any("client_version" in str(notice) for notice in health["notices"])


def test_a_404_for_a_model_only_the_accounts_report_lists_is_the_version_gate(
    oai: openai.OpenAI, gateway: Gateway, gated: FakeCloudCode
) -> None:
    with gateway.admin() as admin:
        (account,) = admin.get("/accounts", params={"provider_id": "ag-old"}).json()["data"]
        quota = admin.get(f"/accounts/{account['id']}/quota")  # fetches and keeps the report
        quota.raise_for_status()
        assert REPORTED in str(quota.json())
    before = len(gated.generation_calls())
    with pytest.raises(openai.APIStatusError) as refused:
        oai_turn(oai, f"ag-old/{REPORTED}", [{"role": "user", "content": "Hi"}], stream=False)
    assert refused.value.status_code == 502  # not the upstream's 404: the client version
    assert "config.client_version" in refused.value.message
    assert len(gated.generation_calls()) == before + 1
    with gateway.admin() as admin:
        assert admin.get(f"/accounts/{account['id']}/cooldowns").json()["data"] == []
        (after,) = admin.get("/accounts", params={"provider_id": "ag-old"}).json()["data"]
        assert after["is_active"] and after["disabled_reason"] is None


@pytest.mark.parametrize("stream", [False, True])
def test_a_replayed_call_the_gateway_never_saw_goes_up_with_geminis_sentinel(
    oai: openai.OpenAI, fake: FakeCloudCode, stream: bool
) -> None:
    """A conversation started elsewhere (or older than the signature TTL): the fake refuses
    a call sent back unsigned, and accepts the sentinel on it."""
    call_id = f"call_from_elsewhere_{stream}"
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT},
    ]
    before = len(fake.generation_calls())
    answer = oai_turn(oai, GEMINI, messages, stream=stream, tools=[OPENAI_TOOL])
    assert answer.choices[0].message.content == f"The tool said: {TOOL_RESULT}"
    (call,) = new_calls(fake, before)
    (part,) = [p for c in call.request["contents"] for p in c["parts"] if "functionCall" in p]
    assert part["thoughtSignature"] == SKIP_SIGNATURE
