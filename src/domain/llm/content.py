"""Content parts: what a message is made of, independent of any wire format."""

from __future__ import annotations

from typing import Any

import msgspec


class TextPart(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    text: str
    cache_control: dict[str, Any] | None = None  # Anthropic prompt-cache hint (a hint, not content)


class ImagePart(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="image"):
    """Inline base64 data with its media type, or a URL (exactly one of the two)."""

    media_type: str | None = None
    data: str | None = None  # base64, without the `data:` prefix
    url: str | None = None
    detail: str | None = None  # OpenAI rendering hint (auto/low/high); other formats ignore it
    cache_control: dict[str, Any] | None = None


class ToolCallPart(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="tool_call"):
    """A call the assistant makes. `arguments` is a JSON value (normally an object).

    When the source carried a JSON string that did not parse, `arguments` is `{}` and
    `raw_arguments` keeps the string as received, so bad model output never crashes a codec.
    """

    id: str
    name: str
    arguments: Any = msgspec.field(default_factory=dict)
    raw_arguments: str | None = None
    cache_control: dict[str, Any] | None = None


class OpaquePart(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="opaque"):
    """Something with no canonical equivalent, kept as raw JSON of the format it came from.

    The codec of `format` writes it back unchanged; any other codec raises
    `UnsupportedContent` (or leaves it out, when `droppable`). `kind` and `name` say what it
    is (a content-part or block type, a message role, a tool type or a request field); `data`
    is the raw JSON value.
    """

    format: str
    kind: str  # "part" | "message" | "tool" | "field" | "block"
    name: str
    data: Any
    # The request stays meaningful without it (e.g. a server-side tool only the source format's
    # upstream can run): another codec leaves it out instead of raising `UnsupportedContent`.
    droppable: bool = False


class ToolResultPart(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="tool_result"
):
    tool_call_id: str
    content: tuple[TextPart | ImagePart | OpaquePart, ...] = ()
    is_error: bool = False
    cache_control: dict[str, Any] | None = None


class ThinkingPart(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="thinking"):
    """Model reasoning. `signature` authenticates it (Anthropic); `redacted_data` is set for an
    encrypted (redacted) block, whose `text` is then empty."""

    text: str = ""
    signature: str | None = None
    redacted_data: str | None = None

    @property
    def redacted(self) -> bool:
        return self.redacted_data is not None


Part = TextPart | ImagePart | ToolCallPart | ToolResultPart | ThinkingPart | OpaquePart
ToolResultContent = TextPart | ImagePart | OpaquePart


def parse_tool_arguments(raw: str) -> tuple[Any, str | None]:
    """A tool-call argument string -> (JSON value, None), or ({}, raw) when it is not JSON
    (or nested too deeply to decode): such arguments are carried as the raw string.

    An empty or blank string is an empty object (several servers send "" for no arguments).
    """
    if not raw or raw.isspace():
        return {}, None
    try:
        return _decode_json(raw), None
    except (msgspec.DecodeError, RecursionError):
        return {}, raw


_decode_json = msgspec.json.Decoder().decode
