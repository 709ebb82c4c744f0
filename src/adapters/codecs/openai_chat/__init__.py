"""OpenAI Chat Completions: the translating codec (`OpenAIChatCodec`) and the same-format
passthrough helpers (request head validation, reading an answer, usage scanning).

Same-format traffic stays a byte passthrough: only what routing needs is validated
(`decode_head`); the upstream model name is spliced in (`codecs.json_splice`). Traffic that
crosses formats goes through `OpenAIChatCodec` (canonical model in aigateway.domain.llm).

Modules: `wire` (wire types, tables), `request_in` / `request_out` (requests from clients /
to upstreams), `responses`, `streams`, `errors`, `passthrough`, `codec`.
"""

from aigateway.adapters.codecs.openai_chat.codec import OpenAIChatCodec
from aigateway.adapters.codecs.openai_chat.errors import error_body
from aigateway.adapters.codecs.openai_chat.passthrough import (
    StreamUsageScanner,
    decode_head,
    read_answer,
    usage_from_body,
)
from aigateway.adapters.codecs.openai_chat.streams import OpenAIStreamDecoder, OpenAIStreamEncoder
from aigateway.adapters.codecs.openai_chat.wire import FORMAT, TITLE, finish_reason, stop_reason

__all__ = [
    "FORMAT",
    "TITLE",
    "OpenAIChatCodec",
    "OpenAIStreamDecoder",
    "OpenAIStreamEncoder",
    "StreamUsageScanner",
    "decode_head",
    "error_body",
    "finish_reason",
    "read_answer",
    "stop_reason",
    "usage_from_body",
]
