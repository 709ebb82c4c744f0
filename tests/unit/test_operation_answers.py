"""How the answers of the embeddings and token-counting endpoints read: their usage, and an
error object hidden in a 2xx (which fails the attempt over like any refusal)."""

from __future__ import annotations

import pytest

from aigateway.adapters.upstream import embeddings, token_counts
from aigateway.application.ports.upstream import Usage

EMBEDDING = (
    b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],'
    b'"model":"m","usage":{"prompt_tokens":5,"total_tokens":5}}'
)


def test_an_embeddings_answer_reads_as_its_prompt_tokens() -> None:
    assert embeddings.read_answer(EMBEDDING) == (False, Usage(prompt_tokens=5))
    assert embeddings.read_answer(b'{"object":"list","data":[]}') == (False, None)


@pytest.mark.parametrize(
    "body",
    [b'{"error":{"message":"overloaded","type":"server_error"}}', b'[{"error":{"code":503}}]'],
)
def test_an_error_object_in_a_2xx_embeddings_answer_is_an_error(body: bytes) -> None:
    assert embeddings.read_answer(body) == (True, None)


def test_a_token_count_reads_as_the_prompt_tokens() -> None:
    assert token_counts.read_answer(b'{"input_tokens": 42}') == (False, Usage(prompt_tokens=42))


@pytest.mark.parametrize(
    ("body", "is_error"),
    [
        (b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', True),
        (b"{}", False),
        (b"not json", False),
        (b'{"input_tokens": "many"}', False),
    ],
)
def test_a_token_count_without_a_count_has_no_usage(body: bytes, is_error: bool) -> None:
    assert token_counts.read_answer(body) == (is_error, None)
