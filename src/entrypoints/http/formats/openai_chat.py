"""OpenAI Chat Completions: `POST /v1/chat/completions`, OpenAI's error object and model list."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from aigateway.adapters.codecs import openai_chat
from aigateway.entrypoints.http.formats.spec import ClientFormat, ModelEntry, body_head


class _Card(msgspec.Struct):
    id: str
    owned_by: str
    created: int
    object: str = "model"


class _Listing(msgspec.Struct):
    data: list[_Card]
    object: str = "list"


def _models(entries: Sequence[ModelEntry], created: int) -> bytes:
    return msgspec.json.encode(_Listing([_Card(e.id, e.owned_by, created) for e in entries]))


SPEC = ClientFormat(
    format=openai_chat.FORMAT,
    path="/v1/chat/completions",
    codec=openai_chat.OpenAIChatCodec(),
    head=body_head(openai_chat.decode_head),
    render_models=_models,
)
