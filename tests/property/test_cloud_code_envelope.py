"""Properties of the Cloud Code envelope and of the in-process signature store.

- `wrap` round-trips: the envelope decodes to the given project, model and request id, and its
  `request` to exactly the inner request, for any strings and any JSON inner object;
- unwrapping answers: an enveloped answer (whole, or split into enveloped SSE lines cut
  anywhere) gives the client the same answer as the bare one;
- the session id is a function of the first user text, in the `-<int63>` form;
- the in-process signature store returns what it was given within its bounds, and never more entries
  than its cap.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.upstream.cloud_code.envelope import session_id, wrap
from aigateway.application.ports.signatures import MAX_ID_CHARS

GEMINI = GeminiCodec()
OPENAI = OpenAIChatCodec()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
inner_requests = st.dictionaries(st.text(max_size=10), json_values, max_size=6)
texts = st.text(max_size=40)


@given(inner=inner_requests, project=texts, model=texts, request_id=texts)
def test_wrap_round_trips(inner: dict[str, Any], project: str, model: str, request_id: str) -> None:
    inner_bytes = json.dumps(inner).encode()
    envelope = json.loads(wrap(inner_bytes, project=project, model=model, request_id=request_id))
    assert envelope == {
        "project": project,
        "model": model,
        "userAgent": "antigravity",
        "requestType": "agent",
        "requestId": request_id,
        "request": inner,
    }


def answer(texts_: list[str], finish: str) -> dict[str, Any]:
    parts = [{"text": t} for t in texts_]
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": len(texts_)},
        "modelVersion": "gemini-3-flash",
        "responseId": "r",
    }


replies = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5)
finishes = st.sampled_from(["STOP", "MAX_TOKENS"])


@given(reply=replies, finish=finishes, trace=st.text(max_size=10))
def test_an_enveloped_answer_reads_as_the_bare_one(
    reply: list[str], finish: str, trace: str
) -> None:
    bare = answer(reply, finish)
    wrapped = {"response": bare, "traceId": trace}
    decode = GEMINI.decode_response
    assert decode(json.dumps(wrapped).encode()) == decode(json.dumps(bare).encode())


def client_stream(lines: list[dict[str, Any]], cuts: list[int]) -> list[Any]:
    """The OpenAI client's chunks (less ids and timestamps) for these upstream lines, cut
    at `cuts`."""
    raw = b"".join(b"data: " + json.dumps(line).encode() + b"\r\n\r\n" for line in lines)
    points = sorted({min(c, len(raw)) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    translator = StreamTranslator(GEMINI.stream_decoder(), OPENAI.stream_encoder(model="m"))
    out = b"".join(translator.feed(piece) for piece in pieces) + translator.finish()
    chunks = [json.loads(e[6:]) for e in out.split(b"\n\n") if e.startswith(b"data: {")]
    return [{k: v for k, v in c.items() if k not in ("id", "created")} for c in chunks]


@settings(max_examples=50)
@given(reply=replies, trace=st.text(max_size=10), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_enveloped_stream_lines_read_as_bare_ones(
    reply: list[str], trace: str, cuts: list[int]
) -> None:
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}}]} for t in reply
    ]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks.append({"usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1}})
    wrapped = [{"response": chunk, "traceId": trace} for chunk in chunks]
    assert client_stream(wrapped, cuts) == client_stream(chunks, [])


@given(first=texts, other=texts)
def test_session_id_depends_on_the_first_user_text_only(first: str, other: str) -> None:
    made = session_id(first)
    assert made == session_id(first)
    assert made.startswith("-") and 0 <= int(made[1:]) < 2**63
    if other != first:
        assert session_id(other) != made  # sha-256 prefixes: a collision would be news


@given(
    entries=st.lists(
        st.tuples(st.text(min_size=1, max_size=MAX_ID_CHARS + 5), st.text(min_size=1, max_size=30)),
        max_size=40,
    ),
    cap=st.integers(1, 10),
)
def test_in_process_signatures_are_bounded_and_return_the_latest(
    entries: list[tuple[str, str]], cap: int
) -> None:
    cache = InMemorySignatures(max_entries=cap, clock=lambda: 0.0)
    for call_id, signature in entries:
        cache.remember_now({call_id: signature})
        assert len(cache) <= cap
    kept = [e for e in entries if len(e[0]) <= MAX_ID_CHARS]
    if kept:
        call_id, _ = kept[-1]
        latest = [s for i, s in kept if i == call_id][-1]
        assert cache.recall_now([call_id]) == {call_id: latest}
