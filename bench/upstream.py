"""The fake LLM upstream: a raw asyncio protocol on uvloop that answers with fixed bytes.

It has to cost far less CPU than anything measured against it, so it has no framework: it
parses just enough HTTP/1.1 (request line, Content-Length, Connection), keeps connections
alive, and answers from bodies built once at start.

    POST /v1/chat/completions  OpenAI chat.completion, or an SSE stream when the body has
                               "stream": true (N chunk events, the last with finish_reason,
                               then a usage chunk, then `data: [DONE]`)
    POST /v1/messages          Anthropic Messages, or its SSE event stream
    POST /v1internal:generateContent
                               Cloud Code (Antigravity): `{"response": {Gemini
                               GenerateContentResponse}, "traceId": ...}`
    POST /v1internal:streamGenerateContent?alt=sse
                               the same, one `data:` line per chunk (the last with
                               finishReason and usageMetadata), no `[DONE]`
    POST /v1internal:loadCodeAssist, :fetchAvailableModels, :countTokens
                               fixed answers (project `bench-project`, a small model map)
    GET  /health               200 ok

Every content piece carries its index (`chunk-<i> `) so a client can check order and loss.
A request that offers tools (`"tools": [` in its body: the agentic scenarios) is answered
as an agent's turn is: the text, then one `Edit` tool call (arguments streamed in pieces;
on Cloud Code a whole `functionCall` part with a `thoughtSignature`), stopping for the tool.
`--chunk-delay-ms` spaces the content events of a stream (the soak uses it).

    python bench/upstream.py --port 9100 [--chunks 8] [--chunk-delay-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import resource
import sys
from dataclasses import dataclass
from typing import Any, cast

import uvloop

MODEL = "gpt-4o-mini"
PROMPT_TOKENS = 12
MAX_HEAD = 64 * 1024
STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')
HAS_TOOLS = re.compile(rb'"tools"\s*:\s*\[')
TOOL_ID = "toolu_bench_answer"
TOOL_NAME = "Edit"
TOOL_ARGS = {
    "file_path": "/home/dev/projects/café-service/src/bucket.py",
    "old_string": "    tokens = self.bucket.get('tokens', 0)",
    "new_string": "    tokens = self.bucket.get('tokens', 0) or self.refill_rate",
}
TOOL_ARGS_JSON = json.dumps(TOOL_ARGS, ensure_ascii=False)
THOUGHT_SIGNATURE = "CpQBbench" + "Zm9yIHRoZSBiZW5jaCBvbmx5" * 12  # opaque to the gateway


def _argument_pieces(parts: int = 3) -> list[str]:
    step = -(-len(TOOL_ARGS_JSON) // parts)
    return [TOOL_ARGS_JSON[i : i + step] for i in range(0, len(TOOL_ARGS_JSON), step)]


def piece(index: int) -> str:
    return f"chunk-{index} "


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _response(status: str, content_type: str, body: bytes) -> bytes:
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
    return _json(
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
        return b"data: " + _json(payload) + b"\n\n"

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
        for n, arguments in enumerate(_argument_pieces()):
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
    return _json(
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
        return b"event: " + name.encode() + b"\ndata: " + _json(payload) + b"\n\n"

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
            for arguments in _argument_pieces()
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


GEMINI_MODEL = "gemini-3-flash"
PROJECT = "bench-project"


def _cloudcode(response: dict[str, Any]) -> bytes:
    return _json({"response": response, "traceId": "bench-trace"})


def _gemini_usage(chunks: int) -> dict[str, int]:
    return {
        "promptTokenCount": PROMPT_TOKENS,
        "candidatesTokenCount": chunks,
        "totalTokenCount": PROMPT_TOKENS + chunks,
    }


def _function_call_part() -> dict[str, Any]:
    return {
        "functionCall": {"name": TOOL_NAME, "args": TOOL_ARGS},
        "thoughtSignature": THOUGHT_SIGNATURE,
    }


def cloudcode_completion(chunks: int, tool: bool = False) -> bytes:
    parts: list[dict[str, Any]] = [{"text": "".join(piece(i) for i in range(chunks))}]
    if tool:
        parts.append(_function_call_part())
    return _cloudcode(
        {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
            "usageMetadata": _gemini_usage(chunks),
            "modelVersion": GEMINI_MODEL,
            "responseId": "bench-response",
        }
    )


def cloudcode_events(chunks: int, tool: bool = False) -> tuple[list[bytes], list[bytes]]:
    """(content events, closing events) of `streamGenerateContent?alt=sse`: the envelope on
    every line, CRLF framing as Google sends it, the stream just ends (no `[DONE]`)."""

    def event(response: dict[str, Any]) -> bytes:
        return b"data: " + _cloudcode(response) + b"\r\n\r\n"

    def response(part: dict[str, Any], last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}}
        found: dict[str, Any] = {"candidates": [candidate]}
        if last:
            candidate["finishReason"] = "STOP"
            found["usageMetadata"] = _gemini_usage(chunks)
        return found | {"modelVersion": GEMINI_MODEL, "responseId": "bench-response"}

    content = [
        event(response({"text": piece(i)}, last=i == chunks - 1 and not tool))
        for i in range(chunks)
    ]
    closing = [event(response(_function_call_part(), last=True))] if tool else []
    return content, closing


def cloudcode_fixed() -> dict[bytes, bytes]:
    """The other `v1internal` methods a Cloud Code client may call, with fixed answers."""
    models = {
        name: {
            "displayName": name,
            "maxOutputTokens": 65536,
            "quotaInfo": {"remainingFraction": 1.0, "resetTime": "2099-01-01T00:00:00Z"},
        }
        for name in (GEMINI_MODEL, "gemini-3.1-pro-low", "claude-sonnet-4-6")
    }
    return {
        b"/v1internal:loadCodeAssist": _json(
            {
                "cloudaicompanionProject": PROJECT,
                "currentTier": {"id": "standard-tier"},
                "allowedTiers": [{"id": "standard-tier", "isDefault": True}],
            }
        ),
        b"/v1internal:fetchAvailableModels": _json({"models": models}),
        b"/v1internal:countTokens": _json({"totalTokens": PROMPT_TOKENS}),
    }


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


@dataclass(frozen=True)
class Turn:
    """The answers of one kind of turn (plain text, or text and a tool call), built once."""

    openai: bytes
    openai_stream: Stream
    anthropic: bytes
    anthropic_stream: Stream
    cloudcode: bytes
    cloudcode_stream: Stream

    @classmethod
    def build(cls, chunks: int, tool: bool) -> Turn:
        def whole(body: bytes) -> bytes:
            return _response("200 OK", "application/json", body)

        return cls(
            openai=whole(openai_completion(chunks, tool)),
            openai_stream=build_stream([], *openai_events(chunks, tool)),
            anthropic=whole(anthropic_message(chunks, tool)),
            anthropic_stream=build_stream(*anthropic_events(chunks, tool)),
            cloudcode=whole(cloudcode_completion(chunks, tool)),
            cloudcode_stream=build_stream([], *cloudcode_events(chunks, tool)),
        )


class Answers:
    """Every response body, built once."""

    def __init__(self, chunks: int) -> None:
        chunks = max(1, chunks)
        self.plain = Turn.build(chunks, tool=False)
        self.tool = Turn.build(chunks, tool=True)
        self.cloudcode_fixed = {
            path: _response("200 OK", "application/json", body)
            for path, body in cloudcode_fixed().items()
        }
        self.health = _response("200 OK", "text/plain", b"ok")
        self.not_found = _response(
            "404 Not Found", "application/json", b'{"error":{"message":"not found"}}'
        )
        self.bad_request = _response(
            "400 Bad Request", "application/json", b'{"error":{"message":"bad request"}}'
        )


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive connection; requests are answered in order (pipelining works)."""

    def __init__(self, answers: Answers, delay_s: float) -> None:
        self._answers = answers
        self._delay_s = delay_s
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._busy = False  # a delayed stream is being written; later requests wait

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._serve_buffered()

    def _serve_buffered(self) -> None:
        buffer = self._buffer
        while self._transport is not None and not self._busy:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                if len(buffer) > MAX_HEAD:
                    self._finish(self._answers.bad_request, keep_alive=False)
                return
            lines = bytes(buffer[:head_end]).split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3:
                self._finish(self._answers.bad_request, keep_alive=False)
                return
            method, path, version = parts
            length = 0
            keep_alive = version == b"HTTP/1.1"
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    keep_alive = value.strip().lower() != b"close"
            end = head_end + 4 + length
            if len(buffer) < end:
                return
            body = bytes(buffer[head_end + 4 : end])
            del buffer[:end]
            self._answer(method, path.partition(b"?")[0], body, keep_alive)

    def _answer(self, method: bytes, path: bytes, body: bytes, keep_alive: bool) -> None:
        answers = self._answers
        turn = answers.tool if method == b"POST" and HAS_TOOLS.search(body) else answers.plain
        if method == b"POST" and path in (b"/v1/chat/completions", b"/v1/messages"):
            openai = path == b"/v1/chat/completions"
            if STREAM_TRUE.search(body) is None:
                self._finish(turn.openai if openai else turn.anthropic, keep_alive)
                return
            self._stream(turn.openai_stream if openai else turn.anthropic_stream, keep_alive)
        elif method == b"POST" and path == b"/v1internal:generateContent":
            self._finish(turn.cloudcode, keep_alive)
        elif method == b"POST" and path == b"/v1internal:streamGenerateContent":
            self._stream(turn.cloudcode_stream, keep_alive)
        elif method == b"POST" and path in answers.cloudcode_fixed:
            self._finish(answers.cloudcode_fixed[path], keep_alive)
        elif method == b"GET" and path == b"/health":
            self._finish(answers.health, keep_alive)
        else:
            self._finish(answers.not_found, keep_alive)

    def _stream(self, stream: Stream, keep_alive: bool) -> None:
        if self._delay_s <= 0:
            self._finish(stream.whole(), keep_alive)
            return
        self._busy = True
        asyncio.get_running_loop().create_task(self._slow(stream, keep_alive))

    def _finish(self, data: bytes, keep_alive: bool) -> None:
        if self._transport is None:
            return
        self._transport.write(data)
        if not keep_alive:
            self._transport.close()
            self._transport = None

    async def _slow(self, stream: Stream, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        transport.write(stream.first)
        for chunk in stream.spaced:
            await asyncio.sleep(self._delay_s)
            if transport.is_closing():
                return
            transport.write(chunk)
        self._finish(stream.last, keep_alive)
        self._busy = False
        if self._buffer:
            self._serve_buffered()


def raise_nofile_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(host: str, port: int, chunks: int, delay_ms: float, backlog: int) -> None:
    answers = Answers(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: UpstreamProtocol(answers, delay_ms / 1000),
        host,
        port,
        backlog=backlog,
        reuse_address=True,
    )
    print(f"upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=8, help="content events per stream")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0)
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port, args.chunks, args.chunk_delay_ms, args.backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
