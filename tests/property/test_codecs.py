"""Properties of the wire codecs (OpenAI Chat Completions, Anthropic Messages) and the SSE parser.

- canonical -> wire -> canonical is the identity on what each format can express
  (requests, responses, stream events);
- OpenAI -> Anthropic -> OpenAI keeps texts, images, tool calls, tool results, stop reasons;
- SSE bytes split anywhere give the same events;
- translated streams are valid in the target format and accumulate to the same answer.
"""

from __future__ import annotations

import base64
import itertools
import re
import string
from typing import Any, Literal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.anthropic_messages import DEFAULT_MAX_TOKENS
from aigateway.adapters.codecs.anthropic_messages.wire import tool_id
from aigateway.adapters.codecs.base import StreamDecoder
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.codecs.sse import SSEEvent, SSEParser
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
    OpaquePart,
    Part,
    Ping,
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
from tests.unit.codecs.accumulator import accumulate
from tests.unit.codecs.wire import (
    assert_valid_anthropic_stream,
    assert_valid_openai_stream,
    decode_stream,
    encode_stream,
    request_view,
    response_view,
    split,
)

# Crossings and stream translations run on the codecs as production builds them; the identity
# round trips of OpenAI also use a codec with every option on, to show what it can carry.
PRODUCTION = {codec.format: codec for codec in CODECS}
OPENAI_DEFAULT = PRODUCTION[openai_chat.FORMAT]
ANTHROPIC = PRODUCTION[anthropic_messages.FORMAT]
OPENAI = OpenAIChatCodec(send_top_k=True, reasoning_history=True)

# --- atoms -------------------------------------------------------------------------------------

SAFE = string.ascii_letters + string.digits + "_-"
ids = st.text(SAFE, min_size=1, max_size=10)
texts = st.text(max_size=12)
nonempty = st.text(min_size=1, max_size=12)
json_keys = st.sampled_from(["a", "b", "location", "é", "", "x y"]) | st.text(max_size=4)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(json_keys, inner, max_size=2),
    max_leaves=3,
)
json_objects = st.dictionaries(json_keys, json_values, max_size=2)
schemas = st.sampled_from(
    [
        {"type": "object", "properties": {}},
        {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}},
    ]
)
media_types = st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"])
base64_data = st.binary(max_size=9).map(lambda raw: base64.b64encode(raw).decode())
urls = ids.map(lambda name: f"https://example.com/{name}.png")
cache_hints = st.none() | st.just({"type": "ephemeral"})
counts = st.integers(0, 10**6)
maybe_counts = st.none() | counts


def _images(detail: bool) -> st.SearchStrategy[ImagePart]:
    details = st.none() | st.sampled_from(["low", "high", "auto"]) if detail else st.none()
    return st.builds(
        lambda media, data, d: ImagePart(media_type=media, data=data, detail=d),
        media_types,
        base64_data,
        details,
    ) | st.builds(lambda url, d: ImagePart(url=url, detail=d), urls, details)


def _tool_calls(
    arguments: st.SearchStrategy[Any], invalid: bool
) -> st.SearchStrategy[ToolCallPart]:
    valid = st.builds(lambda i, n, a: ToolCallPart(id=i, name=n, arguments=a), ids, ids, arguments)
    if not invalid:
        return valid
    # a string that is not JSON (a model's broken output): kept raw, arguments {}
    broken = st.builds(
        lambda i, n, raw: ToolCallPart(id=i, name=n, raw_arguments="~" + raw), ids, ids, texts
    )
    return valid | broken


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# Strategies are built once, here: building them inside a composite costs a validation per draw.

# --- OpenAI-expressible canonical requests -----------------------------------------------------

_text_parts = texts.map(TextPart)
_openai_user_parts = st.lists(_text_parts | _images(True), max_size=2)
_openai_assistant_texts = st.lists(_text_parts, max_size=2)
_openai_calls = {
    portable: st.lists(
        _tool_calls(json_objects if portable else json_values, not portable), max_size=2
    )
    for portable in (False, True)
}
# tool messages are text: "" is no content, one text is a string, more are text parts
_openai_result_content = (
    st.sampled_from([()]) | st.tuples(nonempty.map(TextPart)) | st.tuples(_text_parts, _text_parts)
)
_openai_tool_results = st.lists(
    st.builds(
        lambda i, content: ToolResultPart(tool_call_id=i, content=content),
        ids,
        _openai_result_content,
    ),
    min_size=1,
    max_size=2,
)
_openai_tools = st.lists(
    st.builds(
        lambda name, description, parameters, strict: Tool(
            name=name, description=description, parameters=parameters, strict=strict
        ),
        ids,
        _optional(texts),
        _optional(schemas),
        _optional(st.booleans()),
    ),
    max_size=2,
)
_tool_choices = _optional(
    st.sampled_from([ToolChoice("auto"), ToolChoice("none"), ToolChoice("required")])
    | ids.map(lambda name: ToolChoice("tool", name))
)
_efforts = _optional(st.sampled_from(["none", "minimal", "low", "medium", "high"]))
_openai_opaque = st.sampled_from(
    [
        (),
        (OpaquePart(format="openai_chat", kind="field", name="n", data=3),),
        (OpaquePart(format="openai_chat", kind="field", name="logprobs", data=True),),
        (
            OpaquePart(
                format="openai_chat",
                kind="field",
                name="audio",
                data={"voice": "alloy", "format": "wav"},
            ),
        ),
    ]
)
_openai_extras = st.sampled_from([{}, {"openai_chat": {"seed": 7, "presence_penalty": 0.5}}])
_response_formats = _optional(st.just({"type": "json_object"}))
_message_kinds = st.sampled_from(["user", "assistant", "tools"])
_turns = st.integers(1, 4)
_max_tokens = _optional(st.integers(1, 10**6))
_temperatures = _optional(st.floats(0, 2))
_top_ps = _optional(st.floats(0, 1))
_top_ks = _optional(st.integers(1, 500))
_stops = st.lists(nonempty, max_size=3).map(tuple)
_system = st.lists(_text_parts, max_size=2).map(tuple)
_users = _optional(texts)
_nonempty_thinking = nonempty.map(lambda text: ThinkingPart(text=text))
_maybe_bools = _optional(st.booleans())


@st.composite
def openai_requests(draw: st.DrawFn, *, portable: bool = False) -> ChatRequest:
    """Requests OpenAI can express; `portable` keeps to what also crosses Anthropic and back
    (object arguments, no thinking history, no OpenAI-only fields)."""
    messages: list[Message] = []
    after_tools = False
    for _ in range(draw(_turns)):
        kind = draw(_message_kinds)
        if kind == "tools" and after_tools:
            kind = "user"  # consecutive tool messages are one canonical turn
        after_tools = kind == "tools"
        if kind == "user":
            messages.append(Message("user", tuple(draw(_openai_user_parts))))
        elif kind == "assistant":
            content: list[Part] = []
            if not portable and draw(st.booleans()):
                content.append(draw(_nonempty_thinking))
            content += draw(_openai_assistant_texts)
            content += draw(_openai_calls[portable])
            messages.append(Message("assistant", tuple(content)))
        else:
            messages.append(Message("user", tuple(draw(_openai_tool_results))))
    stream = draw(st.booleans())
    effort = draw(_efforts)
    return ChatRequest(
        model=draw(ids),
        messages=tuple(messages),
        system=draw(_system),
        tools=tuple(draw(_openai_tools)),
        tool_choice=draw(_tool_choices),
        parallel_tool_calls=draw(_maybe_bools),
        max_tokens=draw(_max_tokens),
        temperature=draw(_temperatures),
        top_p=draw(_top_ps),
        top_k=draw(_top_ks),
        stop=draw(_stops),
        stream=stream,
        include_usage=stream and draw(st.booleans()),
        thinking=None if effort is None else Thinking(enabled=effort != "none", effort=effort),
        user=draw(_users),
        response_format=None if portable else draw(_response_formats),
        opaque=() if portable else draw(_openai_opaque),
        extras={} if portable else draw(_openai_extras),
    )


# --- Anthropic-expressible canonical requests --------------------------------------------------

ANTHROPIC_FORMAT = "anthropic_messages"
_documents = st.builds(
    lambda data: OpaquePart(
        format=ANTHROPIC_FORMAT,
        kind="block",
        name="document",
        data={
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": data},
        },
    ),
    base64_data,
)
_anthropic_texts = st.builds(TextPart, nonempty, cache_hints)
_anthropic_images = st.builds(
    lambda media, data, cache: ImagePart(media_type=media, data=data, cache_control=cache),
    media_types,
    base64_data,
    cache_hints,
) | st.builds(lambda url: ImagePart(url=url), urls)
_anthropic_tool_results = st.builds(
    lambda i, content, error, cache: ToolResultPart(
        tool_call_id=i, content=tuple(content), is_error=error, cache_control=cache
    ),
    ids,
    st.lists(_anthropic_texts | _anthropic_images | _documents, max_size=2),
    st.booleans(),
    cache_hints,
)
_anthropic_parts: dict[str, st.SearchStrategy[tuple[Part, ...]]] = {
    "user": st.lists(
        _anthropic_texts | _anthropic_images | _anthropic_tool_results | _documents, max_size=2
    ).map(tuple),
    "assistant": st.lists(
        _anthropic_texts
        | st.builds(
            lambda i, n, a, c: ToolCallPart(id=i, name=n, arguments=a, cache_control=c),
            ids,
            ids,
            json_objects,
            cache_hints,
        )
        | st.builds(lambda t, s: ThinkingPart(text=t, signature=s), texts, nonempty)
        | st.builds(lambda d: ThinkingPart(redacted_data=d), nonempty),
        max_size=2,
    ).map(tuple),
}
_anthropic_tools = st.lists(
    st.builds(
        lambda n, d, p, c: Tool(name=n, description=d, parameters=p, cache_control=c),
        ids,
        _optional(texts),
        schemas,
        cache_hints,
    )
    | st.just(
        OpaquePart(
            format=ANTHROPIC_FORMAT,
            kind="tool",
            name="web_search_20250305",
            data={"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            droppable=True,  # a server tool: other formats go without it
        )
    ),
    max_size=2,
)
_thinking = _optional(
    st.integers(1024, 64000).map(lambda budget: Thinking(budget_tokens=budget))
    | st.sampled_from([Thinking(enabled=False), Thinking(enabled=True)])
)
_anthropic_opaque = st.sampled_from(
    [
        (),
        (
            OpaquePart(
                format=ANTHROPIC_FORMAT,
                kind="field",
                name="mcp_servers",
                data=[{"type": "url", "url": "https://mcp.example", "name": "x"}],
            ),
        ),
    ]
)
_anthropic_extras = st.sampled_from([{}, {ANTHROPIC_FORMAT: {"service_tier": "auto"}}])
_anthropic_system = st.lists(_anthropic_texts, max_size=2).map(tuple)


@st.composite
def anthropic_requests(draw: st.DrawFn) -> ChatRequest:
    messages = []
    for _ in range(draw(_turns)):
        role: Literal["user", "assistant"] = "user" if draw(st.booleans()) else "assistant"
        messages.append(Message(role, draw(_anthropic_parts[role])))
    tools = draw(_anthropic_tools)
    tool_choice = draw(_tool_choices) if tools else None  # no tools: no tool_choice
    parallel = None
    if tool_choice is not None and tool_choice.mode != "none":
        parallel = draw(_maybe_bools)
    stream = draw(st.booleans())
    return ChatRequest(
        model=draw(ids),
        messages=tuple(messages),
        system=draw(_anthropic_system),
        tools=tuple(tools),
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        max_tokens=draw(st.integers(1, 10**6)),
        temperature=draw(_top_ps),
        top_p=draw(_top_ps),
        top_k=draw(_top_ks),
        stop=draw(_stops),
        stream=stream,
        include_usage=stream,
        thinking=draw(_thinking),
        user=draw(_users),
        opaque=draw(_anthropic_opaque),
        extras=draw(_anthropic_extras),
    )


# --- responses ---------------------------------------------------------------------------------

_openai_response_calls = {
    portable: st.lists(
        _tool_calls(json_objects if portable else json_values, not portable), max_size=3
    )
    for portable in (False, True)
}
_openai_stops = st.sampled_from(
    [
        None,
        StopReason.END_TURN,
        StopReason.MAX_TOKENS,
        StopReason.TOOL_USE,
        StopReason.CONTENT_FILTER,
    ]
)
_openai_usage = st.builds(
    lambda i, o, c, r: Usage(
        input_tokens=i, output_tokens=o, cache_read_tokens=c, reasoning_tokens=r
    ),
    counts,
    counts,
    maybe_counts,
    maybe_counts,
)


@st.composite
def openai_responses(draw: st.DrawFn, *, portable: bool = False) -> ChatResponse:
    content: list[Part] = []
    if draw(st.booleans()):
        content.append(draw(_nonempty_thinking))
    if draw(st.booleans()):
        content.append(TextPart(draw(nonempty)))
    calls = draw(_openai_response_calls[portable])
    content += calls
    stop = draw(_openai_stops)
    if calls and stop is StopReason.END_TURN:
        stop = StopReason.TOOL_USE  # what a stop after tool calls means
    return ChatResponse(
        id=draw(texts),
        model=draw(texts),
        content=tuple(content),
        stop_reason=stop,
        usage=draw(_openai_usage),
        created=draw(st.integers(0, 2**31)),
    )


_anthropic_blocks = st.lists(
    _text_parts
    | st.builds(lambda i, n, a: ToolCallPart(id=i, name=n, arguments=a), ids, ids, json_objects)
    | st.builds(lambda t, s: ThinkingPart(text=t, signature=s), texts, texts)
    | st.builds(lambda d: ThinkingPart(redacted_data=d), nonempty)
    | st.builds(
        lambda i: OpaquePart(
            format=ANTHROPIC_FORMAT,
            kind="block",
            name="server_tool_use",
            data={"type": "server_tool_use", "id": i, "name": "web_search", "input": {}},
        ),
        ids,
    ),
    max_size=4,
)
_anthropic_stops = _optional(st.sampled_from([s for s in StopReason if s is not StopReason.OTHER]))
_anthropic_usage = st.builds(
    lambda i, o, r, c: Usage(
        input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_creation_tokens=c
    ),
    counts,
    counts,
    maybe_counts,
    maybe_counts,
)


@st.composite
def anthropic_responses(draw: st.DrawFn) -> ChatResponse:
    return ChatResponse(
        id=draw(texts),
        model=draw(texts),
        content=tuple(draw(_anthropic_blocks)),
        stop_reason=draw(_anthropic_stops),
        stop_sequence=draw(_users),
        usage=draw(_anthropic_usage),
    )


# --- identity on the expressible subset ---------------------------------------------------------


@given(openai_requests())
def test_openai_request_round_trip_is_identity(request: ChatRequest) -> None:
    assert OPENAI.decode_request(OPENAI.encode_request(request)) == request


@given(anthropic_requests())
def test_anthropic_request_round_trip_is_identity(request: ChatRequest) -> None:
    assert ANTHROPIC.decode_request(ANTHROPIC.encode_request(request)) == request


@given(openai_responses())
def test_openai_response_round_trip_is_identity(response: ChatResponse) -> None:
    assert OPENAI.decode_response(OPENAI.encode_response(response)) == response


@given(anthropic_responses())
def test_anthropic_response_round_trip_is_identity(response: ChatResponse) -> None:
    assert ANTHROPIC.decode_response(ANTHROPIC.encode_response(response)) == response


def _with_unknown_field(body: bytes) -> bytes:
    document = msgspec.json.decode(body)
    document["x_unknown_field"] = [1, {"a": None}]
    return msgspec.json.encode(document)


def _plus_unknown_field(request: ChatRequest, format_: str) -> ChatRequest:
    extras = {**request.extras.get(format_, {}), "x_unknown_field": [1, {"a": None}]}
    return msgspec.structs.replace(request, extras={**request.extras, format_: extras})


@given(openai_requests())
def test_openai_unknown_field_changes_only_the_extras(request: ChatRequest) -> None:
    """A body of the common shape and the same body with a field the codec does not know
    (decoded by the general path) give the same request, but for that field."""
    body = OPENAI.encode_request(request)
    decoded = OPENAI.decode_request(body)
    assert OPENAI.decode_request(_with_unknown_field(body)) == _plus_unknown_field(
        decoded, openai_chat.FORMAT
    )


@given(anthropic_requests())
def test_anthropic_unknown_field_changes_only_the_extras(request: ChatRequest) -> None:
    body = ANTHROPIC.encode_request(request)
    decoded = ANTHROPIC.decode_request(body)
    assert ANTHROPIC.decode_request(_with_unknown_field(body)) == _plus_unknown_field(
        decoded, anthropic_messages.FORMAT
    )


@given(st.text(max_size=12) | st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True))
def test_anthropic_tool_ids_keep_their_length_and_valid_characters(value: str) -> None:
    """Every character Anthropic refuses becomes `_`; the others stay; valid ids pass as they
    are; no id is empty."""
    sent = tool_id(value)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", sent)
    if value:
        assert len(sent) == len(value)
        assert all(a == b or b == "_" for a, b in zip(value, sent, strict=True))
        assert (sent == value) == bool(re.fullmatch(r"[A-Za-z0-9_-]+", value))


# --- crossing formats ---------------------------------------------------------------------------


@given(openai_requests(portable=True))
def test_openai_anthropic_openai_keeps_the_conversation(request: ChatRequest) -> None:
    first = OPENAI_DEFAULT.decode_request(OPENAI_DEFAULT.encode_request(request))
    via_anthropic = ANTHROPIC.decode_request(ANTHROPIC.encode_request(first))
    back = OPENAI_DEFAULT.decode_request(OPENAI_DEFAULT.encode_request(via_anthropic))
    view, back_view = request_view(first), request_view(back)
    if first.max_tokens is None:  # required by Anthropic: the codec fills in its default
        assert back.max_tokens is not None and back.max_tokens >= DEFAULT_MAX_TOKENS
        view["max_tokens"] = back.max_tokens
    del view["tool_choice"], back_view["tool_choice"]  # compared below
    assert back_view == view
    if first.tools:
        assert back.tool_choice == first.tool_choice or (
            first.tool_choice is None and first.parallel_tool_calls is False
        )
        if first.tool_choice is None or first.tool_choice.mode != "none":
            # parallel calls are allowed unless disabled (Anthropic only says "disable")
            assert (back.parallel_tool_calls is False) == (first.parallel_tool_calls is False)


@given(openai_responses(portable=True))
def test_openai_anthropic_openai_keeps_the_answer(response: ChatResponse) -> None:
    via_anthropic = ANTHROPIC.decode_response(ANTHROPIC.encode_response(response))
    back = OPENAI_DEFAULT.decode_response(OPENAI_DEFAULT.encode_response(via_anthropic))
    assert response_view(back) == response_view(response)


# --- SSE ----------------------------------------------------------------------------------------

sse_values = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=10
)
_newlines = st.sampled_from(["\n", "\r\n", "\r"])
_event_counts = st.integers(0, 5)
_event_names = _optional(st.text(SAFE, min_size=1, max_size=8))
_data_lines = st.lists(sse_values, min_size=1, max_size=3)


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    newline = draw(_newlines)
    lines: list[str] = []
    expected: list[SSEEvent] = []
    for _ in range(draw(_event_counts)):
        if draw(st.booleans()):
            lines.append(":" + draw(sse_values))  # comment / keep-alive
        name = draw(_event_names)
        if name is not None:
            lines.append("event: " + name)
        data = draw(_data_lines)
        lines += ["data: " + value for value in data]
        lines.append("")
        expected.append(SSEEvent("\n".join(data).encode(), name or ""))
    body = "".join(line + newline for line in lines).encode()
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    return body, expected


@given(sse_streams(), st.lists(st.integers(0, 1000), max_size=8))
def test_sse_split_anywhere_gives_the_same_events(
    stream: tuple[bytes, list[SSEEvent]], cuts: list[int]
) -> None:
    body, expected = stream
    parser = SSEParser()
    events = [event for piece in split(body, cuts) for event in parser.feed(piece)]
    assert events + parser.finish() == expected


# --- streams ------------------------------------------------------------------------------------


_fragment_cuts = st.lists(st.integers(1, 60), max_size=3)


@st.composite
def argument_fragments(draw: st.DrawFn) -> list[str]:
    """A JSON object's text cut into fragments, as upstreams stream tool arguments."""
    raw = msgspec.json.encode(draw(json_objects)).decode()
    points = [0, *sorted(c for c in draw(_fragment_cuts) if c < len(raw)), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(points) if raw[a:b]]


_fragments = argument_fragments()
_block_counts = st.integers(0, 4)
_block_kinds = {
    "openai": st.sampled_from(["text", "thinking", "tool"]),
    "anthropic": st.sampled_from(["text", "thinking", "tool", "redacted"]),
}
_deltas = {
    "openai": st.lists(nonempty, min_size=1, max_size=3),
    "anthropic": st.lists(texts, min_size=1, max_size=3),
}
_signatures = _optional(nonempty)
_start_usage = st.builds(
    lambda i, o, r, c: Usage(
        input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_creation_tokens=c
    ),
    counts,
    st.integers(0, 5),
    maybe_counts,
    maybe_counts,
)
_stream_stops = {
    "openai": st.sampled_from(
        [StopReason.END_TURN, StopReason.MAX_TOKENS, StopReason.TOOL_USE, StopReason.CONTENT_FILTER]
    ),
    "anthropic": st.sampled_from([s for s in StopReason if s is not StopReason.OTHER]),
}


@st.composite
def canonical_streams(draw: st.DrawFn, *, source: str) -> list[StreamEvent]:
    """A valid canonical event sequence as the `source` format's decoder would produce it."""
    openai = source == "openai"
    blocks: list[tuple[str, list[str], Any]] = []  # (kind, deltas, signature/id+name/data)
    for _ in range(draw(_block_counts)):
        kind = draw(_block_kinds[source])
        if kind in ("text", "thinking"):
            deltas = draw(_deltas[source])
            if openai and blocks and blocks[-1][0] == kind:  # OpenAI has no block boundaries
                blocks[-1][1].extend(deltas)
                continue
            signature = None if openai or kind == "text" else draw(_signatures)
            blocks.append((kind, deltas, signature))
        elif kind == "tool":
            blocks.append((kind, draw(_fragments), (draw(ids), draw(ids))))
        else:
            blocks.append((kind, [], draw(nonempty)))
    start_usage = None if openai else draw(_start_usage)
    events: list[StreamEvent] = [MessageStart(id=draw(ids), model=draw(ids), usage=start_usage)]
    for index, (kind, deltas, extra) in enumerate(blocks):
        if not openai and draw(st.booleans()):
            events.append(Ping())
        if kind == "text":
            events.append(BlockStart(index=index, kind=BlockKind.TEXT))
            events += [TextDelta(index, text) for text in deltas]
        elif kind == "thinking":
            events.append(BlockStart(index=index, kind=BlockKind.THINKING))
            events += [ThinkingDelta(index, text) for text in deltas]
            if extra is not None:
                events.append(SignatureDelta(index, extra))
        elif kind == "tool":
            call_id, name = extra
            events.append(BlockStart(index=index, kind=BlockKind.TOOL_USE, id=call_id, name=name))
            events += [ToolArgumentsDelta(index, fragment) for fragment in deltas]
        else:
            events.append(BlockStart(index=index, kind=BlockKind.REDACTED_THINKING, data=extra))
        events.append(BlockStop(index))
    has_tools = any(kind == "tool" for kind, _, _ in blocks)
    if openai:
        stop = draw(_stream_stops[source])
        if has_tools and stop is StopReason.END_TURN:
            stop = StopReason.TOOL_USE
        events.append(MessageDelta(stop_reason=stop, usage=draw(_openai_usage)))
    else:
        assert start_usage is not None
        stop = draw(_stream_stops[source])
        stop_sequence = draw(texts) if stop is StopReason.STOP_SEQUENCE else None
        # cumulative usage: a cache figure reported at the start stays reported
        usage = Usage(
            input_tokens=draw(counts),
            output_tokens=draw(counts),
            cache_read_tokens=None if start_usage.cache_read_tokens is None else draw(counts),
            cache_creation_tokens=(
                None if start_usage.cache_creation_tokens is None else draw(counts)
            ),
        )
        events.append(MessageDelta(stop_reason=stop, stop_sequence=stop_sequence, usage=usage))
    events.append(MessageStop())
    return events


cut_points = st.lists(st.integers(0, 3000), max_size=10)


def _decode_all(decoder: StreamDecoder, chunks: list[bytes]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.finish()


@given(canonical_streams(source="openai"), cut_points)
def test_openai_stream_round_trip_is_identity(events: list[StreamEvent], cuts: list[int]) -> None:
    data = encode_stream(OPENAI.stream_encoder(include_usage=True, created=1), events)
    assert_valid_openai_stream(data, include_usage=True)
    assert _decode_all(OPENAI.stream_decoder(), split(data, cuts)) == events


@given(canonical_streams(source="anthropic"), cut_points)
def test_anthropic_stream_round_trip_is_identity(
    events: list[StreamEvent], cuts: list[int]
) -> None:
    data = encode_stream(ANTHROPIC.stream_encoder(), events)
    assert_valid_anthropic_stream(data)
    assert _decode_all(ANTHROPIC.stream_decoder(), split(data, cuts)) == events


def _content(response: ChatResponse) -> list[tuple[Any, ...]]:
    """What survives any crossing: texts and reasoning (adjacent pieces merged, blanks and
    redacted reasoning dropped) and tool calls."""
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


@given(canonical_streams(source="openai"), cut_points, cut_points, st.booleans())
def test_openai_stream_translated_to_anthropic(
    events: list[StreamEvent], cuts: list[int], cuts_out: list[int], include_usage: bool
) -> None:
    upstream = encode_stream(
        OPENAI_DEFAULT.stream_encoder(include_usage=include_usage, created=1), events
    )
    translator = StreamTranslator(OPENAI_DEFAULT.stream_decoder(), ANTHROPIC.stream_encoder())
    out = b"".join(translator.feed(piece) for piece in split(upstream, cuts)) + translator.finish()
    assert_valid_anthropic_stream(out)
    expected = accumulate(events)
    got = decode_stream(ANTHROPIC.stream_decoder(), split(out, cuts_out))
    assert _content(got) == _content(expected)
    assert got.stop_reason == expected.stop_reason
    if include_usage:
        assert (got.usage.input_tokens, got.usage.output_tokens, got.usage.cache_read_tokens) == (
            expected.usage.input_tokens,
            expected.usage.output_tokens,
            expected.usage.cache_read_tokens,
        )


_VIA_OPENAI = {
    StopReason.STOP_SEQUENCE: StopReason.END_TURN,
    StopReason.PAUSE_TURN: StopReason.END_TURN,
}


@given(canonical_streams(source="anthropic"), cut_points, cut_points, st.booleans())
def test_anthropic_stream_translated_to_openai(
    events: list[StreamEvent], cuts: list[int], cuts_out: list[int], include_usage: bool
) -> None:
    upstream = encode_stream(ANTHROPIC.stream_encoder(), events)
    translator = StreamTranslator(
        ANTHROPIC.stream_decoder(),
        OPENAI_DEFAULT.stream_encoder(include_usage=include_usage, created=5),
    )
    out = b"".join(translator.feed(piece) for piece in split(upstream, cuts)) + translator.finish()
    assert_valid_openai_stream(out, include_usage=include_usage)
    expected = accumulate(events)
    got = decode_stream(OPENAI_DEFAULT.stream_decoder(), split(out, cuts_out))
    assert _content(got) == _content(expected)
    stop = expected.stop_reason
    assert stop is not None
    stop = _VIA_OPENAI.get(stop, stop)
    if stop is StopReason.END_TURN and any(isinstance(p, ToolCallPart) for p in got.content):
        stop = StopReason.TOOL_USE
    assert got.stop_reason == stop
    if include_usage:
        assert got.usage.prompt_tokens == expected.usage.prompt_tokens
        assert got.usage.output_tokens == expected.usage.output_tokens
