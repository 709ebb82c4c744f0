"""What a provider's `config` may hold depends on its kind; the kind's profile knows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aigateway.domain.providers import ProviderKind


class ProviderConfigRules(Protocol):
    def config_problems(self, kind: ProviderKind, config: Mapping[str, Any]) -> list[str]:
        """What is wrong with `config` for a provider of `kind` (empty: nothing)."""
        ...
