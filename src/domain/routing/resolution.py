"""Model name -> (provider, upstream model)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from aigateway.domain.providers import Provider


class Route(msgspec.Struct, frozen=True):
    provider: Provider
    model: str  # the name sent upstream


def resolve_model(model: str, providers: Iterable[Provider]) -> Route | None:
    """Resolve a client's model name.

    1. `provider/model` where `provider` is an active provider's id: that provider, `model`
       upstream (a model name may itself contain slashes, e.g. `openai/meta-llama/x`).
    2. Otherwise the active provider whose names or patterns match, highest priority first
       (ties broken by id so the answer never depends on load order).
    """
    active = sorted((p for p in providers if p.is_active), key=lambda p: (-p.priority, p.id))
    prefix, sep, rest = model.partition("/")
    if sep and rest:
        for provider in active:
            if provider.id == prefix:
                return Route(provider, rest)
    for provider in active:
        if provider.serves(model):
            return Route(provider, model)
    return None
