"""Properties of the Gemini generateContent codec.

- canonical -> Gemini -> canonical is the identity on what Gemini can express (requests,
  responses, stream events), with the stream bytes split anywhere;
- Gemini streams translated to OpenAI and Anthropic are valid there and keep the answer;
- OpenAI and Anthropic streams translated to Gemini keep the answer.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs.base import StreamDecoder
from aigateway.adapters.codecs.gemini import FORMAT, GeminiCodec
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Part,
    SignatureDelta,
    StopReason,
    StreamEvent,
    TextDelta,
    TextPart,
    Thinking,
    ThinkingDelta,
    ThinkingPart,
    Tool,
    ToolArgumentsDelta,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    Usage,
)
from tests.property.test_codecs import (
    ANTHROPIC,
    OPENAI_DEFAULT,
    base64_data,
    canonical_streams,
    counts,
    cut_points,
    ids,
    json_objects,
    maybe_counts,
    media_types,
    nonempty,
    schemas,
    texts,
    urls,
)
from tests.unit.codecs.accumulator import accumulate
from tests.unit.codecs.wire import (
    assert_valid_anthropic_stream,
    assert_valid_openai_stream,
    decode_stream,
    encode_stream,
    split,
)

GEMINI = GeminiCodec()


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# --- Gemini-expressible canonical requests -----------------------------------------------------

_texts = nonempty.map(TextPart)
_images = st.builds(
    lambda media, data: ImagePart(media_type=media, data=data), media_types, base64_data
) | st.builds(lambda media, url: ImagePart(media_type=media, url=url), _optional(media_types), urls)
_calls = st.builds(lambda i, n, a: ToolCallPart(id=i, name=n, arguments=a), ids, ids, json_objects)
_signed = st.builds(lambda s: ThinkingPart(signature=s), nonempty)  # rides on the next part
_thoughts = st.builds(lambda t, s: ThinkingPart(text=t, signature=s), nonempty, _optional(nonempty))
_result_content = st.sampled_from([()]) | st.tuples(_texts)
_results = st.builds(
    lambda i, content, error: ToolResultPart(tool_call_id=i, content=content, is_error=error),
    ids,
    _result_content,
    st.booleans(),
)
_user_parts = st.lists(_texts | _images | _results, min_size=1, max_size=3)
_assistant_items = st.lists(
    _texts | _calls | _thoughts | st.tuples(_signed, _texts | _calls), min_size=1, max_size=3
)
_tools = st.lists(
    st.builds(
        lambda n, d, p: Tool(name=n, description=d, parameters=p),
        ids,
        _optional(texts),
        _optional(schemas),
    ),
    max_size=2,
)
_tool_choices = _optional(
    st.sampled_from([ToolChoice("auto"), ToolChoice("none"), ToolChoice("required")])
    | ids.map(lambda name: ToolChoice("tool", name))
)
_thinking = _optional(
    st.integers(1, 64000).map(lambda budget: Thinking(budget_tokens=budget))
    | st.sampled_from([Thinking(enabled=False), Thinking(enabled=True)])
)
_extras: st.SearchStrategy[dict[str, dict[str, Any]]] = st.sampled_from(
    [
        {},
        {
            FORMAT: {
                "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}]
            }
        },
        {FORMAT: {"generationConfig": {"candidateCount": 1, "seed": 7}}},
    ]
)
_turns = st.integers(1, 4)


@st.composite
def gemini_requests(draw: st.DrawFn) -> ChatRequest:
    """Alternating turns from a user turn, without empty texts or turns (Gemini drops them)."""
    messages: list[Message] = []
    for turn in range(draw(_turns)):
        role: Literal["user", "assistant"] = "user" if turn % 2 == 0 else "assistant"
        if role == "user":
            messages.append(Message(role, tuple(draw(_user_parts))))
            continue
        parts: list[Part] = []
        for item in draw(_assistant_items):
            parts += item if isinstance(item, tuple) else (item,)
        messages.append(Message(role, tuple(parts)))
    tools = draw(_tools)
    return ChatRequest(
        model=draw(ids),
        messages=tuple(messages),
        system=tuple(draw(st.lists(texts.map(TextPart), max_size=2))),
        tools=tuple(tools),
        tool_choice=draw(_tool_choices) if tools else None,
        max_tokens=draw(_optional(st.integers(1, 10**6))),
        temperature=draw(_optional(st.floats(0, 2))),
        top_p=draw(_optional(st.floats(0, 1))),
        top_k=draw(_optional(st.integers(1, 500))),
        stop=tuple(draw(st.lists(nonempty, max_size=3))),
        thinking=draw(_thinking),
        response_format=draw(_optional(st.just({"type": "json_object"}))),
        extras=draw(_extras),
    )


@given(gemini_requests())
def test_gemini_request_round_trip_is_identity(request: ChatRequest) -> None:
    assert GEMINI.decode_request(GEMINI.encode_request(request), model=request.model) == request


# --- responses ---------------------------------------------------------------------------------

_answer_items = st.lists(
    _texts | _calls | _thoughts | st.tuples(_signed, _texts | _calls), max_size=4
)
_stops = st.sampled_from(
    [StopReason.END_TURN, StopReason.MAX_TOKENS, StopReason.CONTENT_FILTER, StopReason.TOOL_USE]
)


@st.composite
def gemini_usage(draw: st.DrawFn) -> Usage:
    """What Gemini reports: no cache writes, reasoning within the output."""
    output = draw(counts)
    reasoning = draw(maybe_counts)
    return Usage(
        input_tokens=draw(counts),
        output_tokens=output,
        cache_read_tokens=draw(maybe_counts),
        reasoning_tokens=None if reasoning is None else min(reasoning, output),
    )


def _stop_for(stop: StopReason, has_calls: bool) -> StopReason:
    if stop is StopReason.END_TURN and has_calls:
        return StopReason.TOOL_USE
    if stop is StopReason.TOOL_USE and not has_calls:
        return StopReason.END_TURN
    return stop


@st.composite
def gemini_responses(draw: st.DrawFn) -> ChatResponse:
    content: list[Part] = []
    for item in draw(_answer_items):
        content += item if isinstance(item, tuple) else (item,)
    has_calls = any(isinstance(part, ToolCallPart) for part in content)
    return ChatResponse(
        id=draw(texts),
        model=draw(texts),
        content=tuple(content),
        stop_reason=_stop_for(draw(_stops), has_calls),
        usage=draw(gemini_usage()),
    )


@given(gemini_responses())
def test_gemini_response_round_trip_is_identity(response: ChatResponse) -> None:
    assert GEMINI.decode_response(GEMINI.encode_response(response)) == response


# --- streams -----------------------------------------------------------------------------------

_block_kinds = st.lists(st.sampled_from(["text", "thinking", "tool", "signed"]), max_size=5)
_deltas = st.lists(nonempty, min_size=1, max_size=3)


@st.composite
def gemini_streams(draw: st.DrawFn) -> list[StreamEvent]:
    """Canonical events as the Gemini decoder produces them: no two text (or thinking) blocks
    in a row, a signature-only thinking block just before a text or tool block."""
    kinds: list[str] = []
    for kind in draw(_block_kinds):
        last = kinds[-1] if kinds else None
        if kind == last and kind in ("text", "thinking"):
            continue
        if last == "signed" and kind in ("thinking", "signed"):
            continue
        kinds.append(kind)
    if kinds and kinds[-1] == "signed":
        kinds.append("text")
    events: list[StreamEvent] = [MessageStart(id=draw(texts), model=draw(texts))]
    for index, kind in enumerate(kinds):
        if kind == "text":
            events.append(BlockStart(index=index, kind=BlockKind.TEXT))
            events += [TextDelta(index, text) for text in draw(_deltas)]
        elif kind == "thinking":
            events.append(BlockStart(index=index, kind=BlockKind.THINKING))
            events += [ThinkingDelta(index, text) for text in draw(_deltas)]
            signature = draw(_optional(nonempty))
            if signature is not None:
                events.append(SignatureDelta(index, signature))
        elif kind == "signed":
            events.append(BlockStart(index=index, kind=BlockKind.THINKING))
            events.append(SignatureDelta(index, draw(nonempty)))
        else:
            events.append(
                BlockStart(index=index, kind=BlockKind.TOOL_USE, id=draw(ids), name=draw(ids))
            )
            arguments = msgspec.json.encode(draw(json_objects)).decode()
            events.append(ToolArgumentsDelta(index, arguments))
        events.append(BlockStop(index))
    stop = _stop_for(draw(_stops), "tool" in kinds)
    events.append(MessageDelta(stop_reason=stop, usage=draw(gemini_usage())))
    events.append(MessageStop())
    return events


def _decode_all(decoder: StreamDecoder, chunks: list[bytes]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.finish()


@given(gemini_streams(), cut_points)
def test_gemini_stream_round_trip_is_identity(events: list[StreamEvent], cuts: list[int]) -> None:
    data = encode_stream(GEMINI.stream_encoder(), events)
    assert b"[DONE]" not in data
    assert _decode_all(GEMINI.stream_decoder(), split(data, cuts)) == events


def _content(response: ChatResponse) -> list[tuple[Any, ...]]:
    """Texts and reasoning (adjacent pieces merged, blanks dropped) and tool calls."""
    out: list[tuple[Any, ...]] = []
    for part in response.content:
        if isinstance(part, ToolCallPart):
            out.append(("call", part.id, part.name, part.arguments))
            continue
        if isinstance(part, TextPart):
            kind, text = "text", part.text
        elif isinstance(part, ThinkingPart) and not part.redacted:
            kind, text = "thinking", part.text
        else:
            continue
        if not text:
            continue
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


@given(gemini_streams(), cut_points, st.booleans())
def test_gemini_stream_translated_to_openai(
    events: list[StreamEvent], cuts: list[int], include_usage: bool
) -> None:
    upstream = encode_stream(GEMINI.stream_encoder(), events)
    translator = StreamTranslator(
        GEMINI.stream_decoder(),
        OPENAI_DEFAULT.stream_encoder(include_usage=include_usage, created=1),
    )
    out = b"".join(translator.feed(piece) for piece in split(upstream, cuts)) + translator.finish()
    assert_valid_openai_stream(out, include_usage=include_usage)
    expected = accumulate(events)
    got = decode_stream(OPENAI_DEFAULT.stream_decoder(), [out])
    assert _content(got) == _content(expected)
    assert got.stop_reason == expected.stop_reason
    if include_usage:
        assert got.usage.prompt_tokens == expected.usage.prompt_tokens
        assert got.usage.output_tokens == expected.usage.output_tokens


@given(gemini_streams(), cut_points)
def test_gemini_stream_translated_to_anthropic(events: list[StreamEvent], cuts: list[int]) -> None:
    upstream = encode_stream(GEMINI.stream_encoder(), events)
    translator = StreamTranslator(GEMINI.stream_decoder(), ANTHROPIC.stream_encoder())
    out = b"".join(translator.feed(piece) for piece in split(upstream, cuts)) + translator.finish()
    assert_valid_anthropic_stream(out)
    expected = accumulate(events)
    got = decode_stream(ANTHROPIC.stream_decoder(), [out])
    assert _content(got) == _content(expected)
    assert got.stop_reason == expected.stop_reason
    assert got.usage.input_tokens == expected.usage.input_tokens
    assert got.usage.output_tokens == expected.usage.output_tokens


_VIA_GEMINI = {
    StopReason.STOP_SEQUENCE: StopReason.END_TURN,
    StopReason.PAUSE_TURN: StopReason.END_TURN,
}


@given(canonical_streams(source="anthropic") | canonical_streams(source="openai"), cut_points)
def test_other_streams_translated_to_gemini_keep_the_answer(
    events: list[StreamEvent], cuts: list[int]
) -> None:
    translator = StreamTranslator(ANTHROPIC.stream_decoder(), GEMINI.stream_encoder())
    upstream = encode_stream(ANTHROPIC.stream_encoder(), events)
    out = b"".join(translator.feed(piece) for piece in split(upstream, cuts)) + translator.finish()
    assert translator.done and translator.error is None
    expected = accumulate(events)
    got = decode_stream(GEMINI.stream_decoder(), [out])
    assert _content(got) == _content(expected)
    stop = expected.stop_reason
    assert stop is not None
    has_calls = any(isinstance(p, ToolCallPart) for p in got.content)
    assert got.stop_reason == _stop_for(_VIA_GEMINI.get(stop, stop), has_calls)
