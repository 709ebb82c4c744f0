"""The Cloud Code executor on production code (the registered profile and codecs) over a
scripted transport: what it sends, where, and what the client gets back."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import msgspec
import pytest

from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.upstream.cloud_code.executor import CloudCodePrepared
from aigateway.adapters.upstream.cloud_code.request import SKIP_SIGNATURE
from aigateway.application.ports.upstream import (
    Answer,
    ChatCall,
    Refusal,
    UpstreamUnavailable,
)
from aigateway.domain.errors import NetworkErrorKind
from tests.doubles.routes import VIA
from tests.fakes.cloud_code import UPGRADE_TEXT
from tests.unit.cloud_code_chat_world import (
    ANTHROPIC,
    FIRST,
    PROFILE,
    SECOND,
    TOKEN,
    TOOL,
    Reports,
    Transport,
    account,
    answer_of,
    error,
    openai_call,
    openai_stream_text,
    provider,
    run,
    sse,
    stream_of,
    streamed,
    whole,
)


async def test_envelope_headers_and_url() -> None:
    transport = Transport(first=[whole([{"text": "hi"}])], second=[error(500)])
    result = await answer_of(run(transport), openai_call())
    assert isinstance(result, Answer) and result.status == 200
    (request,) = transport.requests
    assert request.url == f"{FIRST}/v1internal:generateContent"
    assert dict(request.headers) == {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "User-Agent": "antigravity/hub/2.19.1 darwin/arm64",
    }
    sent = json.loads(request.body)
    assert list(sent) == ["project", "model", "userAgent", "requestType", "requestId", "request"]
    assert sent["project"] == "proj-1" and sent["model"] == "gemini-3-flash"
    assert (sent["userAgent"], sent["requestType"]) == ("antigravity", "agent")
    assert re.fullmatch(r"agent-[0-9a-f-]{36}", sent["requestId"])
    assert "safetySettings" not in sent["request"]
    assert re.fullmatch(r"-\d+", sent["request"]["sessionId"])
    assert json.loads(result.body)["choices"][0]["message"]["content"] == "hi"


async def test_version_and_user_agent_come_from_config() -> None:
    transport = Transport(first=[whole([{"text": "hi"}])])
    config = {"client_version": "2.21.0", "user_agent": "antigravity/ide/{version} linux/amd64"}
    await answer_of(run(transport), openai_call(where=provider(**config)))
    assert transport.requests[0].headers["User-Agent"] == "antigravity/ide/2.21.0 linux/amd64"


async def test_one_inner_request_per_client_request_and_a_stable_session() -> None:
    transport = Transport(first=[error(503), whole([{"text": "hi"}])], second=[error(503)])
    executor = run(transport)
    prepared = executor.prepare(openai_call())
    for _ in range(2):
        await (await executor.open(prepared, account(), TOKEN, VIA)).answer()
    ids = [b["requestId"] for b in transport.bodies()]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]  # one id per attempt, on every endpoint
    assert all(prepared.body in r.body for r in transport.requests)  # not re-encoded
    later = openai_call(
        messages=[
            {"role": "user", "content": "What is in README?"},
            {"role": "assistant", "content": "A title."},
            {"role": "user", "content": "And then?"},
        ]
    )
    assert (
        json.loads(executor.prepare(later).body)["sessionId"]
        == json.loads(prepared.body)["sessionId"]
    )


@pytest.mark.parametrize("status", [404, 408, 429, 500, 503])
async def test_moves_to_the_next_endpoint(status: int) -> None:
    transport = Transport(first=[error(status)], second=[whole([{"text": "from second"}])])
    result = await answer_of(run(transport), openai_call())
    assert [r.url.split("/v1")[0] for r in transport.requests] == [FIRST, SECOND]
    assert isinstance(result, Answer)
    assert json.loads(result.body)["choices"][0]["message"]["content"] == "from second"


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_stays_on_an_endpoint_that_refuses_the_request(status: int) -> None:
    transport = Transport(first=[error(status, "PERMISSION_DENIED")], second=[whole([])])
    result = await answer_of(run(transport), openai_call())
    assert len(transport.requests) == 1
    assert isinstance(result, Refusal) and result.status == status


async def test_network_error_moves_on_and_the_last_answer_is_the_attempts() -> None:
    dead = UpstreamUnavailable("cannot connect", NetworkErrorKind.CONNECT)
    transport = Transport(first=[dead], second=[error(503)])
    result = await answer_of(run(transport), openai_call())
    assert len(transport.requests) == 2
    assert isinstance(result, Refusal) and result.status == 503
    transport = Transport(first=[error(503)], second=[dead])
    with pytest.raises(UpstreamUnavailable):
        await answer_of(run(transport), openai_call())


async def test_stream_lines_are_unwrapped_for_the_client() -> None:
    transport = Transport(first=[streamed([{"text": "Hello "}, {"text": "world"}])])
    raw = await stream_of(run(transport), openai_call(stream=True))
    assert isinstance(raw, bytes)
    assert openai_stream_text(raw) == "Hello world"
    (request,) = transport.requests
    assert request.url == f"{FIRST}/v1internal:streamGenerateContent?alt=sse"
    assert request.headers["Accept"] == "text/event-stream"


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-6-thinking"])
async def test_claude_whole_answer_is_assembled_from_a_stream(model: str) -> None:
    thought = {"text": "Let me think.", "thought": True, "thoughtSignature": "c-sig"}
    transport = Transport(first=[streamed([thought, {"text": "Four"}, {"text": "."}])])
    call = ChatCall(
        provider=provider(),
        model=model,
        requested_model=model,
        body=json.dumps(
            {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "2+2"}]}
        ).encode(),
        client_format=ANTHROPIC,
        stream=False,
    )
    result = await answer_of(run(transport), call)
    assert transport.requests[0].url.endswith(":streamGenerateContent?alt=sse")
    assert isinstance(result, Answer)
    message = json.loads(result.body)
    assert message["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "c-sig"},
        {"type": "text", "text": "Four."},
    ]
    assert message["usage"]["output_tokens"] == 4


@pytest.mark.parametrize("client_stream", [False, True])
async def test_an_empty_stream_is_asked_for_once_more(client_stream: bool) -> None:
    empty = sse(
        {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}]}
    )
    model = "claude-sonnet-4-6"
    transport = Transport(first=[empty, streamed([{"text": "at last"}])])
    executor = run(transport)
    call = openai_call(model, stream=client_stream)
    if client_stream:
        raw = await stream_of(executor, call)
        assert isinstance(raw, bytes) and openai_stream_text(raw) == "at last"
    else:
        result = await answer_of(executor, call)
        assert isinstance(result, Answer)
        assert json.loads(result.body)["choices"][0]["message"]["content"] == "at last"
    assert len(transport.requests) == 2
    transport = Transport(first=[empty])
    twice: bytes | Answer | Refusal
    if client_stream:
        twice = await stream_of(run(transport), call)
    else:
        twice = await answer_of(run(transport), call)
    assert isinstance(twice, Refusal) and twice.summary.startswith("empty stream")
    assert len(transport.requests) == 2


async def test_tool_names_are_sanitised_and_mapped_back() -> None:
    call_part = {"functionCall": {"name": "files_read_v2", "args": {"path": "README"}}}
    transport = Transport(first=[whole([call_part])])
    result = await answer_of(run(transport), openai_call(tools=[TOOL]))
    inner = transport.bodies()[0]["request"]
    assert inner["tools"][0]["functionDeclarations"][0]["name"] == "files_read_v2"
    assert isinstance(result, Answer)
    (tool_call,) = json.loads(result.body)["choices"][0]["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "files.read/v2"


@pytest.mark.parametrize("stream", [False, True])
async def test_signature_is_restored_for_a_client_that_cannot_carry_it(stream: bool) -> None:
    signed = {
        "functionCall": {"name": "files_read_v2", "args": {"path": "README"}},
        "thoughtSignature": "gemini-signature-1",
    }
    answer = streamed([signed]) if stream else whole([signed])
    transport = Transport(first=[answer, whole([{"text": "done"}])])
    executor = run(transport)
    first = openai_call(tools=[TOOL], stream=stream)
    if stream:
        raw = await stream_of(executor, first)
        assert isinstance(raw, bytes) and b"gemini-signature-1" not in raw
        ids = re.findall(rb'"id":"(call_[^"]+)"', raw)
        call_id = ids[0].decode()
    else:
        result = await answer_of(executor, first)
        assert isinstance(result, Answer) and b"gemini-signature-1" not in result.body
        call_id = json.loads(result.body)["choices"][0]["message"]["tool_calls"][0]["id"]
    assert call_id.startswith("call_0_")  # the codec's id, made unique across answers
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "What is in README?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "files.read/v2", "arguments": '{"path":"README"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "# Title"},
    ]
    await answer_of(executor, openai_call(tools=[TOOL], messages=history))
    model_turn = transport.bodies()[1]["request"]["contents"][1]
    assert model_turn["parts"] == [
        {
            "functionCall": {"id": call_id, "name": "files_read_v2", "args": {"path": "README"}},
            "thoughtSignature": "gemini-signature-1",
        }
    ]


async def test_claude_tools_are_strict_and_placeholders_do_not_reach_the_client() -> None:
    bare = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
    call_part = {"functionCall": {"id": "toolu_vrtx_1", "name": "now", "args": {"reason": "x"}}}
    transport = Transport(first=[streamed([call_part])])
    result = await answer_of(run(transport), openai_call("claude-sonnet-4-6", tools=[bare]))
    inner = transport.bodies()[0]["request"]
    declaration = inner["tools"][0]["functionDeclarations"][0]
    assert "parametersJsonSchema" not in declaration
    assert declaration["parameters"]["required"]  # VALIDATED needs a required property
    assert inner["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"
    assert inner["generationConfig"]["maxOutputTokens"] == 64000
    assert isinstance(result, Answer)
    (tool_call,) = json.loads(result.body)["choices"][0]["message"]["tool_calls"]
    assert (tool_call["id"], json.loads(tool_call["function"]["arguments"])) == ("toolu_vrtx_1", {})


async def test_claude_gets_no_thinking_it_did_not_sign() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "", "signature": "gemini-sig"},
                {"type": "thinking", "thinking": "mine", "signature": "claude-sig"},
                {"type": "text", "text": "hello"},
            ],
        },
        {"role": "user", "content": "again"},
    ]
    doc = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": history}
    call = ChatCall(
        provider=provider(),
        model="claude-sonnet-4-6",
        requested_model="claude-sonnet-4-6",
        body=json.dumps(doc).encode(),
        client_format=ANTHROPIC,
        stream=False,
    )
    prepared = run(Transport(first=[whole([])])).prepare(call)
    assert isinstance(prepared, CloudCodePrepared) and prepared.upstream_stream
    parts = json.loads(prepared.body)["contents"][1]["parts"]
    assert parts == [
        {"text": "mine", "thought": True, "thoughtSignature": "claude-sig"},
        {"text": "hello"},
    ]


async def test_client_model_names_map_to_upstream_names() -> None:
    transport = Transport(first=[whole([{"text": "hi"}])])
    where = provider(models={"fast": "gemini-3-flash"})
    call = msgspec.structs.replace(openai_call(where=where), model="fast", requested_model="fast")
    result = await answer_of(run(transport), call)
    assert transport.bodies()[0]["model"] == "gemini-3-flash"
    assert isinstance(result, Answer) and json.loads(result.body)["model"] == "fast"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_upgrade_notice_is_a_refusal(stream: bool) -> None:
    notice = [{"text": UPGRADE_TEXT}]
    transport = Transport(first=[streamed(notice) if stream else whole(notice)])
    call = openai_call(stream=stream)
    result = await (stream_of if stream else answer_of)(run(transport), call)
    assert isinstance(result, Refusal)
    assert (result.status, result.body, result.client_body) == (200, UPGRADE_TEXT.encode(), None)


@pytest.mark.parametrize(
    ("listed", "reported", "known"),
    [
        (["gemini-3-flash"], [], True),  # the provider's model list
        (["other"], ["gemini-3-flash"], True),  # the account's fetched report
        (["other"], [], False),
    ],
)
async def test_a_404_for_a_listed_model_is_marked_known(
    listed: list[str], reported: list[str], known: bool
) -> None:
    transport = Transport(first=[error(404, "NOT_FOUND")], second=[error(404, "NOT_FOUND")])
    executor = run(transport, reports=Reports(a1=reported, other_account=["gemini-3-flash"]))
    result = await answer_of(executor, openai_call(where=provider(models=listed)))
    assert isinstance(result, Refusal) and result.status == 404
    assert result.model_known is known


async def test_an_account_without_project_fails_the_attempt_with_what_to_set() -> None:
    executor = run(Transport(first=[whole([])]))
    prepared = executor.prepare(openai_call())
    with pytest.raises(UpstreamUnavailable, match=r"account a1: .*auth_data\.project_id"):
        await executor.open(prepared, account(project_id=None), TOKEN, VIA)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"base_urls": "http://one"}, "config.base_urls"),
        ({"base_urls": ["ftp://x"]}, "config.base_urls"),
        ({"client_version": "latest"}, "config.client_version"),
        ({"user_agent": ""}, "config.user_agent"),
        ({"models": "gemini-3-flash"}, "config.models"),
        ({"models": {"fast": 3}}, "config.models"),
        ({"max_output_tokens": {"gpt": 1}}, "config.max_output_tokens"),
    ],
)
def test_bad_config_is_named(config: dict[str, Any], problem: str) -> None:
    problems = PROFILE.config_problems(config)
    assert problems and all(p.startswith(problem) for p in problems)


def test_good_config_has_no_problems() -> None:
    config = {
        "base_urls": ["https://daily-cloudcode-pa.googleapis.com"],
        "client_version": "2.19.1",
        "user_agent": "antigravity/hub/{version} darwin/arm64",
        "models": {"fast": "gemini-3-flash"},
        "max_output_tokens": {"claude": 32000},
    }
    assert PROFILE.config_problems(config) == []
    assert PROFILE.config_problems({"models": ["gemini-3-flash", "claude-sonnet-4-6"]}) == []


class CountingSignatures(InMemorySignatures):
    """The in-process store, counting lookups and the ids asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        self.asked.append(list(call_ids))
        return await super().recall(call_ids)


def replayed(call_ids: list[str]) -> list[dict[str, Any]]:
    """An OpenAI history whose assistant turn called the tool once per id (no signatures)."""
    calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": "files.read/v2", "arguments": '{"path":"README"}'},
        }
        for call_id in call_ids
    ]
    results = [{"role": "tool", "tool_call_id": c, "content": "# Title"} for c in call_ids]
    return [
        {"role": "user", "content": "What is in README?"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        *results,
    ]


def sent_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for content in body["request"]["contents"]
        if content["role"] == "model"
        for part in content["parts"]
        if "functionCall" in part
    ]


async def test_an_unknown_gemini_call_gets_the_sentinel_on_the_first_call_of_its_turn() -> None:
    store = CountingSignatures()
    await store.remember({"call_known": "gemini-signature-9"})
    transport = Transport(first=[whole([{"text": "done"}])])
    executor = run(transport, store)
    long_id = "x" * 1000
    await answer_of(executor, openai_call(tools=[TOOL], messages=replayed(["call_a", long_id])))
    first, second = sent_calls(transport.bodies()[0])
    assert first["thoughtSignature"] == SKIP_SIGNATURE  # never seen: Gemini's own sentinel
    assert "thoughtSignature" not in second  # Gemini signs the first call of a step only
    assert store.asked == [["call_a"]]  # one lookup; an over-long id is never a key
    await answer_of(executor, openai_call(tools=[TOOL], messages=replayed(["call_known", "b"])))
    first, second = sent_calls(transport.bodies()[1])
    assert first["thoughtSignature"] == "gemini-signature-9"
    assert "thoughtSignature" not in second


async def test_claude_never_gets_a_made_up_signature_nor_a_lookup() -> None:
    store = CountingSignatures()
    transport = Transport(first=[streamed([{"text": "done"}])])
    history = replayed(["toolu_vrtx_1"])
    await answer_of(run(transport, store), openai_call("claude-sonnet-4-6", messages=history))
    (call,) = sent_calls(transport.bodies()[0])
    assert "thoughtSignature" not in call
    assert store.asked == []


async def test_one_lookup_per_request_and_the_same_inner_request_on_every_attempt() -> None:
    store = CountingSignatures()
    await store.remember({"call_a": "gemini-signature-1"})
    transport = Transport(first=[error(503)], second=[error(503), whole([{"text": "done"}])])
    executor = run(transport, store)
    prepared = executor.prepare(openai_call(tools=[TOOL], messages=replayed(["call_a"])))
    for _ in range(2):  # two attempts of one client request, two endpoints each
        await (await executor.open(prepared, account(), TOKEN, VIA)).answer()
    assert store.asked == [["call_a"]]  # looked up once for the whole request
    inner = {json.dumps(b["request"], sort_keys=True) for b in transport.bodies()}
    assert len(inner) == 1  # the same inner request on every endpoint and attempt
    assert sent_calls(transport.bodies()[0])[0]["thoughtSignature"] == "gemini-signature-1"
    assert isinstance(prepared, CloudCodePrepared) and prepared.body == b""  # held for the store


async def test_a_history_that_carries_its_signatures_is_not_looked_up() -> None:
    store = CountingSignatures()
    history = [
        {"role": "user", "content": "What is in README?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "", "signature": "gemini-signature-1"},
                {"type": "tool_use", "id": "fc_1", "name": "read", "input": {"path": "README"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "fc_1", "content": "#"}],
        },
    ]
    doc = {"model": "gemini-3-flash", "max_tokens": 50, "messages": history}
    call = ChatCall(
        provider=provider(),
        model="gemini-3-flash",
        requested_model="gemini-3-flash",
        body=json.dumps(doc).encode(),
        client_format=ANTHROPIC,
        stream=False,
    )
    transport = Transport(first=[whole([{"text": "done"}])])
    await answer_of(run(transport, store), call)
    (sent,) = sent_calls(transport.bodies()[0])
    assert sent["thoughtSignature"] == "gemini-signature-1"
    assert store.asked == []


class WatchedSignatures(InMemorySignatures):
    """Records what the client had received when each signature was written."""

    def __init__(self) -> None:
        super().__init__()
        self.relayed = b""
        self.written_after: list[bytes] = []

    async def remember(self, signatures: Mapping[str, str]) -> None:
        self.written_after.append(self.relayed)
        await super().remember(signatures)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_signature_is_stored_before_the_client_sees_its_call(stream: bool) -> None:
    signed = {
        "functionCall": {"name": "files_read_v2", "args": {"path": "README"}},
        "thoughtSignature": "gemini-signature-1",
    }
    parts: list[dict[str, Any]] = [{"text": "Let me look. "}, signed]
    store = WatchedSignatures()
    transport = Transport(first=[streamed(parts) if stream else whole(parts)])
    executor = run(transport, store)
    call = openai_call(tools=[TOOL], stream=stream)
    exchange = await executor.open(executor.prepare(call), account(), TOKEN, VIA)
    if stream:
        opened = await exchange.open_stream()
        assert isinstance(opened, AsyncIterator)
        async for chunk in opened:
            store.relayed += chunk
        call_id = re.findall(rb'"id":"(call_[^"]+)"', store.relayed)[0].decode()
    else:
        result = await exchange.answer()
        assert isinstance(result, Answer)
        store.relayed = result.body
        call_id = json.loads(result.body)["choices"][0]["message"]["tool_calls"][0]["id"]
    (before,) = store.written_after
    assert call_id.encode() not in before  # written before any byte naming the call
    assert await store.recall([call_id]) == {call_id: "gemini-signature-1"}
