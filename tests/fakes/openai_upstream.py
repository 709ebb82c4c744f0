"""A fake OpenAI-compatible upstream speaking the real Chat Completions wire format.

It records every call (the bearer key it received, the model, whether it streamed, the body and
headers) so tests can check which account a request went through and what the gateway sent.
Runs on its own thread and event loop, so both sync and async test code can use it.

Answers, like the real service:
- a text completion with `reply_text` (`finish_reason: stop`);
- with `tools` and a last `user` message: one tool call (`call_<n>`, the tool named `tool_name`
  when the request offers it, else the first tool, `tool_arguments` as a JSON string) and
  `finish_reason: tool_calls`;
- with a last `tool` message: `"The tool said: <content>"` and `finish_reason: stop`.
(`system` / `developer` messages after the last turn are not turns: they are skipped here.)
`POST /embeddings` answers as `tests/fakes/embeddings.py` says, with the same `errors`.
Streams follow the real chunk sequence (role delta, tool-call start with empty arguments, argument
fragments, the final chunk with the finish reason, the usage chunk when
`stream_options.include_usage`, `data: [DONE]`). Bodies that the real service refuses (not
JSON, no messages, a tool message that answers no tool call, an unanswered tool call, a malformed
tool) get a 400 in OpenAI's error format.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import embeddings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Call:
    key: str
    model: str
    stream: bool
    body: dict[str, Any]
    # the request headers as received (names as sent) and the raw request body
    headers: dict[str, str] = field(default_factory=dict, compare=False)
    raw: bytes = field(default=b"", compare=False)
    # the address the request came from: 127.0.0.1 direct, a proxy's egress IP through one
    peer: str = field(default="", compare=False)
    # the path and the raw query string of the request
    path: str = field(default="", compare=False)
    query: str = field(default="", compare=False)


class UpstreamServer:
    """An aiohttp app on 127.0.0.1:<free port>, served by its own thread and event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def start(self, routes: list[tuple[str, str, Handler]]) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(routes), self.loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
            self._runner = None
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    async def _start(self, routes: list[tuple[str, str, Handler]]) -> None:
        app = web.Application()
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(site.name.rsplit(":", 1)[1])


def split_text(text: str, pieces: int) -> list[str]:
    """`text` in about `pieces` parts on word boundaries; the parts join back to `text`."""
    words = text.split(" ")
    size = max(1, -(-len(words) // max(1, pieces)))
    groups = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [group if index == 0 else " " + group for index, group in enumerate(groups)]


def split_json(text: str, pieces: int = 3) -> list[str]:
    """`text` cut at arbitrary points into `pieces` (at least 2) non-empty fragments."""
    pieces = max(2, min(pieces, len(text)))
    size = -(-len(text) // pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


def count_words(value: Any) -> int:
    """A crude token count: the words of a string, of text parts/blocks, of nested content."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):
        if "text" in value:
            return count_words(value["text"])
        if "content" in value:
            return count_words(value["content"])
        if "input" in value:
            return count_words(json.dumps(value["input"]))
        return 0
    return len(str(value).split())


def content_text(content: Any) -> str:
    """The text of a string content or of a list of text parts/blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _check_chat_body(body: Any) -> None:
    """Refuse what the real Chat Completions endpoint refuses (the parts tests rely on)."""
    if not isinstance(body, dict):
        raise _BadRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty array", "messages")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _BadRequest("'tools' must be an array", "tools")
        for index, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if (
                not isinstance(tool, dict)
                or tool.get("type") != "function"
                or not isinstance(function, dict)
                or not isinstance(function.get("name"), str)
            ):
                raise _BadRequest(f"Invalid tool at tools[{index}]", f"tools[{index}]")
    pending: list[str] = []  # tool call ids of the last assistant message not yet answered
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in {
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
        }:
            raise _BadRequest(f"Invalid message at messages[{index}]", f"messages[{index}]")
        role = message["role"]
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise _BadRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a"
                    " preceeding message with 'tool_calls'.",
                    f"messages.[{index}].role",
                )
            pending.remove(call_id)
            continue
        if pending:
            raise _BadRequest(
                "An assistant message with 'tool_calls' must be followed by tool messages"
                " responding to each 'tool_call_id'. The following tool_call_ids did not have"
                f" response messages: {', '.join(pending)}",
                "messages",
            )
        if role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                function = call.get("function") if isinstance(call, dict) else None
                if (
                    not isinstance(call, dict)
                    or not isinstance(call.get("id"), str)
                    or not isinstance(function, dict)
                    or not isinstance(function.get("name"), str)
                    or not isinstance(function.get("arguments"), str)
                ):
                    raise _BadRequest(
                        f"Invalid tool call at messages[{index}]", f"messages[{index}]"
                    )
                pending.append(call["id"])
    if pending:
        raise _BadRequest(
            "An assistant message with 'tool_calls' must be followed by tool messages responding"
            f" to each 'tool_call_id'. The following tool_call_ids did not have response"
            f" messages: {', '.join(pending)}",
            "messages",
        )


@dataclass
class FakeOpenAI:
    """Start with `with FakeOpenAI() as fake:`; `fake.base_url` ends in /v1."""

    reply_text: str = "Hello from the fake upstream."
    stream_chunks: int = 3
    chunk_delay_s: float = 0.0
    calls: list[Call] = field(default_factory=list)
    # key -> (status, json body): answers an error instead of a completion for that key
    errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # key -> response headers sent with that key's error (e.g. Retry-After)
    error_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    on_call: Callable[[Call], None] | None = None
    # when set, a stream pauses after its first content chunk until the event is set
    stream_gate: threading.Event | None = None
    # time.monotonic() of each held stream whose client (the gateway) hung up while held
    hangups: list[float] = field(default_factory=list)
    # the arguments of the tool call answered to a request with tools
    tool_arguments: dict[str, Any] = field(default_factory=lambda: {"city": "Paris"})
    # the tool to call when the request offers one of that name (None: the first tool)
    tool_name: str | None = None
    # index in `calls` -> the raw bytes answered (the whole SSE stream for a stream). Recorded
    # before they are sent: a reader that stops at the last event (the gateway does, without
    # waiting for the end of the body) must find them here even if this thread stalls
    raw_responses: dict[int, bytes] = field(default_factory=dict)
    # index in `calls` -> the id of the tool call answered to that call
    issued_tool_ids: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._server = UpstreamServer()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def keys_seen(self) -> list[str]:
        with self._lock:
            return [c.key for c in self.calls]

    def __enter__(self) -> FakeOpenAI:
        self._server.start(
            [("POST", "/v1/chat/completions", self._chat), ("POST", "/v1/embeddings", self._embed)]
        )
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def _record(self, call: Call) -> int:
        with self._lock:
            self.calls.append(call)
            return len(self.calls) - 1

    async def _hold(self, gate: threading.Event, request: web.Request) -> bool:
        """Wait for the gate; False (and a recorded hang-up) if the peer closes meanwhile."""
        deadline = time.monotonic() + 30
        while not gate.is_set() and time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                self.hangups.append(time.monotonic())
                return False
            await asyncio.sleep(0.01)
        return True

    def _error(self, index: int, status: int, payload: dict[str, Any]) -> web.Response:
        raw = json.dumps(payload).encode()
        self.raw_responses[index] = raw
        return web.Response(body=raw, status=status, content_type="application/json")

    async def _receive(self, request: web.Request) -> tuple[int, Call, Any]:
        """The call recorded: its index, the call, the parsed body (None: not JSON)."""
        auth = request.headers.get("Authorization", "")
        raw = await request.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        call = Call(
            key=auth.removeprefix("Bearer "),
            model=str(body.get("model", "")),
            stream=bool(body.get("stream")),
            body=body,
            headers=dict(request.headers),
            raw=raw,
            peer=request.remote or "",
            path=request.path,
            query=request.query_string,
        )
        index = self._record(call)
        if self.on_call:
            self.on_call(call)
        return index, call, parsed

    def _scripted(self, index: int, call: Call) -> web.Response | None:
        if call.key not in self.errors:
            return None
        status, payload = self.errors[call.key]
        failed = self._error(index, status, payload)
        failed.headers.update(self.error_headers.get(call.key, {}))
        return failed

    async def _embed(self, request: web.Request) -> web.StreamResponse:
        index, call, parsed = await self._receive(request)
        failed = self._scripted(index, call)
        if failed is not None:
            return failed
        try:
            payload = embeddings.answer(parsed)
        except embeddings.BadEmbeddingsRequest as bad:
            error = {"message": bad.message, "type": "invalid_request_error", "param": bad.param}
            return self._error(index, 400, {"error": {**error, "code": None}})
        raw = json.dumps(payload).encode()
        self.raw_responses[index] = raw
        return web.Response(body=raw, content_type="application/json")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        index, call, parsed = await self._receive(request)
        body = call.body
        failed = self._scripted(index, call)
        if failed is not None:
            return failed
        try:
            _check_chat_body(parsed)
        except _BadRequest as bad:
            error = {
                "message": bad.message,
                "type": "invalid_request_error",
                "param": bad.param,
                "code": None,
            }
            return self._error(index, 400, {"error": error})

        completion_id = f"chatcmpl-{index + 1}"
        created = int(time.time())
        messages: list[dict[str, Any]] = body["messages"]
        turns = list(messages)
        while len(turns) > 1 and turns[-1]["role"] in {"system", "developer"}:
            turns.pop()
        last = turns[-1]
        tool_call: dict[str, Any] | None = None
        text = self.reply_text
        if last["role"] == "tool":
            results = [
                content_text(m.get("content")) for m in turns[_trailing_tools_start(turns) :]
            ]
            text = "The tool said: " + "; ".join(results)
        elif body.get("tools") and last["role"] == "user" and body.get("tool_choice") != "none":
            tool_call = {
                "id": f"call_{index + 1}",
                "type": "function",
                "function": {
                    "name": _pick_tool(body["tools"], self.tool_name),
                    "arguments": json.dumps(self.tool_arguments),
                },
            }
            self.issued_tool_ids[index] = tool_call["id"]
        prompt_tokens = max(1, sum(count_words(m.get("content")) for m in messages))
        completion_tokens = (
            max(1, len(tool_call["function"]["arguments"]) // 4)
            if tool_call
            else max(1, len(text.split()))
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish = "tool_calls" if tool_call else "stop"
        if not call.stream:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if tool_call:
                message = {"role": "assistant", "content": None, "tool_calls": [tool_call]}
            raw_reply = json.dumps(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": call.model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            ).encode()
            self.raw_responses[index] = raw_reply
            return web.Response(body=raw_reply, content_type="application/json")

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        sent: list[bytes] = []

        async def send(payload: bytes) -> None:
            # recorded before the bytes leave (see `raw_responses`)
            sent.append(payload)
            self.raw_responses[index] = b"".join(sent)
            await response.write(payload)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": call.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        if tool_call:
            await send(chunk({"role": "assistant", "content": None}))
            start = {
                "index": 0,
                "id": tool_call["id"],
                "type": "function",
                "function": {"name": tool_call["function"]["name"], "arguments": ""},
            }
            await send(chunk({"tool_calls": [start]}))
            for fragment in split_json(tool_call["function"]["arguments"]):
                if self.chunk_delay_s:
                    await asyncio.sleep(self.chunk_delay_s)
                await send(
                    chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
                )
        else:
            await send(chunk({"role": "assistant", "content": ""}))
            for position, piece in enumerate(split_text(text, self.stream_chunks)):
                if self.chunk_delay_s:
                    await asyncio.sleep(self.chunk_delay_s)
                await send(chunk({"content": piece}))
                gate = self.stream_gate if position == 0 else None
                if gate is not None and not await self._hold(gate, request):
                    return response
        await send(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": call.model,
                "choices": [],
                "usage": usage,
            }
            await send(b"data: " + json.dumps(payload).encode() + b"\n\n")
        await send(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _pick_tool(tools: list[dict[str, Any]], wanted: str | None) -> str:
    names = [str(tool["function"]["name"]) for tool in tools]
    return wanted if wanted is not None and wanted in names else names[0]


def _trailing_tools_start(messages: list[dict[str, Any]]) -> int:
    """The index of the first message of the run of `tool` messages that ends `messages`."""
    start = len(messages)
    while start > 0 and messages[start - 1].get("role") == "tool":
        start -= 1
    return start
