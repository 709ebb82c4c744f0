"""Anthropic `POST /v1/messages/count_tokens` (and `?beta=true`, as Claude Code sends it).

The body is a Messages request without `max_tokens`; the answer is `{"input_tokens": N}`."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs import anthropic_messages
from aigateway.adapters.codecs.base import RoutingHead, decode_routing_head
from aigateway.domain.llm import Operation
from aigateway.entrypoints.http.formats.anthropic_messages import SPEC as MESSAGES
from aigateway.entrypoints.http.formats.spec import ClientFormat, body_head

_decode_head = msgspec.json.Decoder(RoutingHead).decode


def decode_head(body: bytes) -> tuple[str, bool]:
    """(model, False): a model and at least one message; the rest is the counter's to judge."""
    head = decode_routing_head(_decode_head, body)
    return head.model, False


SPEC = ClientFormat(
    format=anthropic_messages.FORMAT,
    path="/v1/messages/count_tokens",
    operation=Operation.COUNT_TOKENS,
    codec=MESSAGES.codec,
    head=body_head(decode_head),
    forwarded_headers=MESSAGES.forwarded_headers,
)
