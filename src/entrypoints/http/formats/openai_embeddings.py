"""OpenAI `POST /v1/embeddings`: served by `openai`-kind providers, passed through unchanged.

The body needs a `model` and an `input` (a string, or a non-empty array of strings or token
arrays); the rest (`dimensions`, `encoding_format`, `user`) is the upstream's to judge."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs import openai_chat
from aigateway.adapters.codecs.base import decode_client
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import Operation
from aigateway.entrypoints.http.formats.openai_chat import SPEC as CHAT
from aigateway.entrypoints.http.formats.spec import ClientFormat, body_head


class _Head(msgspec.Struct):
    model: str
    input: str | list[msgspec.Raw]


_decode_head = msgspec.json.Decoder(_Head).decode


def decode_head(body: bytes) -> tuple[str, bool]:
    head = decode_client(_decode_head, body)
    if not head.model.strip():
        raise invalid_request("model is required", param="model")
    if not head.input:
        raise invalid_request("input must not be empty", param="input")
    return head.model, False


SPEC = ClientFormat(
    format=openai_chat.FORMAT,
    path="/v1/embeddings",
    operation=Operation.EMBEDDINGS,
    codec=CHAT.codec,
    head=body_head(decode_head),
)
