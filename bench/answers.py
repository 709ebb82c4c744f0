"""The fake upstream's answers in the OpenAI and Anthropic formats, and the HTTP framing of
every answer (whole bodies and chunked streams), built once at start.

Every content piece carries its index (`chunk-<i> `) so a client can check order and loss; a
turn with a tool call ends with one `Edit` call (its arguments streamed in pieces).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MODEL = "gpt-4o-mini"
PROMPT_TOKENS = 12
TOOL_ID = "toolu_bench_answer"
TOOL_NAME = "Edit"
TOOL_ARGS = {
    "file_path": "/home/dev/projects/café-service/src/bucket.py",
    "old_string": "    tokens = self.bucket.get('tokens', 0)",
    "new_string": "    tokens = self.bucket.get('tokens', 0) or self.refill_rate",
}
TOOL_ARGS_JSON = json.dumps(TOOL_ARGS, ensure_ascii=False)
THOUGHT_SIGNATURE = "CpQBbench" + "Zm9yIHRoZSBiZW5jaCBvbmx5" * 12  # opaque to the gateway


def argument_pieces(parts: int = 3) -> list[str]:
    step = -(-len(TOOL_ARGS_JSON) // parts)
    return [TOOL_ARGS_JSON[i : i + step] for i in range(0, len(TOOL_ARGS_JSON), step)]


def piece(index: int) -> str:
    return f"chunk-{index} "


def dump_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def http_response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
LAST_CHUNK = b"0\r\n\r\n"


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def openai_completion(chunks: int, tool: bool = False) -> bytes:
    text = "".join(piece(i) for i in range(chunks))
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool:
        function = {"name": TOOL_NAME, "arguments": TOOL_ARGS_JSON}
        message["tool_calls"] = [{"id": TOOL_ID, "type": "function", "function": function}]
    return dump_json(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": chunks,
                "total_tokens": PROMPT_TOKENS + chunks,
            },
        }
    )


def openai_events(chunks: int, tool: bool = False) -> tuple[list[bytes], list[bytes]]:
    """(content events, closing events): the SSE events of one streamed completion."""

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": MODEL,
            "choices": choices,
            **extra,
        }
        return b"data: " + dump_json(payload) + b"\n\n"

    content = []
    for i in range(chunks):
        delta = {"role": "assistant", "content": piece(i)} if i == 0 else {"content": piece(i)}
        finish = "stop" if i == chunks - 1 and not tool else None
        content.append(event([{"index": 0, "delta": delta, "finish_reason": finish}]))
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": chunks,
        "total_tokens": PROMPT_TOKENS + chunks,
    }
    calls = []
    if tool:
        for n, arguments in enumerate(argument_pieces()):
            call: dict[str, Any] = {"index": 0, "function": {"arguments": arguments}}
            if n == 0:
                call |= {"id": TOOL_ID, "type": "function"}
                call["function"] = {"name": TOOL_NAME, "arguments": arguments}
            calls.append(event([{"index": 0, "delta": {"tool_calls": [call]}}]))
        calls.append(event([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]))
    return content, [*calls, event([], usage=usage), b"data: [DONE]\n\n"]


def anthropic_message(chunks: int, tool: bool = False) -> bytes:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": "".join(map(piece, range(chunks)))}]
    if tool:
        blocks.append({"type": "tool_use", "id": TOOL_ID, "name": TOOL_NAME, "input": TOOL_ARGS})
    return dump_json(
        {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": blocks,
            "stop_reason": "tool_use" if tool else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": chunks},
        }
    )


def anthropic_events(
    chunks: int, tool: bool = False
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(opening events, content events, closing events) of an Anthropic Messages stream."""

    def event(name: str, payload: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + dump_json(payload) + b"\n\n"

    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": 1},
    }
    opening = [
        event("message_start", {"type": "message_start", "message": message}),
        event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    content = [
        event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece(i)},
            },
        )
        for i in range(chunks)
    ]
    calls = []
    if tool:
        block = {"type": "tool_use", "id": TOOL_ID, "name": TOOL_NAME, "input": {}}
        calls.append(
            event(
                "content_block_start",
                {"type": "content_block_start", "index": 1, "content_block": block},
            )
        )
        calls += [
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": arguments},
                },
            )
            for arguments in argument_pieces()
        ]
        calls.append(event("content_block_stop", {"type": "content_block_stop", "index": 1}))
    closing = [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        *calls,
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": chunks},
            },
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    return opening, content, closing


@dataclass(frozen=True)
class Stream:
    """A streamed answer: `first` goes out at once, then each of `spaced` after the delay."""

    first: bytes
    spaced: tuple[bytes, ...]
    last: bytes

    def whole(self) -> bytes:
        return self.first + b"".join(self.spaced) + self.last


def build_stream(opening: list[bytes], content: list[bytes], closing: list[bytes]) -> Stream:
    first = STREAM_HEAD + b"".join(http_chunk(e) for e in [*opening, content[0]])
    spaced = tuple(http_chunk(e) for e in content[1:])
    last = b"".join(http_chunk(e) for e in closing) + LAST_CHUNK
    return Stream(first, spaced, last)


def _responses_usage(chunks: int) -> dict[str, Any]:
    return {
        "input_tokens": PROMPT_TOKENS,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": chunks,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": PROMPT_TOKENS + chunks,
    }


def _responses_items(chunks: int, tool: bool) -> list[dict[str, Any]]:
    text = {"type": "output_text", "text": "".join(map(piece, range(chunks))), "annotations": []}
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "id": "msg_bench",
            "status": "completed",
            "role": "assistant",
            "content": [text],
        }
    ]
    if tool:
        items.append(
            {
                "type": "function_call",
                "id": "fc_bench",
                "call_id": TOOL_ID,
                "name": TOOL_NAME,
                "arguments": TOOL_ARGS_JSON,
                "status": "completed",
            }
        )
    return items


def _responses_object(chunks: int, tool: bool, done: bool) -> dict[str, Any]:
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed" if done else "in_progress",
        "model": MODEL,
        "output": _responses_items(chunks, tool) if done else [],
        "usage": _responses_usage(chunks) if done else None,
    }


def responses_completion(chunks: int, tool: bool = False) -> bytes:
    """An OpenAI Responses answer (`POST /v1/responses` without `stream`)."""
    return dump_json(_responses_object(chunks, tool, done=True))


def responses_events(
    chunks: int, tool: bool = False
) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(opening, content, closing events) of a Responses stream: typed events, each with its
    `sequence_number`, ending with `response.completed` (no `[DONE]`)."""
    numbered = iter(range(1_000_000))

    def event(kind: str, /, **payload: Any) -> bytes:
        data = {"type": kind, "sequence_number": next(numbered), **payload}
        return b"event: " + kind.encode() + b"\ndata: " + dump_json(data) + b"\n\n"

    message, *calls = _responses_items(chunks, tool)
    text = message["content"][0]
    where = {"item_id": message["id"], "output_index": 0, "content_index": 0}
    opening = [
        event("response.created", response=_responses_object(chunks, tool, done=False)),
        event("response.in_progress", response=_responses_object(chunks, tool, done=False)),
        event(
            "response.output_item.added",
            output_index=0,
            item=message | {"status": "in_progress", "content": []},
        ),
        event("response.content_part.added", **where, part=text | {"text": ""}),
    ]
    content = [
        event("response.output_text.delta", **where, delta=piece(i), logprobs=[])
        for i in range(chunks)
    ]
    closing = [
        event("response.output_text.done", **where, text=text["text"], logprobs=[]),
        event("response.content_part.done", **where, part=text),
        event("response.output_item.done", output_index=0, item=message),
    ]
    for call in calls:
        at = {"item_id": call["id"], "output_index": 1}
        added = call | {"status": "in_progress", "arguments": ""}
        closing.append(event("response.output_item.added", output_index=1, item=added))
        closing += [
            event("response.function_call_arguments.delta", **at, delta=arguments)
            for arguments in argument_pieces()
        ]
        closing.append(
            event(
                "response.function_call_arguments.done",
                **at,
                name=call["name"],
                arguments=call["arguments"],
            )
        )
        closing.append(event("response.output_item.done", output_index=1, item=call))
    closing.append(event("response.completed", response=_responses_object(chunks, tool, done=True)))
    return opening, content, closing
