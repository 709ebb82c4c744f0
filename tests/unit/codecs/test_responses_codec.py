"""The OpenAI Responses codec, requests: what Codex replays decodes to the conversation it
holds and crosses to every other format; the stateless rule; ill-typed fields are 400s naming
the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from aigateway.adapters.codecs import anthropic_messages, gemini, openai_chat, openai_responses
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.codecs.openai_responses import decode_head
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import (
    ChatRequest,
    Message,
    OpaquePart,
    TextPart,
    Thinking,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    WireFormat,
)
from aigateway.entrypoints.ioc.providers import CODECS
from tests.fakes.responses_wire import check_request
from tests.unit.codecs.wire import fixture

PRODUCTION = {codec.format: codec for codec in CODECS}
RESPONSES = PRODUCTION[openai_responses.FORMAT]
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch"
GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF'
EXEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"cmd": {"type": "string"}},
    "required": ["cmd"],
    "additionalProperties": False,
}
WEB_SEARCH_CALL = {
    "type": "web_search_call",
    "status": "completed",
    "action": {"type": "search", "query": "lark grammar"},
}

# What Codex sends on its third turn: item ids are never serialized, reasoning comes back with
# its summary and encrypted_content, assistant messages without id or status.
CODEX_REPLAY: dict[str, Any] = {
    "model": "gpt-5-codex",
    "instructions": "You are Codex, a coding agent.",
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": [
                {"type": "input_text", "text": "<permissions>workspace-write</permissions>"}
            ],
        },
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Add hello.txt"}],
        },
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**Planning** the file"}],
            "encrypted_content": "gAAAAB-encrypted-1",
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Looking around."}],
        },
        {
            "type": "function_call",
            "name": "exec_command",
            "arguments": '{"cmd":"ls"}',
            "call_id": "call_ls",
        },
        {"type": "function_call_output", "call_id": "call_ls", "output": "README.md"},
        WEB_SEARCH_CALL,
        {
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": "call_patch",
            "name": "apply_patch",
            "input": PATCH,
        },
        {
            "type": "custom_tool_call_output",
            "call_id": "call_patch",
            "output": "Success. Updated hello.txt",
        },
    ],
    "tools": [
        {
            "type": "function",
            "name": "exec_command",
            "description": "Runs a command",
            "strict": False,
            "parameters": EXEC_SCHEMA,
        },
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Edits files with a patch",
            "format": {"type": "grammar", "syntax": "lark", "definition": GRAMMAR},
        },
        {"type": "web_search", "external_web_access": False},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "thread-0001",
    "client_metadata": {"x-codex-installation-id": "install-1", "x-codex-window-id": "w-1"},
}


def body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def decoded() -> ChatRequest:
    return RESPONSES.decode_request(body(CODEX_REPLAY))


def refusal(decode: Any, document: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        decode(body(document))
    assert caught.value.status == 400
    return caught.value


# --- a Codex replay ---------------------------------------------------------------------------


def test_a_codex_replay_decodes_to_the_conversation_it_holds() -> None:
    request = decoded()
    assert request.model == "gpt-5-codex" and request.stream
    assert [p.text for p in request.system] == [
        "You are Codex, a coding agent.",
        "<permissions>workspace-write</permissions>",
    ]
    assert request.messages == (
        Message("user", (TextPart("Add hello.txt"),)),
        Message(
            "assistant",
            (
                ThinkingPart(text="**Planning** the file", signature="gAAAAB-encrypted-1"),
                TextPart("Looking around."),
                ToolCallPart(id="call_ls", name="exec_command", arguments={"cmd": "ls"}),
            ),
        ),
        Message(
            "user", (ToolResultPart(tool_call_id="call_ls", content=(TextPart("README.md"),)),)
        ),
        Message(
            "assistant",
            (ToolCallPart(id="call_patch", name="apply_patch", arguments={"input": PATCH}),),
        ),
        Message(
            "user",
            (
                ToolResultPart(
                    tool_call_id="call_patch", content=(TextPart("Success. Updated hello.txt"),)
                ),
            ),
        ),
    )
    exec_tool, patch_tool, web_search = request.tools
    assert exec_tool == Tool(
        name="exec_command", description="Runs a command", parameters=EXEC_SCHEMA, strict=False
    )
    assert isinstance(patch_tool, Tool) and patch_tool.name == "apply_patch"
    assert patch_tool.parameters is not None
    assert patch_tool.parameters["required"] == ["input"]
    argument = patch_tool.parameters["properties"]["input"]
    assert argument["type"] == "string" and GRAMMAR in argument["description"]
    assert isinstance(web_search, OpaquePart) and web_search.droppable
    assert request.tool_choice == ToolChoice("auto")
    assert request.parallel_tool_calls is False
    assert request.thinking == Thinking(effort="medium")
    extras = request.extras[openai_responses.FORMAT]
    assert extras["include"] == ["reasoning.encrypted_content"]
    assert extras["prompt_cache_key"] == "thread-0001"
    assert extras["client_metadata"] == CODEX_REPLAY["client_metadata"]


def test_a_codex_replay_crosses_to_openai_chat() -> None:
    sent = json.loads(PRODUCTION[openai_chat.FORMAT].encode_request(decoded()))
    assert [m["role"] for m in sent["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "tool",
    ]  # fmt: skip
    calls = [c for m in sent["messages"] for c in m.get("tool_calls") or ()]
    assert [(c["id"], c["function"]["name"]) for c in calls] == [
        ("call_ls", "exec_command"),
        ("call_patch", "apply_patch"),
    ]
    assert json.loads(calls[1]["function"]["arguments"]) == {"input": PATCH}
    assert sent["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_patch",
        "content": "Success. Updated hello.txt",
    }
    assert [t["function"]["name"] for t in sent["tools"]] == ["exec_command", "apply_patch"]
    assert "web_search" not in json.dumps(sent)
    assert sent["stream"] is True and sent["parallel_tool_calls"] is False


def test_a_codex_replay_crosses_to_anthropic_with_its_signed_thinking() -> None:
    sent = json.loads(PRODUCTION[anthropic_messages.FORMAT].encode_request(decoded()))
    assert [m["role"] for m in sent["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert sent["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "**Planning** the file",
        "signature": "gAAAAB-encrypted-1",
    }
    blocks = [b for m in sent["messages"] if isinstance(m["content"], list) for b in m["content"]]
    uses = [b for b in blocks if b["type"] == "tool_use"]
    assert [(u["id"], u["name"], u["input"]) for u in uses] == [
        ("call_ls", "exec_command", {"cmd": "ls"}),
        ("call_patch", "apply_patch", {"input": PATCH}),
    ]
    results = [b for b in blocks if b["type"] == "tool_result"]
    assert [r["tool_use_id"] for r in results] == ["call_ls", "call_patch"]
    assert [t["name"] for t in sent["tools"]] == ["exec_command", "apply_patch"]
    assert "web_search" not in json.dumps(sent)


def test_a_codex_replay_crosses_to_gemini() -> None:
    sent = json.loads(PRODUCTION[gemini.FORMAT].encode_request(decoded()))
    parts = [p for c in sent["contents"] for p in c["parts"]]
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    assert [(c["name"], c["args"]) for c in calls] == [
        ("exec_command", {"cmd": "ls"}),
        ("apply_patch", {"input": PATCH}),
    ]
    answers = [p["functionResponse"] for p in parts if "functionResponse" in p]
    assert [a["name"] for a in answers] == ["exec_command", "apply_patch"]
    declared = [d["name"] for t in sent["tools"] for d in t.get("functionDeclarations", ())]
    assert declared == ["exec_command", "apply_patch"]
    assert "web_search" not in json.dumps(sent)


def test_a_codex_replay_for_a_responses_upstream_keeps_hosted_items_in_place() -> None:
    sent = json.loads(RESPONSES.encode_request(decoded()))
    kinds = [item["type"] for item in sent["input"]]
    assert kinds == [
        "message", "message", "function_call", "function_call_output", "web_search_call",
        "function_call", "function_call_output",
    ]  # fmt: skip
    assert sent["input"][4] == WEB_SEARCH_CALL
    assert sent["tools"][-1] == {"type": "web_search", "external_web_access": False}
    assert sent["store"] is False and "previous_response_id" not in sent
    # thinking of earlier turns stays out: its signature may be another provider's
    assert "reasoning" not in kinds and "gAAAAB-encrypted-1" not in json.dumps(sent)
    assert sent["prompt_cache_key"] == "thread-0001"


def test_a_hosted_item_between_two_user_messages_does_not_split_the_turn() -> None:
    document = {
        "model": "m",
        "input": [
            {"role": "user", "content": "first"},
            WEB_SEARCH_CALL,
            {"role": "user", "content": "second"},
        ],
    }
    request = RESPONSES.decode_request(body(document))
    assert [m.role for m in request.messages] == ["user"]
    sent = json.loads(PRODUCTION[anthropic_messages.FORMAT].encode_request(request))
    assert [m["role"] for m in sent["messages"]] == ["user"]
    again = json.loads(RESPONSES.encode_request(request))
    assert [i["type"] for i in again["input"]] == ["message", "web_search_call", "message"]


# --- the stateless rule -----------------------------------------------------------------------

STATEFUL = [
    ("previous_response_id", "resp_0001", "previous_response_id"),
    ("conversation", {"id": "conv_1"}, "conversation"),
    ("store", True, "store"),
    ("background", True, "background"),
]


@pytest.mark.parametrize(("field", "value", "param"), STATEFUL, ids=[s[0] for s in STATEFUL])
@pytest.mark.parametrize("decode", [RESPONSES.decode_request, decode_head], ids=["codec", "head"])
def test_state_on_the_server_is_refused_naming_the_field(
    decode: Any, field: str, value: Any, param: str
) -> None:
    error = refusal(decode, {**CODEX_REPLAY, field: value})
    assert error.param == param
    assert field in error.message and "this gateway keeps no" in error.message


def test_a_stored_item_reference_is_refused() -> None:
    document = {"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}
    error = refusal(RESPONSES.decode_request, document)
    assert error.param == "input[0]" and "item_reference" in error.message


@pytest.mark.parametrize("store", [False, None])
def test_store_false_or_absent_is_stateless_enough(store: bool | None) -> None:
    document = {**CODEX_REPLAY, "store": store}
    assert decode_head(body(document)) == ("gpt-5-codex", True)
    assert RESPONSES.decode_request(body(document)).messages == decoded().messages


# --- ill-typed fields -------------------------------------------------------------------------


def _with(path: str, value: Any) -> dict[str, Any]:
    """The Codex replay with `value` at `path` (`input.1.content.0.text`)."""
    document = copy.deepcopy(CODEX_REPLAY)
    *parents, last = path.split(".")
    target: Any = document
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[int(last) if isinstance(target, list) else last] = value
    return document


ILL_TYPED = [
    ("model", 7, "model"),
    ("input", 7, "input"),
    ("input", [], "input"),
    ("instructions", ["x"], "instructions"),
    ("stream", "yes", "stream"),
    ("parallel_tool_calls", "no", "parallel_tool_calls"),
    ("max_output_tokens", "many", "max_output_tokens"),
    ("max_output_tokens", 1.5, "max_output_tokens"),
    ("temperature", "hot", "temperature"),
    ("top_p", True, "top_p"),
    ("user", 5, "user"),
    ("safety_identifier", ["u"], "safety_identifier"),
    ("reasoning", "high", "reasoning"),
    ("reasoning", {"effort": 3}, "reasoning.effort"),
    ("text", "json", "text"),
    ("tool_choice", "sometimes", "tool_choice"),
    ("tool_choice", {"type": "function"}, "tool_choice.name"),
    ("tools", {"type": "function"}, "tools"),
    ("tools.0", "exec_command", "tools[0]"),
    ("tools.0.name", None, "tools[0].name"),
    ("tools.0.parameters", "object", "tools[0].parameters"),
    ("tools.0.strict", "yes", "tools[0].strict"),
    ("tools.0.description", 5, "tools[0].description"),
    ("tools.1.name", 5, "tools[1].name"),
    ("tools.2.type", 5, "tools[2].type"),
    ("input.1", "hello", "input[1]"),
    ("input.1.role", "tool", "input[1].role"),
    ("input.1.content", 5, "input[1].content"),
    ("input.1.content.0.text", None, "input[1].content[0].text"),
    ("input.1.content.0", {"type": "input_image", "image_url": 5}, "input[1].content[0].image_url"),
    ("input.1.content.0", {"type": "input_image"}, "input[1].content[0].image_url"),
    ("input.0.content.0", {"type": "input_image", "image_url": "https://x"}, "input[0].content[0]"),
    ("input.2.summary", "thinking", "input[2].summary"),
    ("input.2.summary.0.text", 1, "input[2].summary[0].text"),
    ("input.2.encrypted_content", 1, "input[2].encrypted_content"),
    ("input.4.call_id", 1, "input[4].call_id"),
    ("input.4.name", None, "input[4].name"),
    ("input.4.arguments", {"cmd": "ls"}, "input[4].arguments"),
    ("input.5.output", 5, "input[5].output"),
    ("input.7.input", {"patch": PATCH}, "input[7].input"),
    ("input.8.call_id", None, "input[8].call_id"),
    ("input.6.type", 6, "input[6].type"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "param"), ILL_TYPED, ids=[c[2] for c in ILL_TYPED])
def test_an_ill_typed_field_is_a_400_naming_it(path: str, value: Any, param: str) -> None:
    error = refusal(RESPONSES.decode_request, _with(path, value))
    assert error.param == param, error.message
    assert param in error.message


@pytest.mark.parametrize(
    ("path", "value"),
    [("model", 7), ("input", 7), ("input", ""), ("model", " "), ("stream", "yes"), ("store", "no")],
)
def test_the_routing_head_refuses_what_it_reads(path: str, value: Any) -> None:
    error = refusal(decode_head, _with(path, value))
    assert error.param == path


def test_an_unknown_field_goes_to_a_responses_upstream_only() -> None:
    request = RESPONSES.decode_request(body({**CODEX_REPLAY, "service_tier": "flex"}))
    assert json.loads(RESPONSES.encode_request(request))["service_tier"] == "flex"
    for codec in (openai_chat.FORMAT, anthropic_messages.FORMAT, gemini.FORMAT):
        assert "flex" not in PRODUCTION[codec].encode_request(request).decode()


# --- other clients' requests for a Responses upstream -----------------------------------------

QUOTA_PROBE = {  # what Claude Code sends to check its quota
    "model": "claude-haiku-4-5",
    "max_tokens": 1,
    "messages": [{"role": "user", "content": "quota"}],
}


def _client_request(fmt: str, raw: bytes) -> ChatRequest:
    if fmt == gemini.FORMAT:
        return GeminiCodec().decode_request(raw, model="gemini-3-flash")
    return PRODUCTION[WireFormat(fmt)].decode_request(raw)


@pytest.mark.parametrize(
    ("fmt", "raw"),
    [
        (openai_chat.FORMAT, fixture("openai_request_tools_images.json")),
        (anthropic_messages.FORMAT, fixture("anthropic_request_thinking_cache.json")),
        (gemini.FORMAT, fixture("gemini_request_tools_images_thinking.json")),
        (anthropic_messages.FORMAT, body(QUOTA_PROBE)),
    ],
    ids=["chat", "anthropic", "gemini", "quota-probe"],
)
def test_other_clients_requests_are_what_a_responses_upstream_accepts(fmt: str, raw: bytes) -> None:
    sent = json.loads(RESPONSES.encode_request(_client_request(fmt, raw)))
    check_request(sent, issued=())  # the fake upstream's rules, as strict as the service's
    assert sent["store"] is False


def test_an_output_limit_below_the_services_minimum_is_raised_to_it() -> None:
    sent = json.loads(
        RESPONSES.encode_request(_client_request(anthropic_messages.FORMAT, body(QUOTA_PROBE)))
    )
    assert sent["max_output_tokens"] == 16
