from __future__ import annotations

from typing import Any

from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.routing.resolution import ModelRouter, Route


def provider(pid: str, models: tuple[str, ...], priority: int = 0, active: bool = True) -> Provider:
    return Provider(
        id=pid,
        name=pid,
        kind=ProviderKind.OPENAI,
        base_url="http://x",
        models=models,
        priority=priority,
        is_active=active,
    )


def resolve(model: str, providers: list[Provider]) -> Route | None:
    return ModelRouter(providers).resolve(model)


def test_explicit_provider_prefix_wins_and_is_stripped() -> None:
    providers = [provider("openai", ("gpt-*",)), provider("local", ("llama-*",))]
    route = resolve("local/gpt-4o", providers)
    assert route is not None and route.provider.id == "local" and route.model == "gpt-4o"


def test_model_names_with_slashes_still_match_patterns() -> None:
    route = resolve("meta-llama/Llama-3", [provider("together", ("meta-llama/*",))])
    assert route is not None and route.provider.id == "together"
    assert route.model == "meta-llama/Llama-3"


def test_highest_priority_match_wins() -> None:
    providers = [provider("a", ("gpt-*",), priority=1), provider("b", ("gpt-4o",), priority=5)]
    route = resolve("gpt-4o", providers)
    assert route is not None and route.provider.id == "b"


def test_inactive_providers_are_ignored() -> None:
    assert resolve("gpt-4o", [provider("a", ("gpt-*",), active=False)]) is None
    assert resolve("a/gpt-4o", [provider("a", ("gpt-*",), active=False)]) is None


def test_no_match_is_none() -> None:
    assert resolve("mystery", [provider("a", ("gpt-*",))]) is None


def test_listed_models_skip_patterns() -> None:
    assert provider("a", ("gpt-*", "o1", "x?")).listed_models() == ("o1",)


def test_router_memo_is_bounded_and_never_changes_an_answer() -> None:
    router = ModelRouter([provider("a", ("gpt-*",)), provider("b", ("llama-*",))])
    names = [f"gpt-{i}" for i in range(ModelRouter.MAX_MEMO + 10)] + ["llama-3", "mystery"]
    first = [router.resolve(n) for n in names]
    again = [router.resolve(n) for n in names]
    assert first == again
    assert len(router._memo) <= ModelRouter.MAX_MEMO
    assert [r.provider.id if r else None for r in first[-2:]] == ["b", None]


def test_state_is_keyed_by_listed_models_and_one_key_for_the_rest() -> None:
    from aigateway.domain.routing.resolution import UNLISTED, ModelRouter

    router = ModelRouter(
        [
            Provider(
                id="openai",
                name="o",
                kind=ProviderKind.OPENAI,
                base_url="http://o",
                models=("gpt-*", "o1"),
            )
        ]
    )
    assert (router.resolve("openai/gpt-4o") or _none()).key == "gpt-4o"
    assert (router.resolve("o1") or _none()).key == "o1"
    assert (router.resolve("openai/anything-else") or _none()).key == UNLISTED
    assert (router.resolve("openai/anything-else") or _none()).model == "anything-else"


def _none() -> Any:
    raise AssertionError("not resolved")
