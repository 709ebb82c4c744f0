"""Helpers of the Responses end-to-end tests: one gateway with every upstream kind, the
requests a Codex-like client makes, and the request log."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import openai
from openai.types.responses import FunctionToolParam, Response, ResponseFunctionToolCall

from tests.e2e.harness import Gateway
from tests.fakes.openai_upstream import content_text

QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "Sunny, 21 C"
SAID = f"The tool said: {TOOL_RESULT}"
TIMEOUT_S = 30.0
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name"}},
    "required": ["city"],
    "additionalProperties": False,
}
FUNCTION_TOOL: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather of a city",
    "parameters": WEATHER_SCHEMA,
    "strict": True,
}


def codex_item(item: Any) -> dict[str, Any]:
    """An output item as Codex replays it: no `id`, assistant messages without `status`."""
    replayed: dict[str, Any] = item.model_dump(exclude_none=True)
    replayed.pop("id", None)
    if replayed["type"] in ("message", "function_call"):
        replayed.pop("status", None)
    return replayed


def ask(
    client: openai.OpenAI, model: str, items: list[Any], *, stream: bool, **extra: Any
) -> tuple[Response, str]:
    """One Responses call as Codex makes it (`store: false`, the whole history): the final
    response and the gateway's request id. A stream's `output_item.done` items must be the
    final response's output (Codex builds its history from them)."""
    arguments: dict[str, Any] = {
        "model": model,
        "input": items,
        "tools": [FUNCTION_TOOL],
        "store": False,
        **extra,
    }
    if not stream:
        raw = client.responses.with_raw_response.create(**arguments)
        return raw.parse(), raw.headers["x-request-id"]
    raw_stream = client.responses.with_raw_response.create(**arguments, stream=True)
    done: list[Any] = []
    final: Response | None = None
    numbers: list[int] = []
    for event in raw_stream.parse():
        numbers.append(event.sequence_number)
        if event.type == "response.output_item.done":
            done.append(event.item)
        elif event.type == "response.completed":
            final = event.response
    assert final is not None, "the stream ended without response.completed"
    assert numbers == sorted(set(numbers)), numbers
    assert [codex_item(i) for i in done] == [codex_item(i) for i in final.output]
    return final, raw_stream.headers["x-request-id"]


def the_call(response: Response) -> ResponseFunctionToolCall:
    (call,) = [item for item in response.output if item.type == "function_call"]
    return call


def replay(first: Response, call: ResponseFunctionToolCall) -> list[Any]:
    """The second turn: the question, the first answer's items, the tool's output."""
    return [
        {"role": "user", "content": QUESTION},
        *(codex_item(item) for item in first.output),
        {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT},
    ]


def log_row(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The request-log row of one request, once written."""
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(Path(gateway.workdir) / "data" / "aigateway.db") as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT provider_id, account_id, status_code, prompt_tokens, completion_tokens,"
                " retry_count FROM request_logs WHERE request_id = ?",
                (request_id,),
            ).fetchone()
        if row is not None:
            return dict(row)
        assert time.monotonic() < deadline, f"no request-log row for {request_id}"
        time.sleep(0.1)


def codex_history(question: str) -> dict[str, Any]:
    """A Codex turn after a shell command, a web search and a patch: developer instructions,
    item ids left out, a custom `apply_patch` tool and a hosted `web_search` tool."""
    patch = "*** Begin Patch\n*** Add File: notes.txt\n+weather\n*** End Patch"
    return {
        "instructions": "You are Codex, a coding agent.",
        "input": [
            {"role": "developer", "content": [{"type": "input_text", "text": "Sandbox: on."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Take notes."}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Looking."}]},
            {"type": "function_call", "name": "exec_command", "arguments": '{"cmd":"ls"}',
             "call_id": "call_codex_ls"},
            {"type": "function_call_output", "call_id": "call_codex_ls", "output": "README.md"},
            {"type": "web_search_call", "status": "completed",
             "action": {"type": "search", "query": "weather"}},
            {"type": "custom_tool_call", "status": "completed", "call_id": "call_codex_patch",
             "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": "call_codex_patch", "output": "Done"},
            {"role": "user", "content": [{"type": "input_text", "text": question}]},
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Runs a command",
             "strict": False, "parameters": {"type": "object",
             "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "custom", "name": "apply_patch", "description": "Edits files",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
            {"type": "web_search", "external_web_access": False},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "store": False,
        "stream": True,
        "prompt_cache_key": "thread-e2e-1",
        "client_metadata": {"x-codex-installation-id": "install-e2e"},
    }  # fmt: skip


def calls(fakes: dict[str, Any], upstream: str) -> list[Any]:
    if upstream.startswith("cloud"):
        return list(fakes["cloud"].generation_calls())
    return list(fakes[upstream].calls)


def result_sent(upstream: str, call: Any) -> tuple[str, str]:
    """(call id, text) of the tool result the upstream received last, in its own format."""
    if upstream == "openai":
        message = call.body["messages"][-1]
        assert message["role"] == "tool"
        return message["tool_call_id"], content_text(message["content"])
    if upstream == "anthropic":
        (block,) = [b for b in call.body["messages"][-1]["content"] if b["type"] == "tool_result"]
        return block["tool_use_id"], content_text(block["content"])
    if upstream == "responses":
        item = call.body["input"][-1]
        assert item["type"] == "function_call_output"
        return item["call_id"], item["output"]
    (part,) = [p for p in call.request["contents"][-1]["parts"] if "functionResponse" in p]
    answer = part["functionResponse"]
    return answer["id"], json.dumps(answer["response"])
