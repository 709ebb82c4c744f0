"""Canonical chat request and response: the model every wire codec decodes to and encodes from."""

from __future__ import annotations

import enum
from typing import Any, Literal

import msgspec

from aigateway.domain.llm.content import OpaquePart, Part, TextPart


class Message(msgspec.Struct, frozen=True):
    """A user or assistant turn. Tool results are parts of user turns (as in Anthropic's format);
    an OpenAI `tool` message decodes to a user turn holding `ToolResultPart`s."""

    role: Literal["user", "assistant"]
    content: tuple[Part, ...] = ()


class Tool(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="function"):
    """A function the model may call; `parameters` is its JSON schema."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None  # OpenAI structured-arguments flag
    cache_control: dict[str, Any] | None = None


class ToolChoice(msgspec.Struct, frozen=True):
    """auto | none | required (Anthropic `any`) | tool (a named function)."""

    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None


class Thinking(msgspec.Struct, frozen=True, kw_only=True):
    """Extended reasoning. Either a token budget (Anthropic) or an effort level (OpenAI);
    enabled with neither means "let the model decide" (Anthropic `adaptive`)."""

    enabled: bool = True
    budget_tokens: int | None = None
    effort: str | None = None  # none | minimal | low | medium | high | xhigh


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    messages: tuple[Message, ...]
    system: tuple[TextPart, ...] = ()
    tools: tuple[Tool | OpaquePart, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False  # ask for usage at the end of a stream
    thinking: Thinking | None = None
    user: str | None = None  # OpenAI `user` / Anthropic `metadata.user_id`
    response_format: dict[str, Any] | None = None  # OpenAI response_format, kept as is
    # Request-level features of one format with no canonical equivalent (e.g. OpenAI `n` > 1,
    # audio output): written back by their own codec, rejected by any other.
    opaque: tuple[OpaquePart, ...] = ()
    # Fields only the source format understands and that are safe to lose when crossing
    # (sampling knobs, service tiers): {format: {field: value}}, merged back by that format only.
    extras: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


class StopReason(enum.StrEnum):
    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    CONTENT_FILTER = "content_filter"  # OpenAI content_filter, Anthropic refusal
    PAUSE_TURN = "pause_turn"  # Anthropic: a long server-tool turn paused
    OTHER = "other"


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Token counts. `input_tokens` excludes cached input (Anthropic's meaning): the whole prompt
    is input + cache_read + cache_creation. `output_tokens` includes reasoning tokens;
    `reasoning_tokens` is the part of it spent reasoning, when reported."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + (self.cache_read_tokens or 0) + (self.cache_creation_tokens or 0)


class ChatResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    model: str
    content: tuple[Part, ...] = ()
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage = Usage()
    created: int | None = None  # unix seconds, when the source format reports it
