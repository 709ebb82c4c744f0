"""What a fake OpenAI-compatible `POST /embeddings` answers, like the real service.

`input` is a string, an array of strings, an array of token ids or an array of token-id arrays
(at most 2048 items, none empty); `encoding_format` is `float` (the default) or `base64` (the
vector as little-endian float32 bytes, base64-encoded: what the openai SDK asks for unless told
otherwise, and decodes itself). Each vector has `dimensions` values (default `DIMENSIONS`) and
depends only on its input, so equal inputs get equal vectors. Usage: the words of each string,
or the number of ids of each token array.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

DIMENSIONS = 8
MAX_DIMENSIONS = 256
MAX_ITEMS = 2048


class BadEmbeddingsRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _items(value: Any) -> list[str | list[int]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(i, int) for i in value):
        return [value]  # one token array
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        raise BadEmbeddingsRequest(
            f"'input' must be a string or a non-empty array of at most {MAX_ITEMS} items", "input"
        )
    for index, item in enumerate(value):
        ok = (isinstance(item, str) and item) or (
            isinstance(item, list) and item and all(isinstance(i, int) for i in item)
        )
        if not ok:
            raise BadEmbeddingsRequest(f"'$.input[{index}]' is invalid", "input")
    return list(value)


def vector(item: str | list[int], dimensions: int) -> list[float]:
    """A deterministic vector of `item` (values in [-1, 1], exact in float32)."""
    seed = item if isinstance(item, str) else json.dumps(item)
    digest = b""
    counter = 0
    while len(digest) < dimensions:
        digest += hashlib.sha256(f"{counter}:{seed}".encode()).digest()
        counter += 1
    return [(byte - 128) / 128 for byte in digest[:dimensions]]


def answer(body: Any) -> dict[str, Any]:
    """The answer to a request body; raises `BadEmbeddingsRequest` for what the service
    refuses."""
    if not isinstance(body, dict):
        raise BadEmbeddingsRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadEmbeddingsRequest("you must provide a model parameter", "model")
    if "input" not in body:
        raise BadEmbeddingsRequest("'input' is a required property", "input")
    items = _items(body["input"])
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise BadEmbeddingsRequest(
            f"'{encoding}' is not one of ['float', 'base64'] - 'encoding_format'",
            "encoding_format",
        )
    dimensions = body.get("dimensions", DIMENSIONS)
    if not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise BadEmbeddingsRequest(
            f"'dimensions' must be between 1 and {MAX_DIMENSIONS}", "dimensions"
        )
    data = []
    for index, item in enumerate(items):
        values = vector(item, dimensions)
        embedding: list[float] | str = values
        if encoding == "base64":
            packed = struct.pack(f"<{dimensions}f", *values)
            embedding = base64.b64encode(packed).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(len(i.split()) if isinstance(i, str) else len(i) for i in items)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
