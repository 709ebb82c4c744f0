"""Google's SDK (google-genai) end to end through the gateway's Gemini routes, translated to an
OpenAI-kind upstream (`gpt-*`, FakeOpenAI) and to an Anthropic upstream (`claude-*`,
FakeAnthropic), on `/v1` (the SDK's default) and `/v1beta`.

Tool turns are declared with `parameters_json_schema`, as Gemini CLI declares its tools; the
second turn replays the model's function call and answers it with `{"output": ...}`, the key
Gemini documents (and Gemini CLI sends). Each call is checked at both ends and in the request
log (one row per call, with the tokens the upstream reported). Keys are read from
`x-goog-api-key` (the SDK's), `?key=` and a bearer token; errors come in Google's shape.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.e2e.harness import Gateway, gateway_env
from tests.e2e.test_translation_sdks import upstream_anthropic_message, upstream_openai_usage
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import Call, FakeOpenAI, content_text

pytestmark = pytest.mark.e2e

GPT = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-5"
QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "Sunny, 21 C"
OPENAI_REPLY = "Hello from the fake OpenAI upstream."
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name"}},
    "required": ["city"],
}
VERSIONS = ["v1", "v1beta"]
TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply_text=OPENAI_REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> Iterator[tuple[Gateway, str]]:
    """Both providers on their fakes, one account each; yields the gateway and a client key."""
    workdir = tmp_path_factory.mktemp("gemini-sdk")
    with Gateway(workdir, gateway_env(workdir)) as gw, gw.admin() as admin:
        admin.patch(
            "/providers/openai", json={"base_url": fake_openai.base_url, "models": [GPT, "gpt-*"]}
        ).raise_for_status()
        admin.patch(
            "/providers/anthropic",
            json={"base_url": fake_anthropic.base_url, "models": [CLAUDE, "claude-*"]},
        ).raise_for_status()
        for provider in ("openai", "anthropic"):
            admin.post(
                "/accounts",
                json={
                    "provider_id": provider,
                    "label": f"{provider} for google-genai",
                    "auth_data": {"api_key": f"sk-test-{provider}-genai-0001"},
                    "is_active": True,
                },
            ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "google-genai"})
        created.raise_for_status()
        yield gw, str(created.json()["key"])


class Sdk:
    """A google-genai client on the gateway, recording the URL of every request it sends."""

    def __init__(self, base_url: str, key: str, version: str) -> None:
        self.version = version
        self.urls: list[httpx.URL] = []
        self.http = httpx.Client(
            timeout=TIMEOUT_S, event_hooks={"request": [lambda r: self.urls.append(r.url)]}
        )
        options = types.HttpOptions(base_url=base_url, api_version=version, httpx_client=self.http)
        self.client = genai.Client(api_key=key, http_options=options)

    def paths(self) -> list[str]:
        return [f"{url.path}?{url.query.decode()}" if url.query else url.path for url in self.urls]


@pytest.fixture(params=VERSIONS)
def sdk(request: pytest.FixtureRequest, gateway: tuple[Gateway, str]) -> Iterator[Sdk]:
    gw, key = gateway
    client = Sdk(gw.base_url, key, request.param)
    yield client
    client.http.close()


def weather_config(tool: types.FunctionDeclaration | None = None) -> types.GenerateContentConfig:
    declaration = tool or types.FunctionDeclaration(
        name="get_weather",
        description="The current weather of a city",
        parameters_json_schema=WEATHER_SCHEMA,
    )
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[declaration])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


def turn(
    sdk: Sdk, model: str, contents: Any, config: types.GenerateContentConfig, *, stream: bool
) -> tuple[types.Content, str | None, types.GenerateContentResponse]:
    """One call: the model's content (stream chunks joined), the final finish reason, and the
    last response (usage, headers)."""
    if not stream:
        response = sdk.client.models.generate_content(model=model, contents=contents, config=config)
        (candidate,) = response.candidates or []
        assert candidate.content is not None
        reason = candidate.finish_reason.value if candidate.finish_reason else None
        return candidate.content, reason, response
    chunks = list(
        sdk.client.models.generate_content_stream(model=model, contents=contents, config=config)
    )
    parts: list[types.Part] = []
    for chunk in chunks:
        for candidate in chunk.candidates or []:
            parts += (candidate.content.parts or []) if candidate.content else []
    last = chunks[-1].candidates or []
    assert last and last[0].finish_reason is not None, "the last chunk carries finishReason"
    earlier = [c.candidates[0].finish_reason for c in chunks[:-1] if c.candidates]
    assert not any(earlier), "only the last chunk carries finishReason"
    return types.Content(role="model", parts=parts), last[0].finish_reason.value, chunks[-1]


def request_id(response: types.GenerateContentResponse) -> str:
    assert response.sdk_http_response is not None
    headers = response.sdk_http_response.headers or {}
    return headers["x-request-id"]


def log_row(gw: Gateway, rid: str) -> dict[str, Any]:
    """The request-log row of request `rid`, once the writer has flushed it."""
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(gw.workdir / "data" / "aigateway.db") as db:
            db.row_factory = sqlite3.Row
            found = db.execute("SELECT * FROM request_logs WHERE request_id = ?", (rid,)).fetchall()
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"request {rid} has {len(found)} log rows"
            return dict(found[0])
        time.sleep(0.1)


def upstream_usage(fake: FakeOpenAI | FakeAnthropic, index: int) -> tuple[int, int]:
    """(prompt, completion) tokens the fake upstream reported for its call `index`."""
    if isinstance(fake, FakeOpenAI):
        usage = upstream_openai_usage(fake, index)
        return usage["prompt_tokens"], usage["completion_tokens"]
    usage = upstream_anthropic_message(fake, index)["usage"]
    return usage["input_tokens"], usage["output_tokens"]


def check_call(
    gw: Gateway,
    fake: FakeOpenAI | FakeAnthropic,
    index: int,
    response: types.GenerateContentResponse,
    *,
    model: str,
    stream: bool,
) -> Call:
    """The upstream call `index` and its log row match what the SDK got back."""
    call = fake.calls[index]
    assert call.model == model and call.stream == stream
    prompt, completion = upstream_usage(fake, index)
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (prompt, completion)
    row = log_row(gw, request_id(response))
    assert row["status_code"] == 200 and row["model"] == model and bool(row["stream"]) == stream
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    return call


def function_calls(content: types.Content) -> list[types.FunctionCall]:
    return [p.function_call for p in content.parts or [] if p.function_call is not None]


def text_of(content: types.Content) -> str:
    return "".join(p.text or "" for p in content.parts or [] if not p.thought)


def openai_tool_turn(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the declared tool, the tool message answering the replayed call) of an OpenAI body."""
    (tool,) = call.body["tools"]
    return tool["function"], call.body["messages"][-1]


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
@pytest.mark.parametrize("model", [GPT, CLAUDE], ids=["openai", "anthropic"])
def test_a_function_call_round_trip_through_a_translated_upstream(
    sdk: Sdk,
    gateway: tuple[Gateway, str],
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    model: str,
    stream: bool,
) -> None:
    gw, _ = gateway
    fake: FakeOpenAI | FakeAnthropic = fake_openai if model == GPT else fake_anthropic
    config = weather_config()
    first_index = len(fake.calls)
    content, reason, first = turn(sdk, model, QUESTION, config, stream=stream)
    assert reason == "STOP"
    (called,) = function_calls(content)
    assert (called.name, called.args) == ("get_weather", {"city": "Paris"})
    assert called.id == fake.issued_tool_ids[first_index]
    call = check_call(gw, fake, first_index, first, model=model, stream=stream)
    if isinstance(fake, FakeOpenAI):
        declared, _ = openai_tool_turn(call)
        assert declared["parameters"] == WEATHER_SCHEMA
    else:
        assert text_of(content) == "Let me check."
        assert call.body["tools"][0]["input_schema"] == WEATHER_SCHEMA

    answer = types.Part(
        function_response=types.FunctionResponse(
            id=called.id, name=called.name, response={"output": TOOL_RESULT}
        )
    )
    history = [
        types.Content(role="user", parts=[types.Part(text=QUESTION)]),
        content,
        types.Content(role="user", parts=[answer]),
    ]
    second_index = len(fake.calls)
    final, reason, second = turn(sdk, model, history, config, stream=stream)
    assert reason == "STOP"
    assert text_of(final) == f"The tool said: {TOOL_RESULT}"
    assert not function_calls(final)
    call = check_call(gw, fake, second_index, second, model=model, stream=stream)
    if isinstance(fake, FakeOpenAI):
        _, sent = openai_tool_turn(call)
        assert sent == {"role": "tool", "tool_call_id": called.id, "content": TOOL_RESULT}
    else:
        (result,) = call.body["messages"][-1]["content"]
        assert result["type"] == "tool_result" and result["tool_use_id"] == called.id
        assert content_text(result["content"]) == TOOL_RESULT

    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    assert sdk.paths() == [f"/{sdk.version}/models/{model}:{method}"] * 2


def test_a_gemini_schema_reaches_an_openai_upstream_as_json_schema(
    sdk: Sdk, fake_openai: FakeOpenAI
) -> None:
    declaration = types.FunctionDeclaration(
        name="get_weather",
        description="The current weather of a city",
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={"city": types.Schema(type=types.Type.STRING, description="The city name")},
            required=["city"],
        ),
    )
    before = len(fake_openai.calls)
    content, _, _ = turn(sdk, GPT, QUESTION, weather_config(declaration), stream=False)
    assert [c.name for c in function_calls(content)] == ["get_weather"]
    declared, _ = openai_tool_turn(fake_openai.calls[before])
    assert declared["parameters"] == WEATHER_SCHEMA


def test_the_model_list_names_the_served_models(sdk: Sdk) -> None:
    models = {model.name: model for model in sdk.client.models.list()}
    for name in (GPT, CLAUDE):
        listed = models[f"models/{name}"]
        assert listed.supported_actions == ["generateContent", "streamGenerateContent"]
    assert {path.split("?")[0] for path in sdk.paths()} == {f"/{sdk.version}/models"}


BODY = {"contents": [{"role": "user", "parts": [{"text": "Say hello"}]}]}


@pytest.mark.parametrize("where", ["x-goog-api-key", "query", "bearer"])
def test_the_key_is_read_where_google_clients_send_it(
    gateway: tuple[Gateway, str], where: str
) -> None:
    gw, key = gateway
    url = f"{gw.base_url}/v1beta/models/{GPT}:generateContent"
    headers = {"x-goog-api-key": key} if where == "x-goog-api-key" else {}
    if where == "bearer":
        headers = {"Authorization": f"Bearer {key}"}
    params = {"key": key} if where == "query" else {}
    response = httpx.post(url, json=BODY, headers=headers, params=params, timeout=TIMEOUT_S)
    assert response.status_code == 200, response.text
    (candidate,) = response.json()["candidates"]
    assert candidate["content"]["parts"] == [{"text": OPENAI_REPLY}]
    assert candidate["finishReason"] == "STOP"


def test_a_bad_key_is_refused_in_googles_format(gateway: tuple[Gateway, str]) -> None:
    gw, key = gateway
    bad = Sdk(gw.base_url, "not-a-gateway-key", "v1beta")
    with pytest.raises(errors.ClientError) as refused:
        bad.client.models.generate_content(model=GPT, contents="Say hello")
    assert refused.value.code == 401 and refused.value.status == "UNAUTHENTICATED"
    with pytest.raises(errors.ClientError) as listing:
        list(bad.client.models.list())
    assert listing.value.code == 401
    assert key not in str(refused.value.details)
    bad.http.close()


def google_error(response: httpx.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert isinstance(error["message"], str) and error["message"]
    return str(error["message"])


REFUSED = [
    ("unknown-model", "nobody-serves-this:generateContent", BODY, 404, "NOT_FOUND"),
    ("unknown-method", f"{GPT}:frobnicate", BODY, 404, "NOT_FOUND"),
    ("stream-without-sse", f"{GPT}:streamGenerateContent", BODY, 400, "INVALID_ARGUMENT"),
    ("not-json", f"{GPT}:generateContent", b"{contents", 400, "INVALID_ARGUMENT"),
    ("no-contents", f"{GPT}:generateContent", {"contents": []}, 400, "INVALID_ARGUMENT"),
    (
        "bad-part",
        f"{GPT}:generateContent",
        {"contents": [{"parts": [{"text": 5}]}]},
        400,
        "INVALID_ARGUMENT",
    ),
]


@pytest.mark.parametrize(
    ("target", "body", "code", "status"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
@pytest.mark.parametrize("version", VERSIONS)
def test_bad_requests_are_refused_in_googles_format(
    gateway: tuple[Gateway, str],
    fake_openai: FakeOpenAI,
    version: str,
    target: str,
    body: Any,
    code: int,
    status: str,
) -> None:
    gw, key = gateway
    before = len(fake_openai.calls)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(
        f"{gw.base_url}/{version}/models/{target}",
        content=content,
        headers={"x-goog-api-key": key, "content-type": "application/json"},
        timeout=TIMEOUT_S,
    )
    google_error(response, code, status)
    assert len(fake_openai.calls) == before


@pytest.mark.parametrize("path", ["/v1beta/cachedContents", "/v1/files"])
def test_a_path_the_gateway_does_not_serve_is_a_404_in_googles_format(
    gateway: tuple[Gateway, str], path: str
) -> None:
    gw, key = gateway
    response = httpx.post(
        f"{gw.base_url}{path}", json={}, headers={"x-goog-api-key": key}, timeout=TIMEOUT_S
    )
    google_error(response, 404, "NOT_FOUND")
