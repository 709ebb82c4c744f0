"""Properties of the Cloud Code envelope taken off for a Gemini client (`cloud_code.unwrap`).

For any Cloud Code stream (text pieces, an optional call, usage on the finish chunk or on one
of its own, events framed with LF or CRLF), cut at any byte boundaries:
- the client gets the same bytes however the stream was cut;
- every event but the last is the upstream's `response` bytes, untouched; the last carries the
  finishReason and the usage; the text is the upstream's text;
- a whole answer assembled from the stream has the joined text, the call and the usage.
A stream that breaks off before its finishReason, or hits an error event, ends with one error
event after what came before it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.upstream.cloud_code.unwrap import StreamUnwrap, assemble

texts = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6)
USAGE = {"promptTokenCount": 5, "candidatesTokenCount": 7}
CALL = {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "c2ln"}


def chunk(parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    if "finishReason" in extra:
        candidate["finishReason"] = extra.pop("finishReason")
    return {"candidates": [candidate], "modelVersion": "gemini-3-flash", **extra}


def upstream(
    pieces: list[str], *, call: bool, usage_apart: bool, crlf: bool
) -> tuple[list[bytes], bytes]:
    """The `response` bytes of each chunk, and the Cloud Code stream that carries them."""
    bodies = [chunk([{"text": piece}]) for piece in pieces]
    if call:
        bodies.append(chunk([CALL]))
    bodies[-1]["candidates"][0]["finishReason"] = "STOP"
    if usage_apart:
        bodies.append({"candidates": [], "usageMetadata": USAGE, "modelVersion": "gemini-3-flash"})
    else:
        bodies[-1]["usageMetadata"] = USAGE
    inners = [json.dumps(body).encode() for body in bodies]
    end = b"\r\n\r\n" if crlf else b"\n\n"
    stream = b"".join(b'data: {"response": ' + i + b', "traceId": "t"}' + end for i in inners)
    return inners, stream


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({min(p, len(data)) for p in points})
    pieces, start = [], 0
    for edge in edges:
        pieces.append(data[start:edge])
        start = edge
    return [*pieces, data[start:]]


def relayed(pieces: list[bytes]) -> tuple[bytes, StreamUnwrap]:
    unwrap = StreamUnwrap()
    out = b"".join(unwrap.feed(piece) for piece in pieces) + unwrap.finish()
    return out, unwrap


def event_data(out: bytes) -> list[bytes]:
    assert out.endswith(b"\n\n")
    return [event.removeprefix(b"data: ") for event in out[:-2].split(b"\n\n")]


@given(
    pieces=texts,
    call=st.booleans(),
    usage_apart=st.booleans(),
    crlf=st.booleans(),
    points=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_a_stream_cut_anywhere_is_relayed_as_the_upstreams_answers(
    pieces: list[str], call: bool, usage_apart: bool, crlf: bool, points: list[int]
) -> None:
    inners, stream = upstream(pieces, call=call, usage_apart=usage_apart, crlf=crlf)
    whole, _ = relayed([stream])
    out, unwrap = relayed(cut(stream, points))
    assert out == whole
    data = event_data(out)
    finish = len(pieces) + call - 1  # the index of the chunk with the finishReason
    assert data[:-1] == inners[:finish]
    last = json.loads(data[-1])
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"] == USAGE
    sent = [json.loads(d)["candidates"][0]["content"]["parts"] for d in data]
    assert "".join(p["text"] for parts in sent for p in parts if "text" in p) == "".join(pieces)
    assert ([CALL] in sent) == call
    assert unwrap.error is None and unwrap.usage is not None
    assert (unwrap.usage.prompt_tokens, unwrap.usage.completion_tokens) == (5, 7)


@given(
    pieces=texts,
    call=st.booleans(),
    usage_apart=st.booleans(),
    crlf=st.booleans(),
)
def test_a_whole_answer_is_assembled_from_the_stream(
    pieces: list[str], call: bool, usage_apart: bool, crlf: bool
) -> None:
    _, stream = upstream(pieces, call=call, usage_apart=usage_apart, crlf=crlf)
    assembled = assemble(stream)
    answer = json.loads(assembled.body)
    (candidate,) = answer["candidates"]
    expected: list[dict[str, Any]] = [{"text": "".join(pieces)}, *([CALL] if call else [])]
    assert candidate == {
        "content": {"role": "model", "parts": expected},
        "finishReason": "STOP",
    }
    assert answer["usageMetadata"] == USAGE and assembled.text == "".join(pieces)


@given(
    pieces=texts,
    keep=st.integers(min_value=1, max_value=6),
    error=st.booleans(),
    points=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_a_stream_that_breaks_off_or_fails_ends_with_one_error_event(
    pieces: list[str], keep: int, error: bool, points: list[int]
) -> None:
    """The first `keep` content chunks arrive, then an error event or the end of the stream
    (no finishReason came)."""
    inners = [json.dumps(chunk([{"text": piece}])).encode() for piece in pieces][:keep]
    failure = b'{"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}'
    sent = [*inners, failure, inners[0]] if error else inners
    stream = b"".join(b'data: {"response": ' + i + b"}\n\n" for i in sent)
    out, unwrap = relayed(cut(stream, points))
    data = event_data(out)
    assert data[:-1] == inners
    assert json.loads(data[-1])["error"]["code"] in ((503,) if error else (500,))
    assert unwrap.error is not None
