"""A fake OpenAI-compatible upstream speaking the real Chat Completions wire format.

It records every call (the bearer key it received, the model, whether it streamed) so tests can
check which account a request went through. Runs on its own thread and event loop, so both
sync and async test code can use it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Call:
    key: str
    model: str
    stream: bool
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    """Start with `with FakeOpenAI() as fake:`; `fake.base_url` ends in /v1."""

    reply_text: str = "Hello from the fake upstream."
    stream_chunks: int = 3
    chunk_delay_s: float = 0.0
    calls: list[Call] = field(default_factory=list)
    # key -> (status, json body): answers an error instead of a completion for that key
    errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    on_call: Callable[[Call], None] | None = None
    # when set, a stream pauses after its first content chunk until the event is set
    stream_gate: threading.Event | None = None

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._lock = threading.Lock()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def keys_seen(self) -> list[str]:
        with self._lock:
            return [c.key for c in self.calls]

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(site.name.rsplit(":", 1)[1])

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        body = await request.json()
        call = Call(
            key=auth.removeprefix("Bearer "),
            model=body.get("model", ""),
            stream=bool(body.get("stream")),
            body=body,
        )
        with self._lock:
            self.calls.append(call)
        if self.on_call:
            self.on_call(call)
        if call.key in self.errors:
            status, payload = self.errors[call.key]
            return web.json_response(payload, status=status)
        completion_id = f"chatcmpl-{len(self.calls)}"
        created = int(time.time())
        prompt_tokens = sum(
            len(str(m.get("content", "")).split()) for m in body.get("messages", [])
        )
        completion_tokens = len(self.reply_text.split())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not call.stream:
            return web.json_response(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": call.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": self.reply_text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": call.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        words = self.reply_text.split(" ")
        size = max(1, -(-len(words) // self.stream_chunks))
        pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        await response.write(chunk({"role": "assistant", "content": ""}))
        for index, piece in enumerate(pieces):
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            await response.write(chunk({"content": piece if index == 0 else " " + piece}))
            if index == 0 and self.stream_gate is not None:
                gate = self.stream_gate
                await asyncio.get_running_loop().run_in_executor(None, gate.wait, 30)
        await response.write(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": call.model,
                "choices": [],
                "usage": usage,
            }
            await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
