"""Replace the top-level `"model"` string of a JSON object in place, leaving every other byte
as the client sent it (no decode and re-encode of a possibly large body)."""

from __future__ import annotations

import re

import msgspec

from aigateway.adapters.codecs.base import NESTED_TOO_DEEPLY
from aigateway.application.errors import invalid_request

# a JSON string literal, or one structural character
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]]', re.DOTALL)
_COLON = re.compile(rb"\s*:\s*")
_KEY = b'"model"'


def splice_model(body: bytes, model: str) -> bytes:
    """`body` with its top-level `model` replaced by `model`.

    The body has been validated as a JSON object with a string `model`. Every top-level
    `model` key is replaced (duplicates too); when a top-level key is written with escapes, the
    body is decoded and re-encoded instead, so no spelling of the key slips through.
    """
    spans = _model_spans(body)
    if spans is None:
        try:
            document = msgspec.json.decode(body)
        except RecursionError:
            raise invalid_request(NESTED_TOO_DEEPLY) from None
        document["model"] = model
        return msgspec.json.encode(document)
    value = msgspec.json.encode(model)
    parts: list[bytes] = []
    start = 0
    for begin, end in spans:
        parts += (body[start:begin], value)
        start = end
    parts.append(body[start:])
    return b"".join(parts)


def _model_spans(body: bytes) -> list[tuple[int, int]] | None:
    """Where the top-level `model` string values are; None when splicing is not safe."""
    spans: list[tuple[int, int]] = []
    depth = 0
    pos = 0
    while (token := _TOKEN.search(body, pos)) is not None:
        pos = token.end()
        text = token.group()
        if text in (b"{", b"["):
            depth += 1
        elif text in (b"}", b"]"):
            depth -= 1
        elif depth == 1 and (colon := _COLON.match(body, pos)) is not None:  # a key
            if b"\\" in text:
                return None
            if text != _KEY:
                continue
            found = _TOKEN.match(body, colon.end())
            if found is None or not found.group().startswith(b'"'):
                return None
            spans.append(found.span())
            pos = found.end()
    return spans or None
