"""The exchanges on production code: an attempt decided on the raw upstream answer, then
relayed in the client's format."""

from __future__ import annotations

import asyncio
import json
from itertools import cycle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.upstream.exchange import FIRST_EVENT_LIMIT
from aigateway.application.ports.upstream import Answer, Refusal, Usage
from aigateway.domain.llm import WireFormat
from tests.unit.chat_world import OK_BODY, STREAM, ScriptedResponse
from tests.unit.exchange_world import (
    ANTHROPIC,
    CODEC,
    ERROR_BODY,
    ERROR_EVENT,
    OK,
    OPENAI,
    PAIRS,
    STREAMS,
    drain,
    exchange_for,
    sse_data,
)

# ----- refusals: decided on the raw upstream answer ---------------------------------------


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_error_status_is_a_refusal_shown_in_the_clients_format(
    client: WireFormat, upstream: WireFormat, stream: bool
) -> None:
    raw = ERROR_BODY[upstream]
    response = ScriptedResponse(429, raw, [raw], {"retry-after": "3"})
    exchange = await exchange_for(client, upstream, response, stream=stream)
    refusal = await (exchange.open_stream() if stream else exchange.answer())
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.body, refusal.summary) == (429, raw, "slow down")
    assert refusal.headers == {"retry-after": "3"}
    assert refusal.client_body is not None
    if client == upstream:
        assert refusal.client_body == raw  # passthrough: the upstream's own bytes
    else:  # translated: the upstream's error told in the client's format
        shown = json.loads(refusal.client_body)
        assert shown["error"]["message"] == "slow down"
        assert (shown.get("type") == "error") is (client == ANTHROPIC)
        assert CODEC[client].decode_error(429, refusal.client_body).message == "slow down"


async def test_an_undecodable_error_body_still_reaches_a_translated_client_as_an_error() -> None:
    exchange = await exchange_for(OPENAI, ANTHROPIC, ScriptedResponse(503, b"<html>down", [], {}))
    refusal = await exchange.answer()
    assert isinstance(refusal, Refusal) and refusal.client_body is not None
    assert json.loads(refusal.client_body)["error"]["message"] == "<html>down"


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
async def test_an_error_object_inside_a_2xx_is_a_refusal_with_nothing_to_show(
    client: WireFormat, upstream: WireFormat
) -> None:
    raw = ERROR_BODY[upstream]
    exchange = await exchange_for(client, upstream, ScriptedResponse(200, raw, [], {}))
    refusal = await exchange.answer()
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.body, refusal.client_body) == (200, raw, None)
    assert exchange.usage is None


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
async def test_a_stream_whose_first_event_is_an_error_is_a_refusal(
    client: WireFormat, upstream: WireFormat
) -> None:
    chunks = [ERROR_EVENT[upstream], *STREAMS[upstream]]
    exchange = await exchange_for(
        client, upstream, ScriptedResponse(200, b"", chunks, {}), stream=True
    )
    refusal = await exchange.open_stream()
    assert isinstance(refusal, Refusal)
    assert refusal.client_body is None
    message = "Overloaded" if upstream == ANTHROPIC else "overloaded"
    assert refusal.summary == f"stream began with an error: {message}"
    assert b"error" in refusal.body


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
@pytest.mark.parametrize(
    "chunks", [[], [b"data: [DONE]\n\n"], [b": ping\n\n", b"data: [DONE]\n\n"]]
)
async def test_a_stream_without_a_first_event_is_an_empty_stream_refusal(
    client: WireFormat, upstream: WireFormat, chunks: list[bytes]
) -> None:
    exchange = await exchange_for(
        client, upstream, ScriptedResponse(200, b"", chunks, {}), stream=True
    )
    refusal = await exchange.open_stream()
    assert isinstance(refusal, Refusal)
    assert (refusal.summary, refusal.client_body) == ("empty stream", None)


# ----- relaying ---------------------------------------------------------------------------


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    """`data` in consecutive chunks of the given sizes (cycled)."""
    chunks: list[bytes] = []
    at = 0
    for size in cycle(sizes):
        if at >= len(data):
            return chunks
        chunks.append(data[at : at + size])
        at += size
    raise AssertionError("unreachable")


tiny_chunk_sizes = st.lists(st.integers(min_value=1, max_value=32), min_size=1, max_size=40)


@given(
    fmt=st.sampled_from([OPENAI, ANTHROPIC]),
    sizes=tiny_chunk_sizes,
)
def test_a_first_event_split_across_tiny_chunks_is_held_then_relayed_byte_identical(
    fmt: WireFormat, sizes: list[int]
) -> None:
    whole = b"".join(STREAMS[fmt])
    first_event = STREAMS[fmt][0]
    chunks = split(whole, sizes)

    async def run() -> tuple[bytes, bytes, Usage | None]:
        exchange = await exchange_for(fmt, fmt, ScriptedResponse(200, b"", chunks, {}), stream=True)
        relay = await exchange.open_stream()
        assert not isinstance(relay, Refusal)
        head = await anext(relay)
        return head, head + await drain(relay), exchange.usage

    head, relayed, usage = asyncio.run(run())
    assert head.startswith(first_event)  # nothing relayed before the first event was whole
    assert relayed == whole
    assert usage == (Usage(5, 6) if fmt == OPENAI else Usage(7, 8))


@given(
    fmt=st.sampled_from([OPENAI, ANTHROPIC]),
    sizes=tiny_chunk_sizes,
)
def test_a_split_error_event_is_still_a_refusal(fmt: WireFormat, sizes: list[int]) -> None:
    chunks = split(ERROR_EVENT[fmt] + b"".join(STREAMS[fmt]), sizes)

    async def run() -> object:
        exchange = await exchange_for(fmt, fmt, ScriptedResponse(200, b"", chunks, {}), stream=True)
        return await exchange.open_stream()

    assert isinstance(asyncio.run(run()), Refusal)


async def test_a_first_event_longer_than_the_limit_is_relayed_without_a_decision() -> None:
    text = "x" * (2 * FIRST_EVENT_LIMIT)
    first = (
        b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
        b'"delta":{"content":"%s"}}]}\n\n' % text.encode()
    )
    whole = first + b"".join(STREAM)
    chunks = [whole[i : i + 4096] for i in range(0, len(whole), 4096)]
    response = ScriptedResponse(200, b"", chunks, {})
    exchange = await exchange_for(OPENAI, OPENAI, response, stream=True)
    relay = await exchange.open_stream()
    assert not isinstance(relay, Refusal)
    head = await anext(relay)
    assert FIRST_EVENT_LIMIT < len(head) < len(first)  # let go before the event was complete
    assert head + await drain(relay) == whole
    assert exchange.stream_error is None


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
async def test_a_stream_breaking_midway_ends_with_an_error_event_in_the_clients_format(
    client: WireFormat, upstream: WireFormat
) -> None:
    response = ScriptedResponse(200, b"", STREAMS[upstream][:2], {})
    response.fail_mid_stream = True
    exchange = await exchange_for(client, upstream, response, stream=True)
    relay = await exchange.open_stream()
    assert not isinstance(relay, Refusal)
    out = await drain(relay)
    assert exchange.stream_error is not None and "connection reset" in exchange.stream_error
    events = [e for e in out.rstrip(b"\n").split(b"\n\n") if e != b"data: [DONE]"]
    last = events[-1]
    if client == ANTHROPIC:
        assert last.startswith(b"event: error\n")
        shown = json.loads(last.split(b"data: ", 1)[1])
        assert shown["type"] == "error" and "connection reset" in shown["error"]["message"]
    else:
        assert last.startswith(b"data: ")
        assert "connection reset" in json.loads(last[6:])["error"]["message"]
    if client == upstream:
        assert out.startswith(b"".join(STREAMS[upstream][:2]))  # what came is relayed as is


@pytest.mark.parametrize(("client", "upstream"), [(OPENAI, ANTHROPIC), (ANTHROPIC, OPENAI)])
@pytest.mark.parametrize("raw", [b"not json at all", b"[" * 100_000, b'{"id": 1}'])
async def test_an_unreadable_translated_answer_is_a_502_in_the_clients_format(
    client: WireFormat, upstream: WireFormat, raw: bytes
) -> None:
    exchange = await exchange_for(client, upstream, ScriptedResponse(200, raw, [], {}))
    answer = await exchange.answer()
    assert isinstance(answer, Answer)
    assert answer.status == 502 and answer.error is not None
    assert answer.error.startswith("bad upstream answer")
    assert json.loads(answer.body)["error"]["message"] == answer.error
    assert answer.usage is None


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
async def test_a_success_reaches_the_client_in_its_format_with_usage(
    client: WireFormat, upstream: WireFormat
) -> None:
    exchange = await exchange_for(client, upstream, ScriptedResponse(200, OK[upstream], [], {}))
    answer = await exchange.answer()
    assert isinstance(answer, Answer) and answer.status == 200 and answer.error is None
    usage = Usage(3, 4) if upstream == OPENAI else Usage(7, 8)
    assert answer.usage == usage and exchange.usage == usage
    if client == upstream:
        assert answer.body == OK[upstream]
    else:
        decoded = CODEC[client].decode_response(answer.body)
        assert decoded.model == "m"  # the name the client asked for


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
async def test_stream_usage_is_read_on_every_path(client: WireFormat, upstream: WireFormat) -> None:
    response = ScriptedResponse(200, b"", list(STREAMS[upstream]), {})
    exchange = await exchange_for(client, upstream, response, stream=True)
    relay = await exchange.open_stream()
    assert not isinstance(relay, Refusal)
    out = await drain(relay)
    assert exchange.usage == (Usage(5, 6) if upstream == OPENAI else Usage(7, 8))
    assert exchange.stream_error is None
    if client == upstream:
        assert out == b"".join(STREAMS[upstream])
    else:
        assert sse_data(out)  # a stream in the client's own format


async def test_close_releases_the_upstream_response() -> None:
    response = ScriptedResponse(200, OK_BODY, [], {})
    exchange = await exchange_for(OPENAI, OPENAI, response)
    await exchange.close()
    assert response.closed
