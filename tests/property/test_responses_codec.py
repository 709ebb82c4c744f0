"""Properties of the OpenAI Responses codec.

- canonical -> Responses body -> canonical is the identity on what a Responses request carries
  (turns, tools, hosted items in their places, sampling, reasoning effort, text format);
- canonical answer events -> typed event stream -> canonical events keep the answer (texts,
  thinking with its signature, redacted thinking, tool calls with their arguments), the stream
  valid for a Responses client, its bytes split anywhere;
- whole answers: canonical -> response object -> canonical is the identity.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs.openai_responses import FORMAT
from aigateway.adapters.codecs.openai_responses.request_in import hosted_item
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
    OpaquePart,
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
from aigateway.entrypoints.ioc.providers import CODECS
from tests.property.test_codecs import (
    _tool_calls,
    base64_data,
    canonical_streams,
    counts,
    cut_points,
    ids,
    json_objects,
    json_values,
    media_types,
    nonempty,
    schemas,
    texts,
    urls,
)
from tests.unit.codecs.accumulator import accumulate
from tests.unit.codecs.responses_checks import assert_valid_responses_stream
from tests.unit.codecs.wire import encode_stream, split

RESPONSES = {codec.format: codec for codec in CODECS}[FORMAT]


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# --- Responses-expressible canonical requests -------------------------------------------------

_details = st.sampled_from(["low", "high", "auto"])  # written as "auto" when absent
_images = st.builds(
    lambda media, data, d: ImagePart(media_type=media, data=data, detail=d),
    media_types,
    base64_data,
    _details,
) | st.builds(lambda url, d: ImagePart(url=url, detail=d), urls, _details)
_files = ids.map(
    lambda name: OpaquePart(
        format=FORMAT, kind="part", name="input_file", data={"type": "input_file", "file_id": name}
    )
)
_texts = texts.map(TextPart)
_user_parts = st.lists(_texts | _images | _files, min_size=1, max_size=3)
# a tool output of text is one string; with an image it is a list of parts
_result_content = _texts.map(lambda t: (t,)) | st.tuples(_texts, _images)
_results = st.builds(
    lambda i, content: ToolResultPart(tool_call_id=i, content=content), ids, _result_content
)
_assistant_parts = st.lists(_texts | _tool_calls(json_values, True), min_size=1, max_size=3)
_tools = st.lists(
    st.builds(
        lambda n, d, p, s: Tool(name=n, description=d, parameters=p, strict=s),
        ids,
        _optional(texts),
        schemas,
        st.booleans(),  # a function without `strict` is written strict: false
    )
    | st.just(
        OpaquePart(
            format=FORMAT,
            kind="tool",
            name="web_search",
            data={"type": "web_search"},
            droppable=True,
        )
    ),
    max_size=3,
)
_tool_choices = _optional(
    st.sampled_from([ToolChoice("auto"), ToolChoice("none"), ToolChoice("required")])
    | ids.map(lambda name: ToolChoice("tool", name))
)
_thinking = _optional(
    st.just(Thinking(enabled=False))
    | st.sampled_from(["minimal", "low", "medium", "high", "xhigh"]).map(
        lambda effort: Thinking(effort=effort)
    )
)
_formats: st.SearchStrategy[dict[str, Any] | None] = _optional(
    st.just({"type": "json_object"})
    | st.builds(
        lambda name, schema, strict: {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        },
        ids,
        schemas,
        st.booleans(),
    )
)
_extras: st.SearchStrategy[dict[str, dict[str, Any]]] = st.sampled_from(
    [
        {},
        {FORMAT: {"prompt_cache_key": "thread-1", "include": ["reasoning.encrypted_content"]}},
        {FORMAT: {"text": {"verbosity": "low"}, "client_metadata": {"x-codex-window-id": "w"}}},
    ]
)
_hosted: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"type": "web_search_call", "status": "completed", "action": {"type": "search"}},
        {"type": "compaction", "encrypted_content": "compacted"},
    ]
)


@st.composite
def responses_requests(draw: st.DrawFn) -> ChatRequest:
    """Alternating turns (consecutive items of one side are one turn), hosted items anywhere
    between parts, at most one system text (`instructions` is one string)."""
    first: Literal["user", "assistant"] = draw(st.sampled_from(["user", "assistant"]))
    messages: list[Message] = []
    for turn in range(draw(st.integers(1, 4))):
        role = first if turn % 2 == 0 else ("assistant" if first == "user" else "user")
        if role == "assistant":
            messages.append(Message(role, tuple(draw(_assistant_parts))))
        elif draw(st.booleans()):
            messages.append(Message(role, tuple(draw(st.lists(_results, min_size=1, max_size=2)))))
        else:
            messages.append(Message(role, tuple(draw(_user_parts))))
    total = sum(len(m.content) for m in messages)
    positions = sorted(draw(st.lists(st.integers(0, total), max_size=3)))
    tools = draw(_tools)
    return ChatRequest(
        model=draw(ids),
        messages=tuple(messages),
        system=tuple(draw(st.lists(_texts, max_size=1))),
        tools=tuple(tools),
        tool_choice=draw(_tool_choices) if tools else None,
        parallel_tool_calls=draw(_optional(st.booleans())),
        max_tokens=draw(_optional(st.integers(16, 10**6))),  # less is raised to 16
        temperature=draw(_optional(st.floats(0, 2))),
        top_p=draw(_optional(st.floats(0, 1))),
        stream=(stream := draw(st.booleans())),
        include_usage=stream,
        thinking=draw(_thinking),
        user=draw(_optional(nonempty)),
        response_format=draw(_formats),
        opaque=tuple(hosted_item(draw(_hosted), position) for position in positions),
        extras=draw(_extras),
    )


@given(responses_requests())
def test_a_request_round_trip_keeps_what_responses_carries(request: ChatRequest) -> None:
    assert RESPONSES.decode_request(RESPONSES.encode_request(request)) == request


# --- streams ----------------------------------------------------------------------------------


def _view(response: ChatResponse) -> list[tuple[Any, ...]]:
    """The answer a client sees: texts, thinking with its signature, redacted thinking, calls
    (blocks with nothing in them left out)."""
    out: list[tuple[Any, ...]] = []
    for part in response.content:
        if isinstance(part, TextPart) and part.text:
            out.append(("text", part.text))
        elif isinstance(part, ThinkingPart) and part.redacted:
            out.append(("redacted", part.redacted_data))
        elif isinstance(part, ThinkingPart) and (part.text or part.signature):
            out.append(("thinking", part.text, part.signature))
        elif isinstance(part, ToolCallPart):
            out.append(("call", part.id, part.name, part.arguments, part.raw_arguments))
    return out


def _stop_for(stop: StopReason | None, has_calls: bool) -> StopReason:
    """The stop a Responses stream can say: its status, and whether it called a tool."""
    if stop in (StopReason.MAX_TOKENS, StopReason.CONTENT_FILTER):
        return stop
    return StopReason.TOOL_USE if has_calls else StopReason.END_TURN


_kinds = st.lists(st.sampled_from(["text", "thinking", "signed", "redacted", "tool"]), max_size=5)
_deltas = st.lists(texts, min_size=1, max_size=3)
_stops = st.sampled_from(list(StopReason))
_usage = st.builds(
    lambda i, o, c, r: Usage(
        input_tokens=i, output_tokens=o, cache_read_tokens=c, reasoning_tokens=r
    ),
    counts,
    counts,
    _optional(st.integers(1, 10**6)),
    _optional(st.integers(1, 10**6)),
)


@st.composite
def answer_streams(draw: st.DrawFn) -> list[StreamEvent]:
    """Canonical answer events: texts, thinking (signed or not, also with no text), redacted
    thinking and tool calls in any order, any stop reason."""
    events: list[StreamEvent] = [MessageStart(id=draw(ids), model=draw(ids))]
    kinds = draw(_kinds)
    for index, kind in enumerate(kinds):
        if kind == "text":
            events.append(BlockStart(index=index, kind=BlockKind.TEXT))
            events += [TextDelta(index, text) for text in draw(_deltas)]
        elif kind in ("thinking", "signed"):
            events.append(BlockStart(index=index, kind=BlockKind.THINKING))
            events += [ThinkingDelta(index, text) for text in draw(_deltas)]
            if kind == "signed":
                events.append(SignatureDelta(index, draw(nonempty)))
        elif kind == "redacted":
            events.append(
                BlockStart(index=index, kind=BlockKind.REDACTED_THINKING, data=draw(nonempty))
            )
        else:
            events.append(
                BlockStart(index=index, kind=BlockKind.TOOL_USE, id=draw(ids), name=draw(ids))
            )
            arguments = msgspec.json.encode(draw(json_objects)).decode()
            cuts = sorted(draw(st.lists(st.integers(1, max(1, len(arguments) - 1)), max_size=2)))
            points = [0, *cuts, len(arguments)]
            events += [
                ToolArgumentsDelta(index, arguments[a:b])
                for a, b in itertools.pairwise(points)
                if a < b
            ]
        events.append(BlockStop(index))
    events += [MessageDelta(stop_reason=draw(_stops), usage=draw(_usage)), MessageStop()]
    return events


def _round_trip(events: list[StreamEvent], cuts: list[int]) -> ChatResponse:
    data = encode_stream(RESPONSES.stream_encoder(model="client-model"), events)
    assert_valid_responses_stream(data)
    decoder = RESPONSES.stream_decoder()
    decoded: list[StreamEvent] = []
    for chunk in split(data, cuts):
        decoded += decoder.feed(chunk)
    decoded += decoder.finish()
    return accumulate(decoded)


@given(
    answer_streams() | canonical_streams(source="anthropic") | canonical_streams(source="openai"),
    cut_points,
)
def test_a_stream_round_trip_keeps_the_answer(events: list[StreamEvent], cuts: list[int]) -> None:
    expected = accumulate(events)
    got = _round_trip(events, cuts)
    assert _view(got) == _view(expected)
    has_calls = any(isinstance(part, ToolCallPart) for part in expected.content)
    assert got.stop_reason is _stop_for(expected.stop_reason, has_calls)
    assert got.model == "client-model"
    assert got.usage.prompt_tokens == expected.usage.prompt_tokens
    assert got.usage.output_tokens == expected.usage.output_tokens


# --- whole answers ----------------------------------------------------------------------------

_answer_parts = st.lists(
    nonempty.map(TextPart)
    | _tool_calls(json_values, True)
    | st.builds(lambda t, s: ThinkingPart(text=t, signature=s), texts, _optional(nonempty)).filter(
        lambda part: bool(part.text or part.signature)
    )
    | nonempty.map(lambda data: ThinkingPart(redacted_data=data)),
    max_size=5,
)


@st.composite
def whole_answers(draw: st.DrawFn) -> ChatResponse:
    content: list[Part] = []
    for part in draw(_answer_parts):
        if isinstance(part, TextPart) and content and isinstance(content[-1], TextPart):
            continue  # consecutive texts are one message item
        content.append(part)
    has_calls = any(isinstance(part, ToolCallPart) for part in content)
    return ChatResponse(
        id="resp_" + draw(ids),
        model=draw(texts),
        content=tuple(content),
        stop_reason=_stop_for(draw(_stops), has_calls),
        usage=draw(_usage),
        created=draw(st.integers(1, 2**31)),  # 0: unknown, stamped now
    )


@given(whole_answers())
def test_a_whole_answer_round_trip_is_identity(response: ChatResponse) -> None:
    assert RESPONSES.decode_response(RESPONSES.encode_response(response)) == response
