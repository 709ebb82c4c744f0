"""The fake LLM upstream: a raw asyncio protocol on uvloop that answers with fixed bytes.

It has to cost far less CPU than anything measured against it, so it has no framework: it
parses just enough HTTP/1.1 (request line, Content-Length, Connection), keeps connections
alive, and answers from bodies built once at start (`answers.py`, `answers_google.py`).

    POST /v1/chat/completions  OpenAI chat.completion, or an SSE stream when the body has
                               "stream": true (N chunk events, the last with finish_reason,
                               then a usage chunk, then `data: [DONE]`)
    POST /v1/messages          Anthropic Messages, or its SSE event stream
    POST /v1/responses         OpenAI Responses (`"object": "response"`), or its typed SSE
                               events (`response.created` ... `response.output_text.delta`
                               ... `response.completed`) when the body has "stream": true
    POST /v1beta/models/<model>:generateContent
                               Gemini GenerateContentResponse
    POST /v1beta/models/<model>:streamGenerateContent?alt=sse
                               the same, one `data:` line per chunk (the last with
                               finishReason and usageMetadata), no `[DONE]`
    POST /v1internal:generateContent, :streamGenerateContent?alt=sse
                               Cloud Code (Antigravity): the same inside
                               `{"response": {...}, "traceId": ...}`
    POST /v1internal:loadCodeAssist, :fetchAvailableModels, :countTokens
                               fixed answers (project `bench-project`, a small model map)
    GET  /health               200 ok
    GET  /counts               the POSTs served so far, per path (the probes read it)

Every content piece carries its index (`chunk-<i> `) so a client can check order and loss.
A request that offers tools (`"tools": [` in its body: the agentic scenarios) is answered
as an agent's turn is: the text, then one `Edit` tool call (arguments streamed in pieces;
on Google's formats a whole `functionCall` part with a `thoughtSignature`), stopping for the
tool. `--chunk-delay-ms` spaces the content events of a stream (the soak uses it).

    python bench/upstream.py --port 9100 [--chunks 8] [--chunk-delay-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import resource
import sys
from collections import Counter
from dataclasses import dataclass
from typing import cast

import uvloop

from answers import (
    Stream,
    anthropic_events,
    anthropic_message,
    build_stream,
    dump_json,
    http_response,
    openai_completion,
    openai_events,
    responses_completion,
    responses_events,
)
from answers_google import cloudcode_fixed, gemini_completion, gemini_events

MAX_HEAD = 64 * 1024
STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')
HAS_TOOLS = re.compile(rb'"tools"\s*:\s*\[')


@dataclass(frozen=True)
class Turn:
    """The answers of one kind of turn (plain text, or text and a tool call), built once."""

    openai: bytes
    openai_stream: Stream
    anthropic: bytes
    anthropic_stream: Stream
    responses: bytes
    responses_stream: Stream
    gemini: bytes
    gemini_stream: Stream
    cloudcode: bytes
    cloudcode_stream: Stream

    @classmethod
    def build(cls, chunks: int, tool: bool) -> Turn:
        def whole(body: bytes) -> bytes:
            return http_response("200 OK", "application/json", body)

        return cls(
            openai=whole(openai_completion(chunks, tool)),
            openai_stream=build_stream([], *openai_events(chunks, tool)),
            anthropic=whole(anthropic_message(chunks, tool)),
            anthropic_stream=build_stream(*anthropic_events(chunks, tool)),
            responses=whole(responses_completion(chunks, tool)),
            responses_stream=build_stream(*responses_events(chunks, tool)),
            gemini=whole(gemini_completion(chunks, tool)),
            gemini_stream=build_stream([], *gemini_events(chunks, tool)),
            cloudcode=whole(gemini_completion(chunks, tool, envelope=True)),
            cloudcode_stream=build_stream([], *gemini_events(chunks, tool, envelope=True)),
        )


class Answers:
    """Every response body, built once; and how many POSTs each path has served."""

    def __init__(self, chunks: int) -> None:
        chunks = max(1, chunks)
        self.plain = Turn.build(chunks, tool=False)
        self.tool = Turn.build(chunks, tool=True)
        self.cloudcode_fixed = {
            path: http_response("200 OK", "application/json", body)
            for path, body in cloudcode_fixed().items()
        }
        self.health = http_response("200 OK", "text/plain", b"ok")
        self.not_found = http_response(
            "404 Not Found", "application/json", b'{"error":{"message":"not found"}}'
        )
        self.bad_request = http_response(
            "400 Bad Request", "application/json", b'{"error":{"message":"bad request"}}'
        )
        self.counts: Counter[bytes] = Counter()


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
        if method == b"POST":
            answers.counts[path] += 1
        turn = answers.tool if method == b"POST" and HAS_TOOLS.search(body) else answers.plain
        if method == b"POST" and path in (b"/v1/chat/completions", b"/v1/messages"):
            openai = path == b"/v1/chat/completions"
            if STREAM_TRUE.search(body) is None:
                self._finish(turn.openai if openai else turn.anthropic, keep_alive)
                return
            self._stream(turn.openai_stream if openai else turn.anthropic_stream, keep_alive)
        elif method == b"POST" and path == b"/v1/responses":
            if STREAM_TRUE.search(body) is None:
                self._finish(turn.responses, keep_alive)
                return
            self._stream(turn.responses_stream, keep_alive)
        elif method == b"POST" and path == b"/v1internal:generateContent":
            self._finish(turn.cloudcode, keep_alive)
        elif method == b"POST" and path == b"/v1internal:streamGenerateContent":
            self._stream(turn.cloudcode_stream, keep_alive)
        elif method == b"POST" and path in answers.cloudcode_fixed:
            self._finish(answers.cloudcode_fixed[path], keep_alive)
        elif method == b"POST" and path.startswith(b"/v1beta/models/"):
            if path.endswith(b":generateContent"):
                self._finish(turn.gemini, keep_alive)
            elif path.endswith(b":streamGenerateContent"):
                self._stream(turn.gemini_stream, keep_alive)
            else:
                self._finish(answers.not_found, keep_alive)
        elif method == b"GET" and path == b"/health":
            self._finish(answers.health, keep_alive)
        elif method == b"GET" and path == b"/counts":
            counts = {key.decode(): n for key, n in answers.counts.items()}
            self._finish(http_response("200 OK", "application/json", dump_json(counts)), keep_alive)
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
