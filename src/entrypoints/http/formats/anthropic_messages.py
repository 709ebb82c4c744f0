"""Anthropic Messages: `POST /v1/messages`, Anthropic's error object and model list.

A client's `anthropic-beta` header goes along to an Anthropic upstream (Claude Code sends the
betas it relies on); `GET /v1/models` answers in this format when `anthropic-version` is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from aigateway.adapters.codecs import anthropic_messages
from aigateway.entrypoints.http.formats.spec import ClientFormat, ModelEntry, body_head


class _Model(msgspec.Struct):
    id: str
    display_name: str
    created_at: str
    type: str = "model"


class _Listing(msgspec.Struct):
    data: list[_Model]
    has_more: bool
    first_id: str | None
    last_id: str | None


def _models(entries: Sequence[ModelEntry], created: int) -> bytes:
    stamp = datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")
    cards = [_Model(id=e.id, display_name=e.id, created_at=stamp) for e in entries]
    first = cards[0].id if cards else None
    last = cards[-1].id if cards else None
    return msgspec.json.encode(_Listing(cards, has_more=False, first_id=first, last_id=last))


SPEC = ClientFormat(
    format=anthropic_messages.FORMAT,
    path="/v1/messages",
    codec=anthropic_messages.AnthropicMessagesCodec(),
    head=body_head(anthropic_messages.decode_head),
    forwarded_headers=(b"anthropic-beta",),
    models_header=b"anthropic-version",
    render_models=_models,
)
