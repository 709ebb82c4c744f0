"""Canonical stream events (Anthropic-shaped: one block at a time, indexed from 0)."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from aigateway.domain.llm.chat import StopReason, Usage
from aigateway.domain.llm.errors import ErrorType


class BlockKind(enum.StrEnum):
    TEXT = "text"
    TOOL_USE = "tool_use"
    THINKING = "thinking"
    REDACTED_THINKING = "redacted_thinking"
    OPAQUE = "opaque"  # a block of one format with no canonical equivalent


class _Event(msgspec.Struct, frozen=True, tag_field="event"):
    pass


class MessageStart(_Event, frozen=True, tag="message_start", kw_only=True):
    id: str
    model: str
    usage: Usage | None = None


class BlockStart(_Event, frozen=True, tag="block_start", kw_only=True):
    """`id`/`name` for tool_use; `data` is the redacted-thinking payload, or for an opaque block
    the raw block of `format`."""

    index: int
    kind: BlockKind
    id: str | None = None
    name: str | None = None
    data: Any = None
    format: str | None = None


class TextDelta(_Event, frozen=True, tag="text_delta"):
    index: int
    text: str


class ToolArgumentsDelta(_Event, frozen=True, tag="tool_arguments_delta"):
    index: int
    partial_json: str


class ThinkingDelta(_Event, frozen=True, tag="thinking_delta"):
    index: int
    text: str


class SignatureDelta(_Event, frozen=True, tag="signature_delta"):
    index: int
    signature: str


class BlockStop(_Event, frozen=True, tag="block_stop"):
    index: int


class MessageDelta(_Event, frozen=True, tag="message_delta", kw_only=True):
    """End of the answer: why it stopped and the final (cumulative) usage, when known."""

    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None


class MessageStop(_Event, frozen=True, tag="message_stop"):
    pass


class StreamError(_Event, frozen=True, tag="error"):
    type: ErrorType
    message: str


class Ping(_Event, frozen=True, tag="ping"):
    pass


StreamEvent = (
    MessageStart
    | BlockStart
    | TextDelta
    | ToolArgumentsDelta
    | ThinkingDelta
    | SignatureDelta
    | BlockStop
    | MessageDelta
    | MessageStop
    | StreamError
    | Ping
)
