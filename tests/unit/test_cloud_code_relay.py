"""A Gemini client through the Cloud Code executor (production profile and codecs, scripted
transport): its body goes up as the inner request, the answer comes back out of the envelope
as the upstream's bytes, and failures are decided on the raw answer as for any client."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from aigateway.adapters.codecs import gemini
from aigateway.adapters.upstream.cloud_code.envelope import session_id
from aigateway.adapters.upstream.cloud_code.executor import CloudCodeExecutor, CloudCodePrepared
from aigateway.application.errors import GatewayError
from aigateway.application.ports.upstream import Answer, ChatCall, ChatExchange, Refusal
from aigateway.domain.providers import Provider
from tests.doubles.routes import VIA
from tests.fakes.cloud_code import SKIP_SIGNATURE, UPGRADE_TEXT
from tests.unit.chat_world import ScriptedResponse
from tests.unit.cloud_code_chat_world import (
    FIRST,
    SECOND,
    TOKEN,
    Reports,
    Transport,
    account,
    answer_of,
    error,
    gemini_answer,
    provider,
    run,
    sse,
    stream_of,
    streamed,
    whole,
)
from tests.unit.test_cloud_code_executor import CountingSignatures

GEMINI = gemini.FORMAT
QUESTION = "What is in README?"
# as a Gemini SDK writes it: spaces after separators, fields the gateway's codec never reads
CLIENT_BODY = (
    b'{"contents": [{"role": "user", "parts": [{"text": "' + QUESTION.encode() + b'"}]},'
    b' {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"path": "a"},'
    b' "id": "read_file__1"}, "thoughtSignature": "' + SKIP_SIGNATURE.encode() + b'"}]},'
    b' {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "id": "read_file__1",'
    b' "response": {"output": "text"}}}]}],'
    b' "systemInstruction": {"parts": [{"text": "Be brief."}]},'
    b' "tools": [{"functionDeclarations": [{"name": "read_file", "description": "Read",'
    b' "parametersJsonSchema": {"type": "object", "properties": {"path": {"type": "string",'
    b' "minLength": 1}}, "required": ["path"]}}]}],'
    b' "generationConfig": {"temperature": 1, "topK": 64, "responseLogprobs": false},'
    b' "cachedContent": "cachedContents/abc"}\n'
)


THOUGHT = {"text": "hm", "thought": True}


def gemini_call(
    body: bytes | dict[str, Any] = CLIENT_BODY,
    model: str = "gemini-3-flash",
    *,
    stream: bool = False,
    where: Provider | None = None,
) -> ChatCall:
    return ChatCall(
        provider=where or provider(),
        model=model,
        requested_model=model,
        body=body if isinstance(body, bytes) else json.dumps(body).encode(),
        client_format=GEMINI,
        stream=stream,
    )


def inner_of(transport: Transport, index: int = 0) -> bytes:
    top = msgspec.json.decode(transport.requests[index].body, type=dict[str, msgspec.Raw])
    return bytes(top["request"])


def members(body: bytes) -> dict[str, bytes]:
    return {k: bytes(v) for k, v in msgspec.json.decode(body, type=dict[str, msgspec.Raw]).items()}


def events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in raw.decode().split("\n") if line.startswith("data: ")]


async def relayed(executor: CloudCodeExecutor, call: ChatCall) -> tuple[ChatExchange, bytes]:
    """The exchange of a streamed attempt, and all the client got."""
    exchange = await executor.open(executor.prepare(call), account(), TOKEN, VIA)
    opened = await exchange.open_stream()
    assert not isinstance(opened, Refusal)
    return exchange, b"".join([chunk async for chunk in opened])


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


# --- the request -------------------------------------------------------------------------------


async def test_the_clients_bytes_are_the_inner_request_with_a_session_id() -> None:
    transport = Transport(first=[whole([{"text": "hi"}])])
    where = provider(models={"fast": "gemini-3-flash"})
    call = msgspec.structs.replace(gemini_call(where=where), model="fast", requested_model="fast")
    await answer_of(run(transport), call)
    session = json.dumps(session_id(QUESTION)).encode()
    assert inner_of(transport) == CLIENT_BODY.rstrip()[:-1] + b',"sessionId":' + session + b"}"
    assert transport.bodies()[0]["model"] == "gemini-3-flash"
    assert transport.requests[0].url == f"{FIRST}/v1internal:generateContent"


async def test_what_the_backend_refuses_goes_and_every_other_member_stays_as_sent() -> None:
    body = {
        "contents": [user("hi")],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "generationConfig": {"maxOutputTokens": 1_000_000, "temperature": 0.5},
        "sessionId": "client-session",
    }
    raw = json.dumps(body).encode()
    transport = Transport(first=[whole([{"text": "hi"}])])
    await answer_of(run(transport), gemini_call(raw))
    sent, given = members(inner_of(transport)), members(raw)
    assert set(sent) == {"contents", "generationConfig", "sessionId"}
    assert sent["contents"] == given["contents"] and sent["sessionId"] == b'"client-session"'
    assert json.loads(sent["generationConfig"]) == {"maxOutputTokens": 65536, "temperature": 0.5}


async def test_fields_in_their_proto_spelling_are_read_and_edited_alike() -> None:
    body = {
        "contents": [user("hi")],
        "safety_settings": [],
        "generation_config": {"max_output_tokens": 1_000_000, "thinking_config": {}},
        "session_id": "mine",
    }
    transport = Transport(first=[streamed([{"text": "hi"}])])
    await answer_of(run(transport), gemini_call(body))
    assert transport.requests[0].url.endswith(":streamGenerateContent?alt=sse")  # thinking
    assert json.loads(inner_of(transport)) == {
        "contents": [user("hi")],
        "generation_config": {"max_output_tokens": 65536, "thinking_config": {}},
        "session_id": "mine",
    }


async def test_a_gemini_client_carries_its_own_signatures_and_the_store_is_never_asked() -> None:
    unsigned = {
        "contents": [
            user("hi"),
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}, "id": "c1"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]},
        ]
    }
    signatures = CountingSignatures()
    await signatures.remember({"c1": "remembered-signature"})
    transport = Transport(first=[whole([{"text": "hi"}])])
    await answer_of(run(transport, signatures), gemini_call(unsigned))
    assert (
        members(inner_of(transport))["contents"]
        == members(json.dumps(unsigned).encode())["contents"]
    )
    assert signatures.asked == []


async def test_a_malformed_body_is_a_400_before_any_attempt() -> None:
    transport = Transport(first=[whole([{"text": "hi"}])])
    with pytest.raises(GatewayError) as refused:
        run(transport).prepare(gemini_call({"contents": [{"role": "user", "parts": "hi"}]}))
    assert refused.value.status == 400
    assert "contents[0].parts" in refused.value.message
    assert transport.requests == []


# --- answers -----------------------------------------------------------------------------------


async def test_a_whole_answer_is_the_upstreams_bytes_out_of_the_envelope() -> None:
    answer = gemini_answer([{"text": "hi", "thoughtSignature": "sig"}])
    body = json.dumps({"response": answer, "traceId": "t1"}, indent=1).encode()
    transport = Transport(first=[ScriptedResponse(200, body, [body], {})])
    result = await answer_of(run(transport), gemini_call())
    assert isinstance(result, Answer) and result.status == 200
    assert result.body == json.dumps(answer, indent=1).replace("\n", "\n ").encode()
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (3, 4)


async def test_a_stream_is_relayed_event_by_event_and_ends_on_its_finish_reason() -> None:
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": "lo"}]},
                    "finishReason": "STOP",
                }
            ]
        },
        {"candidates": [], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}},
    ]
    transport = Transport(first=[sse(*chunks)])
    exchange, raw = await relayed(run(transport), gemini_call(stream=True))
    assert transport.requests[0].url == f"{FIRST}/v1internal:streamGenerateContent?alt=sse"
    assert raw.startswith(b"data: " + json.dumps(chunks[0]).encode() + b"\n\n")
    sent = events(raw)
    assert len(sent) == 2
    assert sent[-1]["candidates"][0]["finishReason"] == "STOP"
    assert sent[-1]["usageMetadata"] == chunks[2]["usageMetadata"]
    assert exchange.usage is not None and exchange.usage.prompt_tokens == 3
    assert exchange.stream_error is None


async def test_an_event_whose_data_spans_lines_reaches_the_client_on_one_line() -> None:
    answer = gemini_answer([{"text": "hi"}])
    pretty = json.dumps({"response": answer, "traceId": "t1"}, indent=2).encode()
    event = b"".join(b"data: " + line + b"\n" for line in pretty.split(b"\n")) + b"\n"
    response = ScriptedResponse(200, event, [event], {})
    _, raw = await relayed(run(Transport(first=[response])), gemini_call(stream=True))
    (line,) = [x for x in raw.split(b"\n") if x]
    assert line.startswith(b"data: ") and json.loads(line[6:]) == answer


async def test_a_stream_that_ends_without_a_finish_reason_ends_with_an_error_event() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}
    exchange, raw = await relayed(run(Transport(first=[sse(chunk)])), gemini_call(stream=True))
    sent = events(raw)
    assert sent[0] == chunk and sent[-1]["error"]["code"] == 500
    assert exchange.stream_error is not None


async def test_an_error_event_mid_stream_is_relayed_as_it_came_and_ends_the_stream() -> None:
    failure = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
        failure,
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}]},
    ]
    exchange, raw = await relayed(run(Transport(first=[sse(*chunks)])), gemini_call(stream=True))
    assert events(raw) == chunks[:2]
    assert exchange.stream_error is not None and "overloaded" in exchange.stream_error


async def test_a_thinking_request_for_a_whole_answer_is_streamed_upstream_and_assembled() -> None:
    body = {
        "contents": [user("hi")],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"}},
    }
    chunks: list[dict[str, Any]] = [
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "hm", "thought": True}]}}
            ]
        },
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "lo"},
                            {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "s"},
                        ],
                    },
                    "finishReason": "STOP",
                }
            ],
            "modelVersion": "gemini-3-flash",
        },
        {"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6}},
    ]
    transport = Transport(first=[sse(*chunks)])
    result = await answer_of(run(transport), gemini_call(body))
    assert transport.requests[0].url == f"{FIRST}/v1internal:streamGenerateContent?alt=sse"
    assert isinstance(result, Answer) and result.status == 200
    assert json.loads(result.body) == {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "hm", "thought": True},
                        {"text": "Hello"},
                        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "s"},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "modelVersion": "gemini-3-flash",
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6},
    }
    assert result.usage is not None and result.usage.completion_tokens == 6


# --- failures ----------------------------------------------------------------------------------


async def test_the_next_endpoint_is_tried_and_its_answer_is_the_attempts() -> None:
    transport = Transport(first=[error(503)], second=[whole([{"text": "hi"}])])
    result = await answer_of(run(transport), gemini_call())
    assert isinstance(result, Answer) and result.status == 200
    assert [r.url.split("/v1internal")[0] for r in transport.requests] == [FIRST, SECOND]
    first, second = transport.bodies()
    assert first["requestId"] == second["requestId"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("status", [400, 429])
async def test_an_error_status_is_a_refusal_with_googles_error_as_it_came(
    stream: bool, status: int
) -> None:
    body = {
        "error": {
            "code": status,
            "message": "You have exhausted your capacity on this model.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"}
            ],
        }
    }
    raw = json.dumps(body).encode()
    transport = Transport(first=[ScriptedResponse(status, raw, [raw], {})])
    call = gemini_call(stream=stream, where=provider(base_urls=[]))
    result = await (stream_of if stream else answer_of)(run(transport), call)
    assert isinstance(result, Refusal)
    assert (result.status, result.body, result.client_body) == (status, raw, raw)


async def test_an_error_that_is_not_googles_is_rendered_as_one() -> None:
    transport = Transport(first=[ScriptedResponse(400, b"<html>bad</html>", [], {})])
    result = await answer_of(run(transport), gemini_call())
    assert isinstance(result, Refusal) and result.client_body is not None
    assert json.loads(result.client_body)["error"]["code"] == 400


async def test_a_stream_that_begins_with_an_error_is_a_refusal() -> None:
    failure = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    transport = Transport(first=[sse(failure)])
    result = await stream_of(run(transport), gemini_call(stream=True))
    assert isinstance(result, Refusal) and result.status == 200
    assert "quota" in result.summary


@pytest.mark.parametrize("client_stream", [False, True])
async def test_an_empty_stream_is_asked_for_once_more(client_stream: bool) -> None:
    empty = {"candidates": [{"finishReason": "STOP"}]}
    thinking = {
        "contents": [user("hi")],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": -1}},
    }
    transport = Transport(first=[sse(empty), streamed([{"text": "hi"}])])
    call = gemini_call(thinking, stream=client_stream)
    result = await (stream_of if client_stream else answer_of)(run(transport), call)
    assert not isinstance(result, Refusal)
    assert len(transport.requests) == 2
    twice = Transport(first=[sse(empty)])
    refused = await (stream_of if client_stream else answer_of)(run(twice), call)
    assert isinstance(refused, Refusal) and refused.summary.startswith("empty stream")
    assert len(twice.requests) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_an_upgrade_notice_is_a_refusal(stream: bool) -> None:
    notice = [{"text": UPGRADE_TEXT}]
    transport = Transport(first=[streamed(notice) if stream else whole(notice)])
    result = await (stream_of if stream else answer_of)(run(transport), gemini_call(stream=stream))
    assert isinstance(result, Refusal)
    assert (result.status, result.body, result.client_body) == (200, UPGRADE_TEXT.encode(), None)


async def test_a_404_for_a_model_the_account_lists_is_marked_known() -> None:
    transport = Transport(first=[error(404, "NOT_FOUND")])
    executor = run(transport, reports=Reports(a1=["gemini-3-flash"]))
    result = await answer_of(executor, gemini_call(where=provider(base_urls=[])))
    assert isinstance(result, Refusal) and result.model_known


# --- Claude ------------------------------------------------------------------------------------


CLAUDE_BODY = {
    "contents": [
        user("List the files"),
        {
            "role": "model",
            "parts": [
                {"text": "unsigned thought", "thought": True},
                {"text": "mine", "thought": True, "thoughtSignature": "claude-own"},
                {"text": ""},
                {
                    "functionCall": {"name": "fs.list", "args": {}, "id": "toolu_1"},
                    "thoughtSignature": SKIP_SIGNATURE,
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "fs.list", "id": "toolu_1", "response": {"x": 1}}}
            ],
        },
    ],
    "tools": [
        {
            "functionDeclarations": [
                {"name": "fs.list", "parametersJsonSchema": {"type": "object", "properties": {}}},
                {
                    "name": "read",
                    "parametersJsonSchema": {
                        "type": "object",
                        "properties": {"path": {"type": "string", "minLength": 1}},
                        "required": ["path"],
                    },
                },
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["fs.list"]}},
    "safetySettings": [],
}


async def test_claude_gets_its_rules_as_edits_on_the_clients_json() -> None:
    prepared = run(Transport(first=[whole([])])).prepare(
        gemini_call(CLAUDE_BODY, "claude-sonnet-4-6")
    )
    assert isinstance(prepared, CloudCodePrepared) and prepared.upstream_stream
    sent = json.loads(prepared.body)
    declarations = sent["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == ["fs_list", "read"]
    assert all("parametersJsonSchema" not in d for d in declarations)
    assert declarations[0]["parameters"]["required"] == ["reason"]  # the placeholder
    path = declarations[1]["parameters"]["properties"]["path"]
    assert path["type"] == "string" and "minLength" in path["description"]
    assert sent["toolConfig"]["functionCallingConfig"] == {
        "mode": "VALIDATED",
        "allowedFunctionNames": ["fs_list"],
    }
    model_turn = sent["contents"][1]["parts"]
    assert model_turn == [
        {"text": "mine", "thought": True, "thoughtSignature": "claude-own"},
        {"functionCall": {"name": "fs_list", "args": {}, "id": "toolu_1"}},
    ]
    assert sent["contents"][2]["parts"][0]["functionResponse"]["name"] == "fs_list"
    assert sent["generationConfig"] == {"maxOutputTokens": 64000}
    assert "safetySettings" not in sent and sent["sessionId"] == session_id("List the files")


async def test_claude_edits_read_fields_in_their_proto_spelling() -> None:
    body = {
        "contents": [
            user("hi"),
            {
                "role": "model",
                "parts": [
                    {"function_call": {"name": "fs.list", "args": {}}, "thought_signature": "x"}
                ],
            },
        ],
        "tools": [
            {
                "function_declarations": [
                    {"name": "fs.list", "parameters_json_schema": {"type": "object"}}
                ]
            }
        ],
        "tool_config": {"function_calling_config": {"allowed_function_names": ["fs.list"]}},
        "generation_config": {"max_output_tokens": 100},
    }
    prepared = run(Transport(first=[whole([])])).prepare(gemini_call(body, "claude-sonnet-4-6"))
    sent = json.loads(prepared.body)
    (declaration,) = sent["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "fs_list" and "reason" in declaration["parameters"]["properties"]
    assert sent["toolConfig"]["functionCallingConfig"] == {
        "allowedFunctionNames": ["fs_list"],
        "mode": "VALIDATED",
    }
    assert sent["contents"][1]["parts"] == [{"functionCall": {"name": "fs_list", "args": {}}}]
    assert sent["generationConfig"] == {"maxOutputTokens": 100}


@pytest.mark.parametrize("stream", [False, True])
async def test_claudes_calls_come_back_with_the_clients_names_and_no_placeholders(
    stream: bool,
) -> None:
    call_part = {"functionCall": {"name": "fs_list", "args": {"reason": "look"}, "id": "toolu_2"}}
    transport = Transport(first=[streamed([{"text": "Let me look."}, call_part])])
    call = gemini_call(CLAUDE_BODY, "claude-sonnet-4-6", stream=stream)
    result = await (stream_of if stream else answer_of)(run(transport), call)
    assert not isinstance(result, Refusal)
    body = result if isinstance(result, bytes) else result.body
    parts = [
        p
        for chunk in (events(body) if stream else [json.loads(body)])
        for c in chunk.get("candidates") or ()
        for p in c["content"]["parts"]
    ]
    assert {"functionCall": {"name": "fs.list", "args": {}, "id": "toolu_2"}} in parts
    assert {"text": "Let me look."} in parts
