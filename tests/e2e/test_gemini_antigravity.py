"""A Gemini client on Antigravity end to end: the official google-genai SDK, through a gateway
(`aigateway serve`), to the fake Cloud Code backend.

The provider `antigravity` points at the fake, with one account; the seeded `anthropic` provider
is off, so `claude-*` routes to Antigravity too. A second provider of the kind, `ag-pair`, has
two accounts, one of which the fake answers with a 429 (quota exhausted). The SDK sends what
Gemini CLI sends: function declarations with `parametersJsonSchema`, and the model's turn
replayed with its `thoughtSignature` (the sentinel where the model gave none).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import msgspec
import pytest
from google import genai
from google.genai import types

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.cloud_code import SKIP_SIGNATURE, CloudCall, FakeCloudCode, quota_exhausted

pytestmark = [pytest.mark.e2e]

TOKEN = "ya29.e2e-gemini-antigravity-0001"
PAIR_GOOD = "ya29.e2e-gemini-antigravity-pair-good"
PAIR_OUT = "ya29.e2e-gemini-antigravity-pair-out"
PROJECT = "e2e-gemini-project-0001"
GEMINI = "gemini-3-flash"
CLAUDE = "claude-sonnet-4-6"
QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "Sunny, 21 C"
TOOL_NAME = "weather.get"  # a Gemini name Claude refuses (dots): mapped both ways
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name"}},
    "required": ["city"],
}
TOOLS = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name=TOOL_NAME, description="Weather", parameters_json_schema=SCHEMA
            )
        ]
    )
]


def oauth_account(provider: str, token: str, label: str) -> dict[str, Any]:
    return {
        "provider_id": provider,
        "label": label,
        "auth_data": {
            "access_token": token,
            "refresh_token": f"1//e2e-refresh-{label}",
            "expires_at": "2099-01-01T00:00:00Z",
            "project_id": PROJECT,
        },
        "is_active": True,
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens={TOKEN, PAIR_GOOD, PAIR_OUT}) as server:
        server.key_errors[PAIR_OUT] = quota_exhausted(GEMINI)
        yield server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("gemini-antigravity")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw


@pytest.fixture(scope="module")
def client_key(gateway: Gateway, fake: FakeCloudCode) -> str:
    with gateway.admin() as admin:
        admin.patch("/providers/anthropic", json={"is_active": False}).raise_for_status()
        admin.patch(
            "/providers/antigravity",
            json={
                "base_url": fake.base_url,
                "models": ["gemini-*", "claude-*"],
                "config": {"base_urls": [fake.base_url], "models": [GEMINI, CLAUDE]},
            },
        ).raise_for_status()
        admin.post(
            "/providers",
            json={
                "id": "ag-pair",
                "name": "Antigravity (two accounts)",
                "kind": "antigravity",
                "base_url": fake.base_url,
                "models": [],
                "config": {"base_urls": [fake.base_url]},
            },
        ).raise_for_status()
        accounts = [
            oauth_account("antigravity", TOKEN, "main"),
            oauth_account("ag-pair", PAIR_GOOD, "good"),
            oauth_account("ag-pair", PAIR_OUT, "out"),
        ]
        for account in accounts:
            admin.post("/accounts", json=account).raise_for_status()
        created = admin.post("/api-keys", json={"label": "gemini"})
        created.raise_for_status()
        return str(created.json()["key"])


class Sent:
    """The bodies the SDK sent to the gateway, in order."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> None:
        self.bodies.append(request.content)


@pytest.fixture
def sent() -> Sent:
    return Sent()


def client(gateway: Gateway, key: str, sent: Sent, api_version: str | None) -> genai.Client:
    options = types.HttpOptions(
        base_url=gateway.base_url,
        api_version=api_version,
        httpx_client=httpx.Client(event_hooks={"request": [sent]}, timeout=30),
    )
    return genai.Client(api_key=key, http_options=options)


def config() -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        tools=[*TOOLS],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


def turn(
    sdk: genai.Client, model: str, contents: list[types.Content], *, stream: bool
) -> tuple[list[types.Part], list[types.GenerateContentResponse]]:
    """The model's parts, and the responses (one, or the stream's chunks)."""
    if stream:
        chunks = list(
            sdk.models.generate_content_stream(model=model, contents=contents, config=config())
        )
    else:
        chunks = [sdk.models.generate_content(model=model, contents=contents, config=config())]
    parts = [
        part
        for chunk in chunks
        for candidate in chunk.candidates or ()
        for part in (candidate.content.parts if candidate.content else None) or ()
    ]
    return parts, chunks


def request_ids(chunks: list[types.GenerateContentResponse]) -> str:
    http = chunks[0].sdk_http_response
    assert http is not None and http.headers is not None
    return http.headers["x-request-id"]


def log_rows(gateway: Gateway, ids: list[str], timeout_s: float = 10.0) -> list[tuple[Any, ...]]:
    """(status, prompt_tokens, completion_tokens, retry_count) per request id, once written."""
    marks = ",".join("?" * len(ids))
    query = (
        "SELECT request_id, status_code, prompt_tokens, completion_tokens, retry_count"
        f" FROM request_logs WHERE request_id IN ({marks})"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        with sqlite3.connect(gateway.workdir / "data" / "aigateway.db") as db:
            rows = {row[0]: row[1:] for row in db.execute(query, ids).fetchall()}
        if len(rows) == len(ids):
            return [rows[i] for i in ids]
        assert time.monotonic() < deadline, f"request-log rows of {ids} never written"
        time.sleep(0.1)


def generations(fake: FakeCloudCode, before: int) -> list[CloudCall]:
    return fake.generation_calls()[before:]


def members(body: bytes) -> dict[str, bytes]:
    return {k: bytes(v) for k, v in msgspec.json.decode(body, type=dict[str, msgspec.Raw]).items()}


def replayed(parts: list[types.Part]) -> types.Content:
    """The model's turn as Gemini CLI sends it back: a first call without a signature gets the
    sentinel."""
    calls = [p for p in parts if p.function_call is not None]
    if calls and not calls[0].thought_signature:
        calls[0].thought_signature = SKIP_SIGNATURE.encode()  # the SDK writes it as base64
    return types.Content(role="model", parts=parts)


def function_response(call: types.FunctionCall) -> types.Content:
    part = types.Part.from_function_response(name=call.name or "", response={"output": TOOL_RESULT})
    part.function_response.id = call.id  # type: ignore[union-attr]
    return types.Content(role="user", parts=[part])


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
@pytest.mark.parametrize(("stream", "api_version"), [(False, "v1beta"), (True, None)])
def test_a_function_call_round_trip(
    gateway: Gateway,
    client_key: str,
    fake: FakeCloudCode,
    sent: Sent,
    model: str,
    stream: bool,
    api_version: str | None,
) -> None:
    sdk = client(gateway, client_key, sent, api_version)
    before = len(fake.generation_calls())
    question = types.Content(role="user", parts=[types.Part(text=QUESTION)])
    parts, first_chunks = turn(sdk, model, [question], stream=stream)
    calls = [p.function_call for p in parts if p.function_call is not None]
    assert [(c.name, c.args) for c in calls] == [(TOOL_NAME, {"city": "Paris"})]
    assert first_chunks[-1].candidates and first_chunks[-1].candidates[0].finish_reason == "STOP"
    history = [question, replayed(parts), function_response(calls[0])]
    answer, second_chunks = turn(sdk, model, history, stream=stream)
    assert "".join(p.text or "" for p in answer) == f"The tool said: {TOOL_RESULT}"
    assert second_chunks[-1].candidates and second_chunks[-1].candidates[0].finish_reason

    up = generations(fake, before)
    assert [c.model for c in up] == [model, model]
    assert all(c.body["project"] == PROJECT and c.key == TOKEN for c in up)
    replayed_call = next(
        p for c in up[1].request["contents"] for p in c["parts"] if "functionCall" in p
    )
    if model == GEMINI:
        # the client's bytes, with the session id the backend needs appended
        for body, call in zip(sent.bodies, up, strict=True):
            inner = call.inner_raw
            assert inner.startswith(body.rstrip()[:-1])
            assert set(members(inner)) - set(members(body)) == {"sessionId"}
        issued = fake.issued_signatures[replayed_call["functionCall"]["id"]]
        assert replayed_call["thoughtSignature"] == issued
    else:
        declaration = up[0].request["tools"][0]["functionDeclarations"][0]
        assert declaration["name"] == "weather_get"
        assert declaration["parameters"]["properties"]["city"]["type"] == "string"
        assert up[0].request["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"
        assert replayed_call["functionCall"]["name"] == "weather_get"
        assert "thoughtSignature" not in replayed_call  # Gemini CLI's sentinel: not Claude's

    rows = log_rows(gateway, [request_ids(first_chunks), request_ids(second_chunks)])
    for status, prompt, completion, retries in rows:
        assert status == 200 and retries == 0
        assert prompt is not None and prompt > 0 and completion is not None and completion > 0


def test_a_429_on_one_account_fails_over_to_the_other(
    gateway: Gateway, client_key: str, fake: FakeCloudCode, sent: Sent
) -> None:
    """Two requests: whichever comes first to the exhausted account moves to the other one."""
    sdk = client(gateway, client_key, sent, "v1beta")
    before = len(fake.generation_calls())
    ids = []
    for _ in range(2):
        response = sdk.models.generate_content(model=f"ag-pair/{GEMINI}", contents="Say hello")
        assert response.text == "Hello from the fake Cloud Code backend."
        ids.append(request_ids([response]))
    keys = [c.key for c in generations(fake, before)]
    assert keys.count(PAIR_OUT) == 1 and keys.count(PAIR_GOOD) == 2
    assert keys[keys.index(PAIR_OUT) + 1] == PAIR_GOOD  # the same request, the next account
    rows = log_rows(gateway, ids)
    assert sorted(retries for *_, retries in rows) == [0, 1]
    assert all(status == 200 and prompt for status, prompt, _, _ in rows)


def test_count_tokens_for_claude_is_counted_by_antigravity(
    gateway: Gateway, client_key: str, fake: FakeCloudCode
) -> None:
    before = len(fake.calls_to("countTokens"))
    with anthropic.Anthropic(base_url=gateway.base_url, api_key=client_key, max_retries=0) as ant:
        raw = ant.messages.with_raw_response.count_tokens(
            model=CLAUDE,
            system="Be brief",
            messages=[{"role": "user", "content": "one two three four"}],
        )
    counted = raw.parse()
    assert counted.input_tokens == 6  # the words of the system prompt and the message
    assert raw.headers["x-aigateway-token-count"] == "upstream"
    (call,) = fake.calls_to("countTokens")[before:]
    assert call.key == TOKEN
    assert call.body["request"]["model"] == f"models/{CLAUDE}"
    ((status, prompt, completion, _),) = log_rows(gateway, [raw.headers["x-request-id"]])
    assert (status, prompt) == (200, 6) and not completion


def test_the_sdk_reads_a_whole_answer_of_a_thinking_request(
    gateway: Gateway, client_key: str, fake: FakeCloudCode, sent: Sent
) -> None:
    """Asked for a whole answer, a thinking request goes up on the stream method; the client
    gets one answer with the whole text."""
    sdk = client(gateway, client_key, sent, "v1beta")
    before = len(fake.generation_calls())
    thinking = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024)
    )
    response = sdk.models.generate_content(model=GEMINI, contents="Say hello", config=thinking)
    assert response.text == "Hello from the fake Cloud Code backend."
    assert response.usage_metadata is not None and response.usage_metadata.prompt_token_count
    (call,) = generations(fake, before)
    assert call.method == "streamGenerateContent"
    asked = json.loads(sent.bodies[-1])["generationConfig"]
    assert json.loads(call.inner_raw)["generationConfig"] == asked  # as the SDK wrote it
