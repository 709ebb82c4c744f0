"""Wire formats are named by their codecs: each codec package declares its `FORMAT`. What a
client asks of a model is an `Operation`: most requests are chats; a format may also count a
request's tokens or embed texts."""

from __future__ import annotations

import enum
from typing import NewType

WireFormat = NewType("WireFormat", str)


class Operation(enum.StrEnum):
    CHAT = "chat"
    COUNT_TOKENS = "count_tokens"  # Anthropic `POST /v1/messages/count_tokens`
    EMBEDDINGS = "embeddings"  # OpenAI `POST /v1/embeddings`
