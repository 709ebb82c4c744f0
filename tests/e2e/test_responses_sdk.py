"""The OpenAI Responses API end to end, driven by the official openai SDK as Codex uses it
(`store: false`, the whole history replayed, reasoning items without ids).

One embedded gateway with every kind of upstream:
- `openai` on a FakeOpenAI (Chat Completions): `gpt-*`, translated;
- `anthropic` on a FakeAnthropic: `claude-sonnet-4-5`, translated;
- `antigravity` on a FakeCloudCode (one OAuth account): `gemini-*` and `claude-sonnet-4-6`,
  translated by the Cloud Code executor;
- `resp`, an `openai` provider with `config.wire_api: responses`, on a FakeResponses with two
  accounts: `codex-*`, a byte passthrough for Responses clients, translated for Chat clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.e2e.responses_rig import (
    QUESTION,
    SAID,
    TIMEOUT_S,
    TOOL_RESULT,
    WEATHER_SCHEMA,
    ask,
    calls,
    codex_history,
    codex_item,
    log_row,
    replay,
    result_sent,
    the_call,
)
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.cloud_code import FakeCloudCode
from tests.fakes.openai_responses import FakeResponses
from tests.fakes.openai_upstream import FakeOpenAI
from tests.unit.codecs.responses_checks import assert_valid_responses_stream

pytestmark = [pytest.mark.e2e]

OPENAI_KEY = "sk-test-responses-openai-0001"
ANTHROPIC_KEY = "sk-ant-test-responses-0001"
RESP_KEYS = ("sk-test-responses-upstream-a", "sk-test-responses-upstream-b")
ACCESS_TOKEN = "ya29.e2e-responses-access-0001"
GPT, CLAUDE, GEMINI, CLOUD_CLAUDE, CODEX = (
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "gemini-3-flash",
    "claude-sonnet-4-6",
    "codex-mini",
)
REASONING = "Checking which tool answers the weather."
UPSTREAMS = {
    "openai": GPT,
    "anthropic": CLAUDE,
    "cloud-gemini": GEMINI,
    "cloud-claude": CLOUD_CLAUDE,
    "responses": CODEX,
}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    with (
        FakeOpenAI() as chat,
        FakeAnthropic() as anthropic,
        FakeCloudCode(tokens={ACCESS_TOKEN}) as cloud,
        FakeResponses(keys=frozenset(RESP_KEYS), reasoning=REASONING) as responses,
    ):
        yield {"openai": chat, "anthropic": anthropic, "cloud": cloud, "responses": responses}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("responses")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw


def _account(provider: str, auth: dict[str, Any]) -> dict[str, Any]:
    return {"provider_id": provider, "label": provider, "auth_data": auth, "is_active": True}


@pytest.fixture(scope="module")
def client_key(gateway: Gateway, fakes: dict[str, Any]) -> str:
    cloud = fakes["cloud"].base_url
    with gateway.admin() as admin:
        admin.patch(
            "/providers/openai", json={"base_url": fakes["openai"].base_url, "models": ["gpt-*"]}
        ).raise_for_status()
        admin.patch(
            "/providers/anthropic",
            json={"base_url": fakes["anthropic"].base_url, "models": [CLAUDE]},
        ).raise_for_status()
        admin.patch(
            "/providers/antigravity",
            json={
                "base_url": cloud,
                "models": ["gemini-*", CLOUD_CLAUDE],
                "config": {"base_urls": [cloud], "models": [GEMINI, CLOUD_CLAUDE]},
            },
        ).raise_for_status()
        admin.post(
            "/providers",
            json={
                "id": "resp",
                "name": "Responses upstream",
                "kind": "openai",
                "base_url": fakes["responses"].base_url,
                "models": ["codex-*"],
                "config": {"wire_api": "responses"},
            },
        ).raise_for_status()
        accounts = [
            _account("openai", {"api_key": OPENAI_KEY}),
            _account("anthropic", {"api_key": ANTHROPIC_KEY}),
            _account(
                "antigravity",
                {
                    "access_token": ACCESS_TOKEN,
                    "refresh_token": "1//e2e-refresh-0001",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "project_id": "e2e-project-0001",
                },
            ),
            *(_account("resp", {"api_key": key}) for key in RESP_KEYS),
        ]
        for account in accounts:
            admin.post("/accounts", json=account).raise_for_status()
        created = admin.post("/api-keys", json={"label": "responses"})
        created.raise_for_status()
        return str(created.json()["key"])


# --- a Responses client on every upstream -----------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("upstream", list(UPSTREAMS))
def test_a_tool_round_trip_through_every_upstream(
    oai: openai.OpenAI,
    gateway: Gateway,
    fakes: dict[str, Any],
    upstream: str,
    stream: bool,
) -> None:
    model = UPSTREAMS[upstream]
    extra: dict[str, Any] = {}
    if upstream == "responses":  # Codex asks for its reasoning back, to replay it
        extra = {"reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"]}
    before = len(calls(fakes, upstream))
    first, first_id = ask(
        oai, model, [{"role": "user", "content": QUESTION}], stream=stream, **extra
    )
    assert first.status == "completed" and first.id.startswith("resp_")
    call = the_call(first)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id and call.status == "completed"
    second, second_id = ask(oai, model, replay(first, call), stream=stream, **extra)
    assert second.output_text == SAID
    assert not [item for item in second.output if item.type == "function_call"]

    made = calls(fakes, upstream)[before:]
    assert len(made) == 2
    call_id, text = result_sent(upstream, made[1])
    assert TOOL_RESULT in text
    if upstream in fakes:  # the id the upstream gave its call comes back with the result
        assert call_id == fakes[upstream].issued_tool_ids[before]
    for response, request_id in ((first, first_id), (second, second_id)):
        row = log_row(gateway, request_id)
        assert row["status_code"] == 200
        assert response.usage is not None
        assert row["prompt_tokens"] == response.usage.input_tokens > 0
        assert row["completion_tokens"] == response.usage.output_tokens > 0


def test_reasoning_of_a_responses_upstream_is_replayed_as_it_came(
    oai: openai.OpenAI, fakes: dict[str, Any]
) -> None:
    """The fake refuses reasoning it did not issue: the second turn passes only because the
    encrypted reasoning reached it untouched."""
    extra = {"reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"]}
    first, _ = ask(oai, CODEX, [{"role": "user", "content": QUESTION}], stream=True, **extra)
    (reasoning,) = [item for item in first.output if item.type == "reasoning"]
    assert [s.text for s in reasoning.summary] == [REASONING]
    assert reasoning.encrypted_content in fakes["responses"].issued_reasoning
    before = len(fakes["responses"].calls)
    ask(oai, CODEX, replay(first, the_call(first)), stream=False, **extra)
    (sent,) = fakes["responses"].calls[before:]
    assert sent.body["input"][1] == codex_item(reasoning)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_claudes_signed_thinking_on_cloud_code_goes_back_through_a_reasoning_item(
    oai: openai.OpenAI, fakes: dict[str, Any], stream: bool
) -> None:
    """The fake refuses a thought whose signature it did not issue."""
    cloud: FakeCloudCode = fakes["cloud"]
    question = [{"role": "user", "content": QUESTION}]
    before = len(cloud.generation_calls())
    first, _ = ask(oai, CLOUD_CLAUDE, question, stream=stream, reasoning={"effort": "low"})
    (reasoning,) = [item for item in first.output if item.type == "reasoning"]
    assert [s.text for s in reasoning.summary] == ["Thinking it over."]
    assert reasoning.encrypted_content in cloud.claude_signatures
    second, _ = ask(
        oai,
        CLOUD_CLAUDE,
        replay(first, the_call(first)),
        stream=stream,
        reasoning={"effort": "low"},
    )
    assert second.output_text == SAID
    _, sent = cloud.generation_calls()[before:]
    thoughts = [
        part
        for content in sent.request["contents"]
        for part in content["parts"]
        if part.get("thought")
    ]
    assert thoughts[0]["thoughtSignature"] == reasoning.encrypted_content
    assert thoughts[0]["text"] == "Thinking it over."


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
def test_the_raw_stream_is_what_a_responses_client_needs(
    gateway: Gateway, client_key: str, upstream: str
) -> None:
    body = {"model": UPSTREAMS[upstream], "input": "Say hello", "stream": True, "store": False}
    with httpx.stream(
        "POST",
        f"{gateway.base_url}/v1/responses",
        json=body,
        headers={"Authorization": f"Bearer {client_key}"},
        timeout=TIMEOUT_S,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        data = response.read()
    events = assert_valid_responses_stream(data)
    assert events[-1]["type"] == "response.completed"
    message = events[-1]["response"]["output"][-1]
    assert message["type"] == "message" and message["content"][0]["text"]


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
def test_a_codex_history_reaches_every_upstream(
    gateway: Gateway, client_key: str, fakes: dict[str, Any], upstream: str
) -> None:
    """Hosted items and tools are left out for other upstreams; custom tool calls cross as
    calls with one `input` argument."""
    body = {"model": UPSTREAMS[upstream], **codex_history("Say hello")}
    before = len(calls(fakes, upstream))
    with httpx.stream(
        "POST",
        f"{gateway.base_url}/v1/responses",
        json=body,
        headers={"Authorization": f"Bearer {client_key}"},
        timeout=TIMEOUT_S,
    ) as response:
        assert response.status_code == 200, response.read()
        events = assert_valid_responses_stream(response.read())
    assert events[-1]["type"] == "response.completed"
    (sent,) = calls(fakes, upstream)[before:]
    received = json.dumps(sent.body)
    assert "README.md" in received and "Done" in received
    if upstream == "responses":
        assert sent.body == body
    else:
        assert "web_search" not in received and "external_web_access" not in received


# --- passthrough to a Responses upstream ------------------------------------------------------


@pytest.mark.parametrize("model", [CODEX, f"resp/{CODEX}"], ids=["plain", "prefixed"])
def test_a_responses_upstream_gets_the_clients_bytes(
    gateway: Gateway, client_key: str, fakes: dict[str, Any], model: str
) -> None:
    sent: list[bytes] = []

    def record(request: Any) -> None:  # an httpx(2) request, the SDK's own HTTP library
        sent.append(bytes(request.read()))

    http = openai.DefaultHttpxClient(event_hooks={"request": [record]}, timeout=TIMEOUT_S)
    fake: FakeResponses = fakes["responses"]
    with openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=client_key, max_retries=0, http_client=http
    ) as client:
        before = len(fake.calls)
        raw = client.responses.with_raw_response.create(
            model=model,
            instructions="Be brief.",
            input=[{"role": "user", "content": "Say hello"}],
            store=False,
            prompt_cache_key="thread-e2e",
            extra_body={"client_metadata": {"x-codex-window-id": "w-1"}},
        )
        response = raw.parse()
        received = raw.http_response.content
    (call,) = fake.calls[before:]
    assert call.key in RESP_KEYS and call.path == "/v1/responses"
    assert client_key not in call.raw.decode()
    if model == CODEX:
        assert call.raw == sent[-1]
    else:
        assert call.body == {**json.loads(sent[-1]), "model": CODEX}
    assert received == fake.raw_responses[before]
    assert response.output_text == fake.reply_text


# --- a Chat Completions client on a Responses upstream ----------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_chat_client_on_a_responses_upstream(
    oai: openai.OpenAI, gateway: Gateway, fakes: dict[str, Any], stream: bool
) -> None:
    fake: FakeResponses = fakes["responses"]
    tool: Any = {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_SCHEMA},
    }
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    def turn() -> tuple[Any, str]:
        if stream:
            with oai.chat.completions.with_streaming_response.create(
                model=CODEX, messages=messages, tools=[tool], stream=True,
                stream_options={"include_usage": True},
            ) as streamed:  # fmt: skip
                chunks = list(streamed.parse())
                request_id = streamed.headers["x-request-id"]
            return chunks, request_id
        whole = oai.chat.completions.with_raw_response.create(
            model=CODEX, messages=messages, tools=[tool]
        )
        return whole.parse(), whole.headers["x-request-id"]

    before = len(fake.calls)
    first, first_id = turn()
    if stream:
        calls_seen = [c for chunk in first for d in chunk.choices for c in d.delta.tool_calls or ()]
        call_id, name = calls_seen[0].id, calls_seen[0].function.name
        arguments = "".join(c.function.arguments or "" for c in calls_seen)
        usage = first[-1].usage
    else:
        (tool_call,) = first.choices[0].message.tool_calls
        call_id, name, arguments = (
            tool_call.id,
            tool_call.function.name,
            tool_call.function.arguments,
        )
        usage = first.usage
        assert first.choices[0].finish_reason == "tool_calls"
    assert name == "get_weather" and json.loads(arguments) == {"city": "Paris"}
    assert call_id == fake.issued_tool_ids[before]
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT},
    ]
    second, second_id = turn()
    if stream:
        text = "".join(d.delta.content or "" for chunk in second for d in chunk.choices)
    else:
        text = second.choices[0].message.content
    assert text == SAID

    first_call, second_call = fake.calls[before:]
    assert first_call.stream is stream and first_call.body["store"] is False
    assert first_call.body["tools"][0]["name"] == "get_weather"
    kinds = [item.get("type", "message") for item in second_call.body["input"]]
    assert kinds == ["message", "function_call", "function_call_output"]
    assert second_call.body["input"][2] == {
        "type": "function_call_output",
        "call_id": call_id,
        "output": TOOL_RESULT,
    }
    row = log_row(gateway, first_id)
    assert usage is not None and row["provider_id"] == "resp"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert log_row(gateway, second_id)["completion_tokens"] > 0


# --- refusals and failover --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("previous_response_id", "resp_earlier"), ("store", True)],
)
def test_server_side_state_is_refused_in_openais_error_format(
    oai: openai.OpenAI, fakes: dict[str, Any], field: str, value: Any
) -> None:
    before = len(fakes["responses"].calls)
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=CODEX, input="Go on", **{field: value})
    error = caught.value
    assert error.status_code == 400
    assert error.type == "invalid_request_error" and error.param == field
    assert field in error.message and "store: false" in error.message
    assert len(fakes["responses"].calls) == before


def test_an_unknown_model_is_a_404_in_openais_error_format(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        oai.responses.create(model="no-such-model", input="Hi", store=False)
    assert "no-such-model" in caught.value.message
    assert isinstance(caught.value.body, dict) and caught.value.body["message"]


def test_a_429_on_one_responses_account_fails_over_to_the_other(
    oai: openai.OpenAI, gateway: Gateway, fakes: dict[str, Any]
) -> None:
    fake: FakeResponses = fakes["responses"]
    limited, spare = RESP_KEYS
    fake.errors[limited] = (
        429,
        {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "code": "rate_limit_exceeded",
            }
        },
    )
    fake.error_headers[limited] = {"Retry-After": "30"}
    try:
        model = "codex-failover"
        rows = []
        before = len(fake.calls)
        for _ in range(2):  # the rotation reaches the limited account within two requests
            raw = oai.responses.with_raw_response.create(model=model, input="Hi", store=False)
            assert raw.parse().output_text == fake.reply_text
            rows.append(log_row(gateway, raw.headers["x-request-id"]))
        keys = [call.key for call in fake.calls[before:]]
        assert keys.count(limited) == 1 and keys[keys.index(limited) + 1] == spare
        assert keys.count(spare) == 2
        assert [row["status_code"] for row in rows] == [200, 200]
        assert max(row["retry_count"] for row in rows) == 1
    finally:
        del fake.errors[limited]


def test_the_admin_api_refuses_an_unknown_wire_api(gateway: Gateway, fakes: dict[str, Any]) -> None:
    with gateway.admin() as admin:
        created = admin.post(
            "/providers",
            json={
                "id": "bogus",
                "name": "Bogus",
                "kind": "openai",
                "base_url": fakes["responses"].base_url,
                "models": ["bogus-*"],
                "config": {"wire_api": "bogus"},
            },
        )
        assert created.status_code == 422, created.text
        assert "wire_api" in created.text
        patched = admin.patch("/providers/resp", json={"config": {"wire_api": "bogus"}})
        assert patched.status_code == 422, patched.text
        assert admin.get("/providers/resp").json()["config"] == {"wire_api": "responses"}
        assert admin.get("/providers/bogus").status_code == 404
