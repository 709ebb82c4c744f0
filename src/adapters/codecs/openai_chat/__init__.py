"""OpenAI Chat Completions: the translating codec (`OpenAIChatCodec`) and the same-format
passthrough helpers (request validation, model rewrite, usage extraction).

Same-format traffic stays a byte passthrough: the body is decoded once for validation and
re-encoded only when the upstream model name differs from the client's. Traffic that crosses
formats goes through `OpenAIChatCodec` (canonical model in aigateway.domain.llm).

Modules: `wire` (wire types, tables), `request_in` / `request_out` (requests from clients /
to upstreams), `responses`, `streams`, `errors`, `passthrough`, `codec`.
"""

from aigateway.adapters.codecs.openai_chat.codec import OpenAIChatCodec
from aigateway.adapters.codecs.openai_chat.errors import error_body
from aigateway.adapters.codecs.openai_chat.passthrough import (
    ChatRequestHead,
    StreamUsageScanner,
    decode_request,
    rewrite_model,
    usage_from_body,
)
from aigateway.adapters.codecs.openai_chat.streams import OpenAIStreamDecoder, OpenAIStreamEncoder
from aigateway.adapters.codecs.openai_chat.wire import FORMAT, TITLE, finish_reason, stop_reason

__all__ = [
    "FORMAT",
    "TITLE",
    "ChatRequestHead",
    "OpenAIChatCodec",
    "OpenAIStreamDecoder",
    "OpenAIStreamEncoder",
    "StreamUsageScanner",
    "decode_request",
    "error_body",
    "finish_reason",
    "rewrite_model",
    "stop_reason",
    "usage_from_body",
]
