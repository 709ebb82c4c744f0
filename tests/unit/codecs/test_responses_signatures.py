"""The OpenAI Responses codec: thinking signed by another upstream (Anthropic, Gemini) comes
out as a reasoning item whose `encrypted_content` is the signature, and the client's replay of
that item goes back as the same signed thinking."""

from __future__ import annotations

import copy
import json
from typing import Any

from aigateway.adapters.codecs import anthropic_messages, gemini, openai_responses
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.entrypoints.ioc.providers import CODECS
from tests.unit.codecs.responses_checks import assert_valid_responses_stream, done_items
from tests.unit.codecs.wire import fixture, split

PRODUCTION = {codec.format: codec for codec in CODECS}
RESPONSES = PRODUCTION[openai_responses.FORMAT]
ANTHROPIC = PRODUCTION[anthropic_messages.FORMAT]
GEMINI = PRODUCTION[gemini.FORMAT]


def replay(question: str, items: list[dict[str, Any]], result: str) -> bytes:
    """Codex's next request: the answer's items without their ids, then the tool output."""
    history: list[dict[str, Any]] = [{"role": "user", "content": question}]
    for item in copy.deepcopy(items):
        item.pop("id", None)
        if item["type"] == "message":
            item.pop("status", None)
        history.append(item)
    calls = [item["call_id"] for item in items if item["type"] == "function_call"]
    history += [{"type": "function_call_output", "call_id": c, "output": result} for c in calls]
    document = {"model": "m", "input": history, "store": False, "stream": True}
    return json.dumps(document).encode()


def test_anthropic_signed_thinking_goes_back_to_anthropic_as_it_came() -> None:
    translator = StreamTranslator(ANTHROPIC.stream_decoder(), RESPONSES.stream_encoder())
    upstream_stream = fixture("anthropic_stream_thinking_tools.sse")
    data = (
        b"".join(translator.feed(c) for c in split(upstream_stream, [50, 900]))
        + translator.finish()
    )
    items = done_items(assert_valid_responses_stream(data))
    assert [item["type"] for item in items] == ["reasoning", "message", "function_call"]
    signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    assert items[0]["encrypted_content"] == signature
    request = RESPONSES.decode_request(replay("Weather in Paris?", items, "Sunny"))
    sent = json.loads(ANTHROPIC.encode_request(request))
    assistant = sent["messages"][1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "I need the weather for Paris.",
        "signature": signature,
    }
    assert assistant["content"][2]["id"] == items[2]["call_id"]
    assert sent["messages"][2]["content"][0]["tool_use_id"] == items[2]["call_id"]


def test_anthropic_redacted_thinking_goes_back_redacted() -> None:
    answer_body = {
        "id": "msg_r",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy-redacted"},
            {"type": "tool_use", "id": "toolu_r", "name": "f", "input": {}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    canonical = ANTHROPIC.decode_response(json.dumps(answer_body).encode())
    items = json.loads(RESPONSES.encode_response(canonical))["output"]
    assert items[0]["type"] == "reasoning" and items[0]["summary"] == []
    request = RESPONSES.decode_request(replay("q", items, "ok"))
    sent = json.loads(ANTHROPIC.encode_request(request))
    assert sent["messages"][1]["content"][0] == {
        "type": "redacted_thinking",
        "data": "EmwKAhgBEgy-redacted",
    }


def test_gemini_thought_signatures_go_back_on_their_calls() -> None:
    translator = StreamTranslator(GEMINI.stream_decoder(), RESPONSES.stream_encoder())
    data = translator.feed(fixture("gemini_stream_thinking_tools.sse")) + translator.finish()
    items = done_items(assert_valid_responses_stream(data))
    signatures = [item.get("encrypted_content") for item in items if item["type"] == "reasoning"]
    assert "c2lnLXRob3VnaHQ=" in signatures and "c2lnLWNhbGw=" in signatures
    request = RESPONSES.decode_request(replay("Paris and Rome?", items, "Sunny"))
    sent = json.loads(GEMINI.encode_request(request))
    model_parts = [p for c in sent["contents"] if c["role"] == "model" for p in c["parts"]]
    calls = [p for p in model_parts if "functionCall" in p]
    paris = next(p for p in calls if p["functionCall"]["args"] == {"city": "Paris"})
    assert paris["thoughtSignature"] == "c2lnLWNhbGw="
    thought = next(p for p in model_parts if p.get("thought"))
    assert thought["thoughtSignature"] == "c2lnLXRob3VnaHQ="
    assert thought["text"] == "Checking the forecast for both cities."
