"""Answers of Anthropic's `POST /v1/messages/count_tokens`: `{"input_tokens": N}`, read as
the request's prompt tokens, and whether a 2xx body is really an error object."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.base import ABSENT, present
from aigateway.application.ports.upstream import Usage
from aigateway.domain.errors import error_in_success


class _Answer(msgspec.Struct):
    error: msgspec.Raw = ABSENT
    input_tokens: int | None = None


_decode_answer = msgspec.json.Decoder(_Answer).decode


def read_answer(body: bytes) -> tuple[bool, Usage | None]:
    try:
        found = _decode_answer(body)
    except (msgspec.MsgspecError, RecursionError):
        return error_in_success(body), None
    if found.input_tokens is None:
        return present(found.error), None
    return False, Usage(prompt_tokens=found.input_tokens)
