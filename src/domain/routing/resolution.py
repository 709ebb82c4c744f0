"""Model name -> (provider, upstream model)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from aigateway.domain.providers import Provider

UNLISTED = "~unlisted"  # the state key of names a provider does not list (see Route.key)


class Route(msgspec.Struct, frozen=True):
    provider: Provider
    model: str  # the name sent upstream
    # what per-model state (round-robin turn, cooldowns) is kept under: the model when the
    # provider lists it or a pattern of it matches; `provider/<anything else>` shares one key,
    # so client-chosen names cannot each create shared state
    key: str


class ModelRouter:
    """Resolves client model names against a fixed set of providers; answers are memoised.

    1. `provider/model` where `provider` is an active provider's id: that provider, `model`
       upstream (a model name may itself contain slashes, e.g. `openai/meta-llama/x`).
    2. Otherwise the active provider whose names or patterns match, highest priority first
       (ties broken by id so the answer never depends on load order).
    """

    MAX_MEMO = 4096

    def __init__(self, providers: Iterable[Provider]) -> None:
        self._active = tuple(
            sorted((p for p in providers if p.is_active), key=lambda p: (-p.priority, p.id))
        )
        self._by_id = {p.id: p for p in self._active}
        self._memo: dict[str, Route | None] = {}

    @property
    def active(self) -> tuple[Provider, ...]:
        return self._active

    def resolve(self, model: str) -> Route | None:
        try:
            return self._memo[model]
        except KeyError:
            pass
        route = self._resolve(model)
        if len(self._memo) >= self.MAX_MEMO:  # clients choose model names: stay bounded
            self._memo.clear()
        self._memo[model] = route
        return route

    def _resolve(self, model: str) -> Route | None:
        prefix, sep, rest = model.partition("/")
        if sep and rest and prefix in self._by_id:
            provider = self._by_id[prefix]
            return Route(provider, rest, rest if provider.serves(rest) else UNLISTED)
        for provider in self._active:
            if provider.serves(model):
                return Route(provider, model, model)
        return None
