"""Answers of an OpenAI-compatible `POST /embeddings`: its usage, and whether a 2xx body is
really an error object."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.base import ABSENT, present
from aigateway.application.ports.upstream import Usage
from aigateway.domain.errors import error_in_success


class _UsageBody(msgspec.Struct):
    prompt_tokens: int | None = None


class _Answer(msgspec.Struct):
    error: msgspec.Raw = ABSENT
    data: msgspec.Raw = ABSENT
    usage: _UsageBody | None = None


_decode_answer = msgspec.json.Decoder(_Answer).decode


def read_answer(body: bytes) -> tuple[bool, Usage | None]:
    """`{"data": [...], "usage": {"prompt_tokens", "total_tokens"}}`: the prompt tokens (an
    embedding has no completion); `{"error": ...}` without `data` is an error."""
    try:
        found = _decode_answer(body)
    except (msgspec.MsgspecError, RecursionError):
        return error_in_success(body), None
    usage = found.usage
    return (
        present(found.error) and not present(found.data),
        Usage(prompt_tokens=usage.prompt_tokens) if usage else None,
    )
