"""Replace the top-level `"model"` of a client's JSON object without re-encoding its values.

The object is decoded one level deep (every value kept as its raw bytes, in C) and written
back with the new model: the values, their order and their number formats stay as the client
sent them; only the whitespace between top-level members goes, and a repeated `model` key
(whichever spelling, escapes included) becomes the one new value.
"""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.base import NESTED_TOO_DEEPLY
from aigateway.application.errors import invalid_request

_decode_top = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_encode = msgspec.json.Encoder().encode


def splice_model(body: bytes, model: str) -> bytes:
    """`body` (a JSON object, validated by the head decoder) with `model` replaced."""
    try:
        document = _decode_top(body)
    except RecursionError:
        raise invalid_request(NESTED_TOO_DEEPLY) from None
    document.pop("model", None)
    return _encode({"model": model, **document})
