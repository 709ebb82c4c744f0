"""A fake OpenAI Responses upstream (`POST /v1/responses`), stateless as a `store: false`
caller sees the real service.

Same shape as `FakeOpenAI`: `with FakeResponses() as fake:`, `fake.base_url` ends in /v1,
`fake.calls` records each call (key, model, stream, parsed and raw body, headers), `fake.errors`
maps a key to a scripted error answer (with `error_headers`). A call without a bearer key, or
with one outside `keys` when that is set, is a 401.

Answers, like the real service:
- a `message` item with `reply_text` (`status: completed`);
- with function tools offered, a last input item that is a user message and `tool_choice` not
  `none`: one `function_call` item (`call_<n>`, the first function tool, `tool_arguments` as a
  JSON string);
- with a last input item that is a tool output (`function_call_output` or
  `custom_tool_call_output`): `"The tool said: <output>"` (the outputs of the trailing run joined
  by "; ").
`system` / `developer` messages at the end are not turns. With `reasoning` set, a `reasoning`
item comes first: that summary, and an `encrypted_content` (recorded in `issued_reasoning`) when
the request `include`s `reasoning.encrypted_content`. Streams are the real typed events
(`tests/fakes/responses_wire.py`), numbered by `sequence_number`, without `[DONE]`. Bodies the
real service refuses get a 400 in OpenAI's error format (see `responses_wire.check_request`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.openai_upstream import Call, UpstreamServer, content_text, count_words
from tests.fakes.responses_wire import (
    BadRequest,
    check_request,
    response_object,
    sse,
    stream_events,
    usage_object,
)

TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def openai_error(
    message: str, error_type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _turns(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The input items without the trailing system / developer messages."""
    items = body["input"]
    if isinstance(items, str):
        return [{"type": "message", "role": "user", "content": items}]
    turns = list(items)
    while len(turns) > 1 and turns[-1].get("role") in ("system", "developer"):
        turns.pop()
    return turns


def _function_tools(body: dict[str, Any]) -> list[str]:
    return [
        str(tool["name"])
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and tool.get("type") == "function"
    ]


@dataclass
class FakeResponses:
    """Start with `with FakeResponses() as fake:`; `fake.base_url` ends in /v1."""

    reply_text: str = "Hello from the fake Responses upstream."
    stream_chunks: int = 3
    # the bearer keys accepted (empty: any)
    keys: frozenset[str] = frozenset()
    calls: list[Call] = field(default_factory=list)
    # key -> (status, json body): answers an error instead of a response for that key
    errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    error_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    tool_arguments: dict[str, Any] = field(default_factory=lambda: {"city": "Paris"})
    # the summary of a reasoning item answered before the reply (None: no reasoning item)
    reasoning: str | None = None
    # index in `calls` -> the raw bytes answered (the whole SSE stream for a stream)
    raw_responses: dict[int, bytes] = field(default_factory=dict)
    # index in `calls` -> the call id of the function call answered
    issued_tool_ids: dict[int, str] = field(default_factory=dict)
    # every encrypted_content answered -> its summary; only these may be replayed
    issued_reasoning: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._server = UpstreamServer()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeResponses:
        self._server.start([("POST", "/v1/responses", self._responses)])
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    def _record(self, call: Call) -> int:
        with self._lock:
            self.calls.append(call)
            return len(self.calls) - 1

    def _json(self, index: int, status: int, payload: dict[str, Any]) -> web.Response:
        raw = json.dumps(payload).encode()
        self.raw_responses[index] = raw
        return web.Response(body=raw, status=status, content_type="application/json")

    async def _receive(self, request: web.Request) -> tuple[int, Call, Any]:
        raw = await request.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        call = Call(
            key=request.headers.get("Authorization", "").removeprefix("Bearer "),
            model=str(body.get("model", "")),
            stream=body.get("stream") is True,
            body=body,
            headers=dict(request.headers),
            raw=raw,
            peer=request.remote or "",
            path=request.path,
            query=request.query_string,
        )
        return self._record(call), call, parsed

    def _refusal(self, index: int, call: Call, parsed: Any) -> web.Response | None:
        """The error answered instead of a response, if any: auth, scripted, invalid body."""
        if not call.key or (self.keys and call.key not in self.keys):
            message = (
                "Incorrect API key provided." if call.key else "You didn't provide an API key."
            )
            error = openai_error(message, "invalid_request_error", code="invalid_api_key")
            return self._json(index, 401, error)
        if call.key in self.errors:
            status, payload = self.errors[call.key]
            failed = self._json(index, status, payload)
            failed.headers.update(self.error_headers.get(call.key, {}))
            return failed
        try:
            check_request(parsed, self.issued_reasoning)
        except BadRequest as bad:
            return self._json(
                index, 400, openai_error(bad.message, "invalid_request_error", param=bad.param)
            )
        return None

    def _output(self, index: int, body: dict[str, Any]) -> tuple[list[dict[str, Any]], int, int]:
        """The output items answered to `body`, the output and the reasoning token counts."""
        output: list[dict[str, Any]] = []
        reasoning_tokens = 0
        if self.reasoning is not None:
            item: dict[str, Any] = {
                "id": f"rs_{index + 1:04d}",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": self.reasoning}],
            }
            if "reasoning.encrypted_content" in (body.get("include") or []):
                encrypted = f"enc-{index + 1}-{secrets.token_hex(8)}"
                self.issued_reasoning[encrypted] = self.reasoning
                item["encrypted_content"] = encrypted
            output.append(item)
            reasoning_tokens = max(1, len(self.reasoning.split()))
        turns = _turns(body)
        last = turns[-1]
        tools = _function_tools(body)
        if last.get("type") in TOOL_OUTPUTS:
            start = len(turns)
            while start > 0 and turns[start - 1].get("type") in TOOL_OUTPUTS:
                start -= 1
            said = "; ".join(content_text(t.get("output")) for t in turns[start:])
            text = "The tool said: " + said
        elif tools and last.get("role") == "user" and body.get("tool_choice") != "none":
            call_id = f"call_{index + 1}"
            self.issued_tool_ids[index] = call_id
            arguments = json.dumps(self.tool_arguments)
            output.append(
                {
                    "id": f"fc_{index + 1:04d}",
                    "type": "function_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": tools[0],
                    "arguments": arguments,
                }
            )
            return output, max(1, len(arguments) // 4) + reasoning_tokens, reasoning_tokens
        else:
            text = self.reply_text
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        message = {
            "id": f"msg_{index + 1:04d}",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [part],
        }
        output.append(message)
        return output, max(1, len(text.split())) + reasoning_tokens, reasoning_tokens

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        index, call, parsed = await self._receive(request)
        refused = self._refusal(index, call, parsed)
        if refused is not None:
            return refused
        body = call.body
        output, output_tokens, reasoning_tokens = self._output(index, body)
        input_tokens = max(1, count_words(body.get("instructions")) + count_words(body["input"]))
        usage = usage_object(input_tokens, output_tokens, reasoning_tokens)
        response = response_object(
            f"resp_{index + 1:04d}", call.model, output, usage, created=int(time.time())
        )
        if not call.stream:
            return self._json(index, 200, response)
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        sent = b""
        for number, event in enumerate(stream_events(response, self.stream_chunks)):
            frame = sse([event], first=number)
            sent += frame
            self.raw_responses[index] = sent  # recorded before the bytes leave
            await stream.write(frame)
        await stream.write_eof()
        return stream
