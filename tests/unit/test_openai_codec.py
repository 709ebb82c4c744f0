from __future__ import annotations

import itertools
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs.openai_chat import (
    StreamUsageScanner,
    decode_request,
    rewrite_model,
    usage_from_body,
)
from aigateway.application.errors import GatewayError


def test_valid_request_keeps_unknown_fields_untouched() -> None:
    body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":2}}'
    head = decode_request(body)
    assert head.model == "gpt-4o" and head.stream is None


def test_content_parts_are_accepted() -> None:
    body = json.dumps(
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    ],
                }
            ],
        }
    ).encode()
    assert decode_request(body).messages[0].role == "user"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"", None),
        (b"{", None),
        (b'{"model":"","messages":[{"role":"user","content":"x"}]}', "model"),
        (b'{"model":"m","messages":[]}', "messages"),
        (b'{"model":"m","messages":[{"role":"robot","content":"x"}]}', "messages[0].role"),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}', "stream"),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}',
            "max_tokens",
        ),
    ],
)
def test_invalid_requests_are_400_with_the_offending_param(body: bytes, param: str | None) -> None:
    with pytest.raises(GatewayError) as caught:
        decode_request(body)
    assert caught.value.status == 400
    assert caught.value.param == param


def test_rewrite_model_changes_only_the_model() -> None:
    body = b'{"model":"local/llama","messages":[{"role":"user","content":"x"}],"temperature":0.5}'
    rewritten = msgspec.json.decode(rewrite_model(body, "llama"))
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
