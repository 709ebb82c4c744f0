"""An estimate of a request's input tokens, for providers whose API has no token counter.

The body is decoded with the client's own codec to the canonical request, then counted:

- one token per `CHARS_PER_TOKEN` characters (rounded up) of all the text the model reads: the
  system prompt; message texts and thinking texts; each tool call's name and arguments (as
  JSON); tool results' texts; each tool's name, description and parameter schema (as JSON);
  and the JSON of anything without a canonical equivalent (documents, server tools);
- `IMAGE_TOKENS` per image, wherever it is (Anthropic's figure for an image at the largest
  size it takes unscaled: about 1.15 megapixels at 750 pixels a token).

The rule is close for English prose and code and overestimates little else; it is an estimate,
not any model's tokenizer. The work is one decode and one pass over the request: linear in the
body, which the server's body limit bounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from aigateway.adapters.codecs import anthropic_messages
from aigateway.adapters.codecs.base import WireCodec, decode_client
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ChatRequest,
    ImagePart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UnsupportedContent,
    WireFormat,
)

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1600

# A count body has no `max_tokens`, which the Messages codec requires of a chat: a placeholder
# is set before decoding (the count does not depend on it).
_NEEDS_MAX_TOKENS = frozenset({anthropic_messages.FORMAT})
_PLACEHOLDER_MAX_TOKENS = msgspec.Raw(b"1")

_decode_top = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_encode = msgspec.json.Encoder().encode


class CharacterEstimator:
    def __init__(self, codecs: Mapping[WireFormat, WireCodec]) -> None:
        self._codecs = codecs

    def estimate(self, body: bytes, format: WireFormat) -> int:
        if format in _NEEDS_MAX_TOKENS:
            document = decode_client(_decode_top, body)
            if "max_tokens" not in document:
                document["max_tokens"] = _PLACEHOLDER_MAX_TOKENS
                body = _encode(document)
        try:
            request = self._codecs[format].decode_request(body)
        except UnsupportedContent as exc:
            raise invalid_request(str(exc)) from None
        return estimate_request(request)


def estimate_request(request: ChatRequest) -> int:
    """The input tokens of a canonical request, by the rule of this module."""
    tally = _Tally()
    tally.parts(request.system)
    for message in request.messages:
        tally.parts(message.content)
    for tool in request.tools:
        if isinstance(tool, Tool):
            tally.text(tool.name)
            tally.text(tool.description or "")
            if tool.parameters is not None:
                tally.json(tool.parameters)
        else:
            tally.json(tool.data)
    return -(-tally.chars // CHARS_PER_TOKEN) + tally.images * IMAGE_TOKENS


class _Tally:
    __slots__ = ("chars", "images")

    def __init__(self) -> None:
        self.chars = 0
        self.images = 0

    def text(self, text: str) -> None:
        self.chars += len(text)

    def json(self, value: object) -> None:
        self.chars += len(_encode(value))

    def parts(self, parts: Iterable[Part]) -> None:
        for part in parts:
            if isinstance(part, TextPart):
                self.text(part.text)
            elif isinstance(part, ImagePart):
                self.images += 1
            elif isinstance(part, ToolCallPart):
                self.text(part.name)
                if part.raw_arguments is not None:
                    self.text(part.raw_arguments)
                else:
                    self.json(part.arguments)
            elif isinstance(part, ToolResultPart):
                self.parts(part.content)
            elif isinstance(part, ThinkingPart):
                self.text(part.text)
            elif isinstance(part, OpaquePart):
                self.json(part.data)
