"""The OpenAI Responses wire format as the fake Responses upstream speaks it: what a request
body must look like (checked as strictly as the real service does for what tests rely on),
the response object, and the typed SSE events the real service streams for it.

`check_request` raises `BadRequest` (a 400 in OpenAI's error format) for:
- a body that is not an object, no `model`, an empty `input`, unknown top-level fields;
- server-side state: `previous_response_id`, `conversation`, `store` other than false,
  `background: true`, an `item_reference`;
- a malformed item (a message role or content part of another API, such as Chat's `text` or
  `image_url` parts, a `function_call` without `call_id` / `name` / string `arguments`), a tool
  output that answers no preceding call, a call left unanswered by a later item, a `reasoning`
  item without `encrypted_content` or with one this service never issued;
- a malformed tool (Chat's nested `function` shape, a function without `name`), `tool_choice`,
  `reasoning.effort`, `include` or `max_output_tokens` below 16.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from tests.fakes.openai_upstream import split_json, split_text

KNOWN_FIELDS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
        "max_output_tokens", "max_tool_calls", "temperature", "top_p", "top_logprobs",
        "reasoning", "text", "stream", "stream_options", "store", "include", "metadata",
        "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "user",
        "service_tier", "truncation", "client_metadata", "background", "conversation",
        "previous_response_id", "prompt", "context_management",
    }
)  # fmt: skip
HOSTED_ITEMS = frozenset(
    {
        "web_search_call", "file_search_call", "computer_call", "computer_call_output",
        "image_generation_call", "code_interpreter_call", "local_shell_call",
        "local_shell_call_output", "compaction", "mcp_call", "mcp_list_tools",
    }
)  # fmt: skip
HOSTED_TOOLS = frozenset(
    {
        "web_search", "web_search_preview", "file_search", "computer_use_preview",
        "code_interpreter", "image_generation", "local_shell", "mcp", "tool_search",
    }
)  # fmt: skip
EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh"})
INPUT_PARTS = frozenset({"input_text", "input_image", "input_file"})
OUTPUT_PARTS = frozenset({"output_text", "refusal"})


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"Invalid type for '{where}': expected a string.", where)
    return value


def _parts(content: Any, allowed: frozenset[str], where: str) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise BadRequest(f"Invalid type for '{where}': expected a string or an array.", where)
    for k, part in enumerate(content):
        at = f"{where}[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise BadRequest(
                f"Invalid value: '{kind}'. Supported values are: {sorted(allowed)}.", at
            )
        if kind in ("input_text", "output_text"):
            _string(part.get("text"), f"{at}.text")
        elif kind == "refusal":
            _string(part.get("refusal"), f"{at}.refusal")
        elif kind == "input_image" and not isinstance(part.get("image_url"), str):
            _string(part.get("file_id"), f"{at}.image_url")


def _message(item: dict[str, Any], where: str) -> None:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise BadRequest(f"Invalid value: '{role}'.", f"{where}.role")
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    _parts(item.get("content"), allowed, f"{where}.content")


def _reasoning(item: dict[str, Any], where: str, issued: Collection[str]) -> None:
    summary = item.get("summary")
    if not isinstance(summary, list):
        raise BadRequest(f"Missing required parameter: '{where}.summary'.", f"{where}.summary")
    for k, entry in enumerate(summary):
        if not isinstance(entry, dict) or entry.get("type") != "summary_text":
            raise BadRequest("Invalid summary part.", f"{where}.summary[{k}]")
        _string(entry.get("text"), f"{where}.summary[{k}].text")
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str):
        # without storage, nothing else can give the reasoning back
        raise BadRequest(f"Item '{where}' has no encrypted_content and store is false.", where)
    if encrypted not in issued:
        raise BadRequest(f"The encrypted content for item {where} could not be verified.", where)


def check_input(items: list[Any], issued: Collection[str]) -> None:
    pending: dict[str, str] = {}  # call id -> the kind of its output
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"Invalid type for '{where}': expected an object.", where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            _message(item, where)
        elif kind in ("function_call", "custom_tool_call"):
            call_id = _string(item.get("call_id"), f"{where}.call_id")
            _string(item.get("name"), f"{where}.name")
            if kind == "function_call":
                _string(item.get("arguments"), f"{where}.arguments")
            else:
                _string(item.get("input"), f"{where}.input")
            pending[call_id] = f"{kind}_output"
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = _string(item.get("call_id"), f"{where}.call_id")
            if pending.get(call_id) != kind:
                raise BadRequest(f"No tool call found for {kind} with call_id {call_id}.", where)
            del pending[call_id]
            _parts(item.get("output"), INPUT_PARTS, f"{where}.output")
        elif kind == "reasoning":
            _reasoning(item, where, issued)
        elif kind == "item_reference":
            raise BadRequest(f"Item with id '{item.get('id')}' not found.", where)
        elif kind not in HOSTED_ITEMS:
            raise BadRequest(f"Invalid value: '{kind}'.", f"{where}.type")
        if pending and kind == "message":
            raise BadRequest(f"No tool output found for function call {next(iter(pending))}.")
    if pending:
        raise BadRequest(f"No tool output found for function call {next(iter(pending))}.")


def _tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise BadRequest("Invalid type for 'tools': expected an array.", "tools")
    for k, tool in enumerate(tools):
        where = f"tools[{k}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in ("function", "custom"):
            assert isinstance(tool, dict)
            if "function" in tool:
                raise BadRequest(f"Unknown parameter: '{where}.function'.", f"{where}.function")
            _string(tool.get("name"), f"{where}.name")
            parameters = tool.get("parameters")
            if kind == "function" and not isinstance(parameters, dict | None):
                raise BadRequest(f"Invalid type for '{where}.parameters'.", f"{where}.parameters")
        elif kind not in HOSTED_TOOLS:
            raise BadRequest(f"Invalid value: '{kind}'.", f"{where}.type")


def check_request(body: Any, issued: Collection[str]) -> None:
    """Refuse what the real Responses endpoint refuses, for a stateless caller (see above)."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    for name in body:
        if name not in KNOWN_FIELDS:
            raise BadRequest(f"Unknown parameter: '{name}'.", name)
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("Missing required parameter: 'model'.", "model")
    for name in ("previous_response_id", "conversation"):
        if name in body:
            raise BadRequest(f"{name} names stored state; this service keeps none.", name)
    if body.get("store", False) is not False:
        raise BadRequest("store must be false: this service keeps no responses.", "store")
    if body.get("background") is True:
        raise BadRequest("background responses need store.", "background")
    if not isinstance(body.get("stream", False), bool):
        raise BadRequest("Invalid type for 'stream': expected a boolean.", "stream")
    items = body.get("input")
    if isinstance(items, str) and items:
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise BadRequest("Missing required parameter: 'input'.", "input")
    check_input(items, issued)
    if "instructions" in body and body["instructions"] is not None:
        _string(body["instructions"], "instructions")
    if "tools" in body:
        _tools(body["tools"])
    choice = body.get("tool_choice")
    named = isinstance(choice, dict) and isinstance(choice.get("type"), str)
    if choice not in (None, "auto", "none", "required") and not named:
        raise BadRequest("Invalid value for 'tool_choice'.", "tool_choice")
    reasoning = body.get("reasoning")
    if reasoning is not None and (
        not isinstance(reasoning, dict) or reasoning.get("effort", "medium") not in EFFORTS
    ):
        raise BadRequest("Invalid value for 'reasoning.effort'.", "reasoning.effort")
    include = body.get("include", [])
    if not isinstance(include, list) or not all(isinstance(name, str) for name in include):
        raise BadRequest("Invalid type for 'include': expected an array of strings.", "include")
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 16):
        raise BadRequest(
            "Invalid 'max_output_tokens': integer below minimum value 16.", "max_output_tokens"
        )


# --- answers ----------------------------------------------------------------------------------


def response_object(
    rid: str,
    model: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    *,
    status: str = "completed",
    created: int = 0,
    incomplete: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }


def usage_object(input_tokens: int, output_tokens: int, reasoning: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def _message_events(index: int, item: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    events: list[dict[str, Any]] = []
    for k, part in enumerate(item["content"]):
        at = {**where, "content_index": k}
        empty = {**part, "text": ""}
        events.append({"type": "response.content_part.added", **at, "part": empty})
        for piece in split_text(part["text"], pieces):
            delta = {"delta": piece, "logprobs": []}
            events.append({"type": "response.output_text.delta", **at, **delta})
        events.append(
            {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
        )
        events.append({"type": "response.content_part.done", **at, "part": part})
    return events


def _reasoning_events(index: int, item: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    events: list[dict[str, Any]] = []
    for k, part in enumerate(item["summary"]):
        at = {**where, "summary_index": k}
        empty = {"type": "summary_text", "text": ""}
        events.append({"type": "response.reasoning_summary_part.added", **at, "part": empty})
        for piece in split_text(part["text"], pieces):
            events.append({"type": "response.reasoning_summary_text.delta", **at, "delta": piece})
        events.append({"type": "response.reasoning_summary_text.done", **at, "text": part["text"]})
        events.append({"type": "response.reasoning_summary_part.done", **at, "part": part})
    return events


def item_events(index: int, item: dict[str, Any], pieces: int = 3) -> list[dict[str, Any]]:
    """`output_item.added`, the item's own events, `output_item.done` (the whole item)."""
    kind = item["type"]
    where = {"item_id": item["id"], "output_index": index}
    added = {**item, "status": "in_progress"} if "status" in item else dict(item)
    inner: list[dict[str, Any]] = []
    if kind == "message":
        added["content"] = []
        inner = _message_events(index, item, pieces)
    elif kind == "reasoning":
        added = {"id": item["id"], "type": "reasoning", "summary": []}
        inner = _reasoning_events(index, item, pieces)
    elif kind == "function_call":
        added["arguments"] = ""
        for piece in split_json(item["arguments"]) if item["arguments"] else []:
            inner.append(
                {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            )
        done = {"name": item["name"], "arguments": item["arguments"]}
        inner.append({"type": "response.function_call_arguments.done", **where, **done})
    elif kind == "custom_tool_call":
        added["input"] = ""
        for piece in split_json(item["input"]) if item["input"] else []:
            inner.append({"type": "response.custom_tool_call_input.delta", **where, "delta": piece})
        inner.append(
            {"type": "response.custom_tool_call_input.done", **where, "input": item["input"]}
        )
    return [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        *inner,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def stream_events(response: dict[str, Any], pieces: int = 3) -> list[dict[str, Any]]:
    """What the real service streams for a finished `response`: `response.created` and
    `response.in_progress` (no output yet), every item's events, the terminal event."""
    started = {**response, "status": "in_progress", "output": [], "usage": None, "error": None}
    started["incomplete_details"] = None
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(response["output"]):
        events += item_events(index, item, pieces)
    events.append({"type": f"response.{response['status']}", "response": response})
    return events


def sse(events: list[dict[str, Any]], first: int = 0) -> bytes:
    """Typed SSE frames, `sequence_number` counted from `first`; no `[DONE]`."""
    out = b""
    for number, event in enumerate(events, start=first):
        payload = {"type": event["type"], "sequence_number": number, **event}
        out += f"event: {event['type']}\ndata: {json.dumps(payload)}\n\n".encode()
    return out
