"""OpenAI Responses (`POST /v1/responses`) <-> canonical model, both ways: requests, answers,
typed SSE streams and errors. Same-format traffic stays a byte passthrough (`decode_head`,
`read_answer`, `StreamUsageScanner`).

Rules where Responses differs from the canonical model:

- Stateless: the gateway keeps no responses, so `previous_response_id`, `conversation`,
  `store: true` and `background: true` are 400s. Clients replay the whole conversation with
  `store: false`, as Codex does.
- Reasoning items <-> thinking: an item's summary (or reasoning text) is the thinking text and
  its `encrypted_content` the signature, so a replayed item (Codex sends them back without an
  `id`) carries the upstream's signature to its next turn. A redacted thinking block travels as
  `encrypted_content` with `REDACTED_PREFIX`. A Responses upstream is never sent thinking from
  earlier turns (its signature may be another provider's).
- Custom (free-form) tools, such as Codex's `apply_patch`, are functions with one string
  argument `input` (the grammar goes into its description); a replayed `custom_tool_call` is a
  call with that argument. Across formats the model answers a function call, which the client
  receives as a `function_call`.
- Hosted tools (`web_search`, `file_search`, ...) and items only OpenAI has (hosted tool calls,
  `compaction`) are kept for a Responses upstream, in place, and left out for others (also from
  an upstream's answers); `item_reference` (a stored item) is a 400.
- An output limit below OpenAI's minimum (16 tokens) is raised to it; a call streamed without
  argument text gets `{}`.
- `system` and `developer` messages join `instructions` as the system prompt.
- A stream failure ends with `response.failed` whose `error.code` is `rate_limit_exceeded`,
  `server_is_overloaded`, `invalid_prompt`, `context_length_exceeded` or `server_error`.

Modules: `wire` (tables, ids, the stateless rule), `request_in` / `request_out`, `responses`,
`streams`, `errors`, `passthrough`, `codec`.
"""

from aigateway.adapters.codecs.openai_responses.codec import OpenAIResponsesCodec
from aigateway.adapters.codecs.openai_responses.passthrough import (
    StreamUsageScanner,
    decode_head,
    read_answer,
)
from aigateway.adapters.codecs.openai_responses.streams import (
    ResponsesStreamDecoder,
    ResponsesStreamEncoder,
)
from aigateway.adapters.codecs.openai_responses.wire import FORMAT, TITLE

__all__ = [
    "FORMAT",
    "TITLE",
    "OpenAIResponsesCodec",
    "ResponsesStreamDecoder",
    "ResponsesStreamEncoder",
    "StreamUsageScanner",
    "decode_head",
    "read_answer",
]
