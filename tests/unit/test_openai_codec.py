from __future__ import annotations

import itertools
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs.json_splice import splice_model
from aigateway.adapters.codecs.openai_chat import (
    StreamUsageScanner,
    decode_head,
    usage_from_body,
)
from aigateway.application.errors import GatewayError


def test_head_is_model_and_stream() -> None:
    body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":2}}'
    assert decode_head(body) == ("gpt-4o", False)
    assert decode_head(body.replace(b'"logit_bias"', b'"stream":true,"x"')) == ("gpt-4o", True)


def test_head_does_not_judge_what_routing_does_not_read() -> None:
    """An OpenAI-compatible server's own part types, roles and message fields are its to judge."""
    body = json.dumps(
        {
            "model": "qwen2-vl",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what happens here"},
                        {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
                    ],
                    "mm_processor_kwargs": {"fps": 2},
                },
                {"role": "robot", "content": 7},
            ],
            "stream": None,
        }
    ).encode()
    assert decode_head(body) == ("qwen2-vl", False)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"", None),
        (b"{", None),
        (b"[]", None),
        (b'"text"', None),
        (b'{"messages":[{"role":"user","content":"x"}]}', "model"),
        (b'{"model":"","messages":[{"role":"user","content":"x"}]}', "model"),
        (b'{"model":7,"messages":[{"role":"user","content":"x"}]}', "model"),
        (b'{"model":"m"}', "messages"),
        (b'{"model":"m","messages":[]}', "messages"),
        (b'{"model":"m","messages":"hi"}', "messages"),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}', "stream"),
        (b'{"model":"m","messages":[1],"x":' + b"[" * 5000 + b"]" * 5000 + b"}", None),
    ],
)
def test_invalid_heads_are_400_with_the_offending_param(body: bytes, param: str | None) -> None:
    with pytest.raises(GatewayError) as caught:
        decode_head(body)
    assert caught.value.status == 400
    assert caught.value.param == param


def test_splicing_the_model_changes_only_the_model() -> None:
    body = b'{"model":"local/llama","messages":[{"role":"user","content":"x"}],"temperature":0.5}'
    rewritten = msgspec.json.decode(splice_model(body, "llama"))
    assert rewritten == {
        "model": "llama",
        "messages": [{"role": "user", "content": "x"}],
        "temperature": 0.5,
    }


def test_usage_from_body() -> None:
    usage = usage_from_body(b'{"id":"x","usage":{"prompt_tokens":3,"completion_tokens":4}}')
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (3, 4)
    assert usage_from_body(b"{}") is None
    assert usage_from_body(b"garbage") is None


SSE = (
    b'data: {"choices":[{"delta":{"content":"a"}}],"usage":null}\n\n'
    b'data: {"choices":[{"delta":{}}],"usage":null}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7}}\n\n'
    b"data: [DONE]\n\n"
)


@given(st.lists(st.integers(min_value=0, max_value=len(SSE)), max_size=12))
def test_stream_usage_is_found_however_the_bytes_are_split(cuts: list[int]) -> None:
    scanner = StreamUsageScanner()
    points = [0, *sorted(cuts), len(SSE)]
    for start, end in itertools.pairwise(points):
        scanner.feed(SSE[start:end])
    assert scanner.usage is not None
    assert (scanner.usage.prompt_tokens, scanner.usage.completion_tokens) == (11, 7)
