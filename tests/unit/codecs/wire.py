"""Helpers for codec tests: fixtures, SSE parsing, stream validators, portable views."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from aigateway.adapters.codecs.anthropic_messages import AnthropicMessagesCodec
from aigateway.adapters.codecs.base import StreamDecoder, StreamEncoder, WireCodec
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.codecs.sse import SSEParser
from aigateway.domain.llm import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    OpaquePart,
    Part,
    StreamEvent,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)
from tests.unit.codecs.accumulator import StreamAccumulator

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wire"

OPENAI = OpenAIChatCodec()
ANTHROPIC = AnthropicMessagesCodec()
CODECS: tuple[WireCodec, ...] = (OPENAI, ANTHROPIC)  # mypy: both satisfy the protocol


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture(name))


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = [0, *sorted(min(max(c, 0), len(data)) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def sse_frames(data: bytes) -> list[tuple[str, Any]]:
    """(event name, parsed JSON or "[DONE]") for every event of an SSE body."""
    parser = SSEParser()
    events = parser.feed(data) + parser.finish()
    return [
        (event.event, "[DONE]" if event.is_done else json.loads(event.data)) for event in events
    ]


def encode_stream(encoder: StreamEncoder, events: Iterable[StreamEvent]) -> bytes:
    """The client stream for `events`, one `encode` per event as the translator calls it."""
    return b"".join([encoder.encode(event) for event in events])


def decode_stream(decoder: StreamDecoder, chunks: Sequence[bytes]) -> ChatResponse:
    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.feed_all(decoder.feed(chunk))
    accumulator.feed_all(decoder.finish())
    assert accumulator.error is None, accumulator.error
    return accumulator.response()


_ANTHROPIC_DELTAS = {
    "text": {"text_delta"},
    "tool_use": {"input_json_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "redacted_thinking": set(),
}
_ANTHROPIC_STOPS = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"}


def assert_valid_anthropic_stream(data: bytes) -> list[tuple[str, Any]]:
    """Anthropic's order: message_start, then per block start/delta*/stop (indices 0, 1, ...),
    then one message_delta with usage, then message_stop (or an error event, last)."""
    frames = sse_frames(data)
    assert frames, "empty stream"
    started = delta_seen = ended = False
    open_index: int | None = None
    kinds: list[str] = []
    for name, payload in frames:
        assert not ended, f"{name} after the end of the stream"
        assert isinstance(payload, dict) and payload["type"] == name, (name, payload)
        if name == "error":
            assert set(payload["error"]) == {"type", "message"}
            ended = True
            continue
        if name == "message_start":
            assert not started, "two message_start events"
            started = True
            message = payload["message"]
            assert message["type"] == "message" and message["role"] == "assistant"
            assert message["content"] == [] and "input_tokens" in message["usage"]
            continue
        assert started, f"{name} before message_start"
        if name == "ping":
            continue
        if name == "content_block_start":
            assert open_index is None and not delta_seen, "block opened while another is open"
            assert payload["index"] == len(kinds), "block indices must count from 0"
            block = payload["content_block"]
            kinds.append(block["type"])
            if block["type"] == "tool_use":
                assert block["id"] and block["input"] == {}
            open_index = payload["index"]
        elif name == "content_block_delta":
            assert payload["index"] == open_index, "delta for a block that is not open"
            assert payload["delta"]["type"] in _ANTHROPIC_DELTAS.get(kinds[-1], set())
        elif name == "content_block_stop":
            assert payload["index"] == open_index
            open_index = None
        elif name == "message_delta":
            assert open_index is None and not delta_seen
            assert payload["delta"]["stop_reason"] in _ANTHROPIC_STOPS
            assert "output_tokens" in payload["usage"]
            delta_seen = True
        elif name == "message_stop":
            assert delta_seen, "message_stop without message_delta"
            ended = True
        else:
            raise AssertionError(f"unknown event {name}")
    assert ended, "stream did not end with message_stop or error"
    return frames


_FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter"}


def assert_valid_openai_stream(data: bytes, *, include_usage: bool) -> list[dict[str, Any]]:
    """OpenAI's order: one id/created/model for all chunks, first delta with the role, tool
    calls numbered 0, 1, ... each opened by a delta with id/type/name and arguments "", one
    final chunk with an empty delta and finish_reason, the usage chunk when asked, [DONE]."""
    frames = sse_frames(data)
    assert frames and frames[-1] == ("", "[DONE]"), "stream must end with [DONE]"
    chunks = [payload for _, payload in frames[:-1]]
    assert all(isinstance(chunk, dict) for chunk in chunks), "[DONE] before the end"
    if chunks and "error" in chunks[-1]:
        assert set(chunks[-1]["error"]) == {"message", "type", "param", "code"}
        chunks = chunks[:-1]
        if not chunks:
            return []
        finish_required = False
    else:
        finish_required = True
    assert len({(c["id"], c["created"], c["model"]) for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    finished = usage_seen = False
    tools: list[int] = []
    for chunk in chunks:
        assert not usage_seen, "a chunk after the usage chunk"
        if include_usage:
            assert "usage" in chunk
        if chunk["choices"] == []:
            assert include_usage and finished, "usage chunk out of place"
            usage = chunk["usage"]
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
            usage_seen = True
            continue
        assert not finished, "a delta after the finish chunk"
        if include_usage:
            assert chunk["usage"] is None
        (choice,) = chunk["choices"]
        assert choice["index"] == 0
        delta = choice["delta"]
        if choice["finish_reason"] is not None:
            assert delta == {} and choice["finish_reason"] in _FINISH_REASONS
            finished = True
        for call in delta.get("tool_calls", ()):
            if call["index"] not in tools:
                assert call["index"] == len(tools), "tool-call indices must count from 0"
                assert call["id"] and call["type"] == "function"
                assert isinstance(call["function"]["name"], str)
                assert call["function"]["arguments"] == ""
                tools.append(call["index"])
            else:
                assert call["index"] == tools[-1], "fragment for a tool call already finished"
                assert set(call) == {"index", "function"}
                assert set(call["function"]) == {"arguments"}
    if finish_required:
        assert finished, "no finish chunk"
        assert usage_seen == include_usage
    return chunks


# --- portable views: what must survive every crossing ---------------------------------------


def part_view(part: Part) -> tuple[Any, ...]:
    if isinstance(part, TextPart):
        return ("text", part.text)
    if isinstance(part, ImagePart):
        return ("image", part.media_type, part.data, part.url)
    if isinstance(part, ToolCallPart):
        return ("call", part.id, part.name, part.arguments)
    if isinstance(part, ToolResultPart):
        content = tuple(part_view(p) for p in part.content)
        return ("result", part.tool_call_id, content, part.is_error)
    if isinstance(part, ThinkingPart):
        return ("thinking", part.text, part.signature or None, part.redacted_data)
    return ("opaque", part.format, part.name)


NO_PARAMETERS = {"type": "object", "properties": {}}  # what no schema means (Anthropic's fill)


def tool_view(tool: Tool | OpaquePart) -> tuple[Any, ...]:
    if isinstance(tool, OpaquePart):
        return ("opaque", tool.format, tool.name)
    parameters = tool.parameters if tool.parameters is not None else NO_PARAMETERS
    return ("tool", tool.name, tool.description, parameters)


def request_view(request: ChatRequest) -> dict[str, Any]:
    """What must survive a crossing: the conversation, the tools with their schemas, the
    sampling parameters and the tool choice."""
    return {
        "system": [p.text for p in request.system],
        "messages": [
            (m.role, [part_view(p) for p in m.content if not _is_blank(p)])
            for m in request.messages
        ],
        "tools": [tool_view(t) for t in request.tools],
        "tool_choice": request.tool_choice,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": request.stop,
        "stream": request.stream,
        "user": request.user,
    }


def response_view(response: ChatResponse) -> dict[str, Any]:
    return {
        "content": [part_view(p) for p in response.content if not _is_blank(p)],
        "stop_reason": response.stop_reason,
        "prompt_tokens": response.usage.prompt_tokens,
        "output_tokens": response.usage.output_tokens,
    }


def _is_blank(part: Part) -> bool:
    return isinstance(part, TextPart) and not part.text
