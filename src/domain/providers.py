"""Providers: an upstream service (kind = wire adapter) and the models it serves."""

from __future__ import annotations

import enum
import fnmatch
import re
from datetime import datetime
from typing import Any

import msgspec

PROVIDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


class ProviderKind(enum.StrEnum):
    """Which upstream adapter speaks to the provider."""

    OPENAI = "openai"  # any OpenAI-compatible Chat Completions service
    ANTHROPIC = "anthropic"
    ANTIGRAVITY = "antigravity"


class Provider(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    kind: ProviderKind
    base_url: str
    models: tuple[str, ...] = ()
    priority: int = 0
    is_active: bool = True
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def serves(self, model: str) -> bool:
        """True when one of the provider's names or glob patterns matches `model`."""
        return any(_matches(pattern, model) for pattern in self.models)

    def listed_models(self) -> tuple[str, ...]:
        """Concrete model names (patterns with wildcards are not listable)."""
        return tuple(m for m in self.models if not _is_pattern(m))


def _is_pattern(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _matches(pattern: str, model: str) -> bool:
    if not _is_pattern(pattern):
        return pattern == model
    return fnmatch.fnmatchcase(model, pattern)
