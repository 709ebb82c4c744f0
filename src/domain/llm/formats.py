"""The wire formats the gateway speaks, to clients and to upstreams."""

from __future__ import annotations

import enum


class WireFormat(enum.StrEnum):
    OPENAI_CHAT = "openai_chat"
    ANTHROPIC_MESSAGES = "anthropic_messages"
    GEMINI = "gemini"
