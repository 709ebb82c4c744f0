"""Gemini generateContent (`POST .../models/<model>:generateContent`) <-> canonical model.

Requests, responses, `?alt=sse` streams (both directions) and `google.rpc.Status` errors, in
Gemini's shapes. Rules where Gemini differs from the canonical model:

- The model is part of the URL, not the body: `decode_request(body, model=...)` takes it, and
  `encode_request` does not write it (the upstream adapter puts it in the URL or envelope).
  Streaming is chosen by the method too: decoded requests have `stream=False`.
- A `thoughtSignature` on a non-thought part (a function call, a text) decodes to a separate
  `ThinkingPart(text="", signature=...)` placed just before that part; encoding puts such a
  signature-only thinking part back on the part that follows it. Other formats then carry the
  signature as an (empty) signed thinking block, and it reaches Gemini again on its call.
- Tool calls without an id get `call_<n>`, `n` counting the calls of the conversation (or of
  the answer) from 0, so the same body always gets the same ids; a function response without
  an id takes the id of the earliest unanswered call of the same name.
- A tool result is `functionResponse{id, name, response}`, `name` looked up from the call with
  that id; its text is `response.result` (`response.error` when `is_error`). Decoding also
  reads `response.output` (Gemini's documented key, which Gemini CLI sends) as the text.
- Client field names may come in proto (snake) case, as Google's API accepts them; tool
  schemas come as `parametersJsonSchema` (JSON Schema) or `parameters` (Gemini's `Schema`,
  whose upper-case type names decode to JSON Schema's). Gemini CLI's
  `skip_thought_signature_validator` on a call is not a signature and decodes to none.
- Consecutive turns of one role are merged; a conversation that starts with a model turn gets
  a user turn holding `LEADING_USER_TEXT` in front (Gemini requires a user turn first).
- Tool schemas are cleaned to the subset Gemini accepts (`clean_schema`).

Modules: `wire` (wire types, tables), `schema` (`clean_schema`), `parts` (parts both ways),
`request_in` / `request_out`, `responses`, `streams`, `errors`, `codec`.
"""

from aigateway.adapters.codecs.gemini.codec import GeminiCodec
from aigateway.adapters.codecs.gemini.errors import error_body
from aigateway.adapters.codecs.gemini.schema import clean_schema
from aigateway.adapters.codecs.gemini.streams import GeminiStreamDecoder, GeminiStreamEncoder
from aigateway.adapters.codecs.gemini.wire import (
    FORMAT,
    LEADING_USER_TEXT,
    TITLE,
    finish_reason,
    finish_reason_out,
)

__all__ = [
    "FORMAT",
    "LEADING_USER_TEXT",
    "TITLE",
    "GeminiCodec",
    "GeminiStreamDecoder",
    "GeminiStreamEncoder",
    "clean_schema",
    "error_body",
    "finish_reason",
    "finish_reason_out",
]
