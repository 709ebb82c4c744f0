"""What a Responses client (Codex, the openai SDK) needs of a typed event stream, as one check."""

from __future__ import annotations

import itertools
import json
from typing import Any

from aigateway.adapters.codecs.sse import SSEParser

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def responses_events(data: bytes) -> list[dict[str, Any]]:
    """The events of a Responses SSE body; every frame is named by its `event:` line as its
    `type` says, and there is no `[DONE]`."""
    parser = SSEParser()
    events: list[dict[str, Any]] = []
    for frame in parser.feed(data) + parser.finish():
        assert not frame.is_done, "a Responses stream has no [DONE]"
        payload = json.loads(frame.data)
        assert frame.event == payload["type"], f"event {frame.event} carries {payload['type']}"
        events.append(payload)
    return events


def _item_text(item: dict[str, Any]) -> str:
    if item["type"] == "message":
        return "".join(part["text"] for part in item["content"])
    if item["type"] == "function_call":
        return str(item["arguments"])
    if item["type"] == "reasoning":
        return "".join(part["text"] for part in item["summary"])
    return ""


_DELTAS = {
    "response.output_text.delta": "message",
    "response.function_call_arguments.delta": "function_call",
    "response.reasoning_summary_text.delta": "reasoning",
}


def assert_valid_responses_stream(data: bytes) -> list[dict[str, Any]]:
    """`response.created`, `response.in_progress`, then per output item (numbered 0, 1, ...)
    `output_item.added`, its events, `output_item.done` with the whole item (whose text is its
    deltas), and one terminal event, last: `completed` / `incomplete` with the items in output
    order and usage, or `failed` with an error code. `sequence_number` strictly increases; one
    response id throughout; no refusal parts. Returns the events."""
    events = responses_events(data)
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    numbers = [e["sequence_number"] for e in events]
    assert all(b > a for a, b in itertools.pairwise(numbers)), numbers
    assert [e["type"] in TERMINAL for e in events].count(True) == 1
    assert events[-1]["type"] in TERMINAL, events[-1]["type"]
    rid = events[0]["response"]["id"]
    assert rid.startswith("resp_")
    assert all(e["response"]["id"] == rid for e in events if "response" in e)
    assert "refusal" not in json.dumps(events)
    added: dict[int, dict[str, Any]] = {}
    done: dict[int, dict[str, Any]] = {}
    deltas: dict[int, list[str]] = {}
    for event in events[2:-1]:
        kind = event["type"]
        if kind == "response.output_item.added":
            index = event["output_index"]
            assert index == len(added), f"item {index} added after {len(added)} items"
            added[index] = event["item"]
            deltas[index] = []
            continue
        index = event["output_index"]
        assert index in added and index not in done, f"{kind} outside its item"
        if "item_id" in event:
            assert event["item_id"] == added[index]["id"]
        if kind in _DELTAS:
            assert added[index]["type"] == _DELTAS[kind], kind
            deltas[index].append(event["delta"])
        elif kind == "response.output_item.done":
            item = event["item"]
            assert item["id"] == added[index]["id"] and item["type"] == added[index]["type"]
            assert _item_text(item) == "".join(deltas[index]), item
            if item["type"] == "function_call":
                assert item["call_id"] and item["name"] and item["status"] == "completed"
                assert added[index]["call_id"] == item["call_id"]
            done[index] = item
    final = events[-1]["response"]
    if events[-1]["type"] == "response.failed":
        assert final["status"] == "failed"
        assert final["error"]["code"] and final["error"]["message"]
        return events
    assert sorted(done) == sorted(added), "an item was added and never done"
    assert final["output"] == [done[i] for i in sorted(done)]
    assert final["status"] == events[-1]["type"].removeprefix("response.")
    usage = final["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    return events


def done_items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "response.output_item.done"]
