"""A fake Anthropic upstream speaking the real Messages wire format (`POST /v1/messages`).

Same shape as `FakeOpenAI`: `with FakeAnthropic() as fake:`, `fake.base_url` is the server root
(clients append `/v1/messages`), `fake.calls` records the key (from `x-api-key`, or
`Authorization: Bearer`), the model, whether it streamed, the body and the headers (so the
`anthropic-version` a caller sent can be checked), and `fake.errors` maps a key to an error
answer. `POST /v1/messages/count_tokens` counts the words of a Messages body (without
`max_tokens`), with the same key checks and `errors`.

Answers, like the real service:
- a text message with `reply_text` and `stop_reason: end_turn`;
- with `tools` and a last user turn of text: an optional text block (`tool_preamble`), then a
  `tool_use` block (`toolu_<n>`, the tool named `tool_name` when the request offers it, else the
  first tool, with `tool_input`) and `stop_reason: tool_use`;
- with a last user turn holding `tool_result` blocks: `"The tool said: <content>"`, `end_turn`.
`role: "system"` messages (mid-conversation system instructions, which Claude Code sends) are
accepted and do not count as turns: the "last turn" is the last user or assistant message.
Streams are real SSE (`event:` lines): `message_start` (with input tokens), per block
`content_block_start` / `content_block_delta` (`text_delta`, `input_json_delta` split in several
fragments) / `content_block_stop`, one `ping`, `message_delta` (stop reason, output tokens),
`message_stop`. Bodies the real service refuses (not JSON, no `max_tokens`, `messages` not a
non-empty list, empty text blocks, unmatched `tool_use` / `tool_result` ids, tools without
`input_schema`) get a 400 `invalid_request_error` in Anthropic's error format.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.openai_upstream import Call, UpstreamServer, count_words, split_json, split_text

_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def anthropic_error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


class _BadRequest(Exception):
    pass


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """The content of a message as blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise _BadRequest(f"{where}.content: Input should be a valid list")
    return content


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def check_messages_body(body: Any, *, counting: bool = False) -> None:
    """Refuse what the real Messages endpoint refuses (the parts tests rely on); `counting`:
    what its token counter refuses (the same body, but `max_tokens` is an extra input)."""
    if not isinstance(body, dict):
        raise _BadRequest("There was an error parsing the body of your request")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("model: Field required")
    max_tokens = body.get("max_tokens")
    if counting:
        if max_tokens is not None:
            raise _BadRequest("max_tokens: Extra inputs are not permitted")
    elif max_tokens is None:
        raise _BadRequest("max_tokens: Field required")
    elif not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _BadRequest("max_tokens: Input should be a valid positive integer")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        for block in _blocks(system, "system"):
            if block.get("type") != "text" or not block.get("text"):
                raise _BadRequest("system: text content blocks must be non-empty")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _BadRequest("tools: Input should be a valid list")
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                raise _BadRequest(f"tools.{index}.name: Field required")
            if tool.get("type") in (None, "custom") and not isinstance(
                tool.get("input_schema"), dict
            ):
                raise _BadRequest(f"tools.{index}.custom.input_schema: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise _BadRequest("messages: Input should be a valid list")
    if not messages:
        raise _BadRequest("messages: at least one message is required")
    pending: set[str] = set()  # tool_use ids of the previous assistant message
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise _BadRequest(f"{where}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in {"user", "assistant", "system"}:
            raise _BadRequest(f"{where}.role: Input should be 'user', 'assistant' or 'system'")
        blocks = _blocks(message.get("content"), where)
        if role == "system":
            if not blocks or any(b.get("type") != "text" for b in blocks):
                raise _BadRequest(f"{where}: system messages hold non-empty text blocks")
            continue
        is_final_assistant = role == "assistant" and index == len(messages) - 1
        if not blocks and not is_final_assistant:
            raise _BadRequest(
                f"{where}: all messages must have non-empty content except for the optional"
                " final assistant message"
            )
        results: set[str] = set()
        uses: set[str] = set()
        for position, block in enumerate(blocks):
            kind = block.get("type")
            at = f"{where}.content.{position}"
            if kind == "text":
                if not isinstance(block.get("text"), str) or not block["text"]:
                    raise _BadRequest("messages: text content blocks must be non-empty")
            elif kind == "tool_use":
                if role != "assistant":
                    raise _BadRequest(f"{at}: tool_use blocks are only allowed in assistant turns")
                block_id = block.get("id")
                if not isinstance(block_id, str) or not _TOOL_USE_ID.match(block_id):
                    raise _BadRequest(f"{at}.tool_use.id: String should match pattern")
                if not isinstance(block.get("name"), str) or not isinstance(
                    block.get("input"), dict
                ):
                    raise _BadRequest(f"{at}.tool_use: name and an object input are required")
                uses.add(block_id)
            elif kind == "tool_result":
                if role != "user":
                    raise _BadRequest(f"{at}: tool_result blocks are only allowed in user turns")
                use_id = block.get("tool_use_id")
                if use_id not in pending:
                    raise _BadRequest(
                        f"{at}: unexpected `tool_use_id` found in `tool_result` blocks: {use_id}."
                        " Each `tool_result` block must have a corresponding `tool_use` block"
                        " in the previous message."
                    )
                results.add(use_id)
            elif kind not in {"image", "document", "thinking", "redacted_thinking"}:
                raise _BadRequest(f"{at}.type: Input tag '{kind}' does not match any expected tag")
        if pending and pending - results:
            raise _BadRequest(
                f"messages.{index - 1}: `tool_use` ids were found without `tool_result` blocks"
                f" immediately after: {', '.join(sorted(pending - results))}. Each `tool_use`"
                " block must have a corresponding `tool_result` block in the next message."
            )
        pending = uses


def sse_event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


@dataclass
class FakeAnthropic:
    """Start with `with FakeAnthropic() as fake:`; `fake.base_url` is the root (no /v1)."""

    reply_text: str = "Hello from the fake Anthropic upstream."
    stream_chunks: int = 3
    chunk_delay_s: float = 0.0
    calls: list[Call] = field(default_factory=list)
    # key -> (status, json body): answers an error instead of a message for that key
    errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # key -> error object: a stream for that key is answered 200 with this `error` event first
    stream_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_call: Callable[[Call], None] | None = None
    # when set, a stream pauses after its first text delta until the event is set
    stream_gate: threading.Event | None = None
    # the input of the tool_use block answered to a request with tools
    tool_input: dict[str, Any] = field(default_factory=lambda: {"city": "Paris"})
    # the tool to call when the request offers one of that name (None: the first tool)
    tool_name: str | None = None
    # a text block sent before the tool_use block (None: the tool_use block only)
    tool_preamble: str | None = "Let me check."
    # index in `calls` -> the raw bytes answered (the whole SSE stream for a stream). Recorded
    # before they are sent: a reader that stops at the last event (the gateway does, without
    # waiting for the end of the body) must find them here even if this thread stalls
    raw_responses: dict[int, bytes] = field(default_factory=dict)
    # index in `calls` -> the id of the tool call answered to that call
    issued_tool_ids: dict[int, str] = field(default_factory=dict)
    # like the real service: a beta body field without its `anthropic-beta` value is a 400
    # (`context_management` needs context-management-2025-06-27, which Claude Code sends)
    require_betas: bool = False
    # when set, a key it does not accept (an access token that is not current) gets a 401
    accepts: Callable[[str], bool] | None = None

    def __post_init__(self) -> None:
        self._server = UpstreamServer()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def keys_seen(self) -> list[str]:
        with self._lock:
            return [c.key for c in self.calls]

    def versions_seen(self) -> list[str | None]:
        """The `anthropic-version` header of each call (None when it was missing)."""
        with self._lock:
            return [_header(c.headers, "anthropic-version") for c in self.calls]

    def __enter__(self) -> FakeAnthropic:
        self._server.start(
            [
                ("POST", "/v1/messages", self._messages),
                ("POST", "/v1/messages/count_tokens", self._count_tokens),
            ]
        )
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
        return web.Response(
            body=raw,
            status=status,
            content_type="application/json",
            headers={"request-id": f"req_fake_{index + 1}"},
        )

    async def _receive(self, request: web.Request) -> tuple[int, Call, Any]:
        """The call recorded: its index, the call, the parsed body (None: not JSON)."""
        key = request.headers.get("x-api-key") or request.headers.get(
            "Authorization", ""
        ).removeprefix("Bearer ")
        raw = await request.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        call = Call(
            key=key,
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

    def _refusal(self, index: int, call: Call) -> web.Response | None:
        """A scripted error, a missing or refused key, a missing `anthropic-version`."""
        if call.key in self.errors:
            status, payload = self.errors[call.key]
            return self._json(index, status, payload)
        if not call.key:
            return self._json(
                index,
                401,
                anthropic_error("authentication_error", "x-api-key header is required"),
            )
        if self.accepts is not None and not self.accepts(call.key):
            return self._json(
                index, 401, anthropic_error("authentication_error", "invalid x-api-key")
            )
        if not _header(call.headers, "anthropic-version"):
            return self._json(
                index,
                400,
                anthropic_error("invalid_request_error", "anthropic-version: header is required"),
            )
        return None

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        """`{"input_tokens": <words of the system prompt, messages and tools>}`; the body is a
        Messages body without `max_tokens` (which is refused here, as an extra input)."""
        index, call, parsed = await self._receive(request)
        refused = self._refusal(index, call)
        if refused is not None:
            return refused
        try:
            check_messages_body(parsed, counting=True)
        except _BadRequest as bad:
            return self._json(index, 400, anthropic_error("invalid_request_error", str(bad)))
        body = call.body
        tools = [json.dumps(tool) for tool in body.get("tools") or ()]
        words = count_words(body.get("system")) + count_words(tools)
        words += sum(count_words(m["content"]) for m in body["messages"])
        return self._json(index, 200, {"input_tokens": max(1, words)})

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        index, call, parsed = await self._receive(request)
        body = call.body
        refused = self._refusal(index, call)
        if refused is not None:
            return refused
        try:
            check_messages_body(parsed)
            if self.require_betas:
                _check_betas(body, _header(call.headers, "anthropic-beta") or "")
        except _BadRequest as bad:
            return self._json(index, 400, anthropic_error("invalid_request_error", str(bad)))

        messages: list[dict[str, Any]] = body["messages"]
        turns = [m for m in messages if m["role"] != "system"] or messages
        last = turns[-1]
        last_blocks = _blocks(last["content"], "last")
        results = [b for b in last_blocks if b.get("type") == "tool_result"]
        content: list[dict[str, Any]]
        if last["role"] == "user" and results:
            text = "The tool said: " + "; ".join(_result_text(b.get("content")) for b in results)
            content = [{"type": "text", "text": text}]
            stop_reason = "end_turn"
        elif (
            body.get("tools")
            and last["role"] == "user"
            and _tool_choice_type(body.get("tool_choice")) != "none"
        ):
            content = []
            if self.tool_preamble:
                content.append({"type": "text", "text": self.tool_preamble})
            tool_use_id = f"toolu_{index + 1:024d}"
            self.issued_tool_ids[index] = tool_use_id
            content.append(
                {
                    "type": "tool_use",
                    "id": tool_use_id,
                    "name": _pick_tool([t.get("name") for t in body["tools"]], self.tool_name),
                    "input": dict(self.tool_input),
                }
            )
            stop_reason = "tool_use"
        else:
            content = [{"type": "text", "text": self.reply_text}]
            stop_reason = "end_turn"
        input_tokens = max(
            1, count_words(body.get("system")) + sum(count_words(m["content"]) for m in messages)
        )
        output_tokens = max(1, count_words(content))
        message = {
            "id": f"msg_fake{index + 1:020d}",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        if not call.stream:
            return self._json(index, 200, message)
        if call.key in self.stream_errors:
            raw = sse_event(self.stream_errors[call.key])
            self.raw_responses[index] = raw
            return web.Response(body=raw, status=200, content_type="text/event-stream")

        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "request-id": f"req_fake_{index + 1}",
            }
        )
        await response.prepare(request)
        sent: list[bytes] = []

        async def send(payload: dict[str, Any]) -> None:
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            data = sse_event(payload)
            # recorded before the bytes leave (see `raw_responses`)
            sent.append(data)
            self.raw_responses[index] = b"".join(sent)
            await response.write(data)

        start = dict(message, content=[], stop_reason=None)
        start["usage"] = {"input_tokens": input_tokens, "output_tokens": 1}
        await send({"type": "message_start", "message": start})
        gated = False
        for position, block in enumerate(content):
            if block["type"] == "text":
                await send(
                    {
                        "type": "content_block_start",
                        "index": position,
                        "content_block": {"type": "text", "text": ""},
                    }
                )
                if position == 0:
                    await send({"type": "ping"})
                for piece in split_text(block["text"], self.stream_chunks):
                    delta = {"type": "text_delta", "text": piece}
                    await send({"type": "content_block_delta", "index": position, "delta": delta})
                    if not gated and self.stream_gate is not None:
                        gated = True
                        gate = self.stream_gate
                        await asyncio.get_running_loop().run_in_executor(None, gate.wait, 30)
            else:
                started = {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": {},
                }
                await send(
                    {"type": "content_block_start", "index": position, "content_block": started}
                )
                if position == 0:
                    await send({"type": "ping"})
                for fragment in split_json(json.dumps(block["input"])):
                    delta = {"type": "input_json_delta", "partial_json": fragment}
                    await send({"type": "content_block_delta", "index": position, "delta": delta})
            await send({"type": "content_block_stop", "index": position})
        await send(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            }
        )
        await send({"type": "message_stop"})
        await response.write_eof()
        return response


_BETA_FIELDS = {"context_management": "context-management-2025-06-27"}


def _check_betas(body: dict[str, Any], betas: str) -> None:
    sent = {beta.strip() for beta in betas.split(",")}
    for name, beta in _BETA_FIELDS.items():
        if name in body and beta not in sent:
            raise _BadRequest(f"{name}: Extra inputs are not permitted")


def _pick_tool(names: list[Any], wanted: str | None) -> Any:
    return wanted if wanted is not None and wanted in names else names[0]


def _tool_choice_type(tool_choice: Any) -> Any:
    return tool_choice.get("type") if isinstance(tool_choice, dict) else None


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
