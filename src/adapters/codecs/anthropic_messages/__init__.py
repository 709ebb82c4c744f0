"""Anthropic Messages (`POST /v1/messages`): the translating codec (`AnthropicMessagesCodec`)
and the same-format passthrough helpers (request head validation, usage extraction).

Validation of client bodies (400 naming the field), requests, responses, stream events (both
directions) and errors, in Anthropic's shapes. Tool-use ids are written as Anthropic accepts
them (`[A-Za-z0-9_-]`), so ids from other formats are sanitised the same way every time.

Modules: `wire` (wire types, tables), `request_in` / `request_out` (requests from clients /
to upstreams), `responses`, `streams`, `errors`, `passthrough`, `codec`.
"""

from aigateway.adapters.codecs.anthropic_messages.codec import AnthropicMessagesCodec
from aigateway.adapters.codecs.anthropic_messages.errors import error_body
from aigateway.adapters.codecs.anthropic_messages.passthrough import (
    StreamUsageScanner,
    decode_head,
    read_answer,
)
from aigateway.adapters.codecs.anthropic_messages.request_in import block_in
from aigateway.adapters.codecs.anthropic_messages.streams import (
    AnthropicStreamDecoder,
    AnthropicStreamEncoder,
)
from aigateway.adapters.codecs.anthropic_messages.wire import (
    DEFAULT_MAX_TOKENS,
    FORMAT,
    MIN_THINKING_BUDGET,
    TITLE,
    stop_reason,
    stop_reason_out,
    tool_id,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "FORMAT",
    "MIN_THINKING_BUDGET",
    "TITLE",
    "AnthropicMessagesCodec",
    "AnthropicStreamDecoder",
    "AnthropicStreamEncoder",
    "StreamUsageScanner",
    "block_in",
    "decode_head",
    "error_body",
    "read_answer",
    "stop_reason",
    "stop_reason_out",
    "tool_id",
]
