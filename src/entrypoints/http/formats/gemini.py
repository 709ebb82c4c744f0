"""Gemini: `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
(and the same under `/v1`), Google's error object, and `GET /v1beta/models`.

The model and whether to stream come from the URL, not the body. The client's key is read from
`x-goog-api-key` (Google's SDKs and Gemini CLI), `?key=` (Google's REST examples) or a bearer
token (Gemini CLI with `GEMINI_API_KEY_AUTH_MECHANISM=bearer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

import msgspec

from aigateway.adapters.codecs import gemini
from aigateway.adapters.codecs.base import decode_client
from aigateway.application.errors import GatewayError, invalid_request
from aigateway.entrypoints.http.formats.spec import (
    ClientFormat,
    Headers,
    ModelEntry,
    Target,
    client_token,
)

METHODS = {"generateContent": False, "streamGenerateContent": True}  # method -> streams
GENERATION_METHODS = ["generateContent", "streamGenerateContent"]


class _Head(msgspec.Struct):
    contents: list[msgspec.Raw]


_decode_head = msgspec.json.Decoder(_Head).decode


def head(body: bytes, target: Target) -> tuple[str, bool]:
    """(model, stream) from `{model}:{method}` and `?alt=sse`; the body must be a JSON object
    with a non-empty `contents` array (the rest is for the codec or the upstream to judge)."""
    model, colon, method = target.params.get("target", "").rpartition(":")
    if not colon or method not in METHODS:
        served = " and ".join(f":{m}" for m in METHODS)
        raise GatewayError(
            404,
            f"method {method or '(none)'} is not served; this gateway serves {served}",
            code="not_found",
        )
    model = model.removeprefix("models/")
    if not model.strip():
        raise invalid_request("the URL names no model", param="model")
    stream = METHODS[method]
    if stream and ("alt", "sse") not in parse_qsl(target.query):
        raise invalid_request(
            "streamGenerateContent is served as server-sent events: add ?alt=sse", param="alt"
        )
    found = decode_client(_decode_head, body)
    if not found.contents:
        raise invalid_request("contents must contain at least one content", param="contents")
    return model, stream


def token(headers: Headers, query: str) -> str | None:
    """`x-goog-api-key`, then a bearer token or `x-api-key`, then `?key=`."""
    listed = list(headers)
    for name, value in listed:
        if name == b"x-goog-api-key" and value.strip():
            return value.decode("latin-1").strip()
    found = client_token(listed)
    if found is not None:
        return found
    for key, text in parse_qsl(query):
        if key == "key" and text.strip():
            return text.strip()
    return None


class _Model(msgspec.Struct, rename="camel"):
    name: str
    base_model_id: str
    display_name: str
    supported_generation_methods: list[str]


class _Listing(msgspec.Struct):
    models: list[_Model]


def _models(entries: Sequence[ModelEntry], created: int) -> bytes:
    return msgspec.json.encode(
        _Listing(
            [
                _Model(
                    name=f"models/{e.id}",
                    base_model_id=e.id,
                    display_name=e.id,
                    supported_generation_methods=GENERATION_METHODS,
                )
                for e in entries
            ]
        )
    )


def _spec(version: str) -> ClientFormat:
    return ClientFormat(
        format=gemini.FORMAT,
        path=f"/{version}/models",
        mounted=True,
        codec=CODEC,
        head=head,
        token=token,
        render_models=_models,
        models_path=f"/{version}/models",
        # `GET /v1/models` is shared with OpenAI's and Anthropic's lists: Google's key header
        # marks a Gemini client there
        models_header=b"x-goog-api-key" if version == "v1" else None,
    )


CODEC = gemini.GeminiCodec()
SPECS = (_spec("v1beta"), _spec("v1"))  # Google's SDKs default to one or the other
