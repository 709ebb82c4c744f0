"""`fetchAvailableModels`: the models a Cloud Code account may use, with its quota.

The answer's `models` is a map keyed by runtime id (the id requests name); each entry's
`model` field is a placeholder enum that fails when sent, so it is never read. Internal ids
(`chat_*`, `tab_*`) are not models a client can ask for and are skipped. A quota without a
`remainingFraction` but with a `resetTime` is exhausted (0)."""

from __future__ import annotations

from typing import Any

from aigateway.adapters.upstream.cloud_code.calls import CallFailed, call
from aigateway.application.ports.upstream import Upstream
from aigateway.application.ports.upstream_models import ModelQuota, ModelsReport, ModelsUnavailable
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route

INTERNAL_PREFIXES = ("chat_", "tab_")
MAX_MODELS = 500


def _fraction(quota: Any) -> float | None:
    if not isinstance(quota, dict):
        return None
    value = quota.get("remainingFraction")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return min(1.0, max(0.0, float(value)))
    return 0.0 if isinstance(quota.get("resetTime"), str) else None


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def report_of(answer: dict[str, Any]) -> ModelsReport:
    models = answer.get("models")
    entries: list[ModelQuota] = []
    if isinstance(models, dict):
        for model_id, entry in models.items():
            if not model_id or model_id.startswith(INTERNAL_PREFIXES) or len(model_id) > 191:
                continue
            info = entry if isinstance(entry, dict) else {}
            quota = info.get("quotaInfo")
            entries.append(
                ModelQuota(
                    model=model_id,
                    display_name=_text(info.get("displayName")),
                    remaining_fraction=_fraction(quota),
                    reset_time=_text(quota.get("resetTime")) if isinstance(quota, dict) else None,
                )
            )
            if len(entries) >= MAX_MODELS:
                break
    deprecated: dict[str, str] = {}
    found = answer.get("deprecatedModelIds")
    if isinstance(found, dict):
        for old, new in list(found.items())[:MAX_MODELS]:
            new_id = new.get("newModelId") if isinstance(new, dict) else None
            if isinstance(new_id, str) and new_id:
                deprecated[old] = new_id
    return ModelsReport(models=tuple(sorted(entries, key=lambda m: m.model)), deprecated=deprecated)


class CloudCodeModels:
    """`ModelsSource` over the provider's base URLs."""

    def __init__(self, upstream: Upstream, *, timeout_s: float = 10.0) -> None:
        self._upstream = upstream
        self._timeout_s = timeout_s

    async def fetch(
        self, provider: Provider, secret: str, project: str, route: Route
    ) -> ModelsReport:
        try:
            answer = await call(
                self._upstream,
                provider,
                secret,
                "fetchAvailableModels",
                {"project": project},
                route=route,
                timeout_s=self._timeout_s,
            )
        except CallFailed as exc:
            raise ModelsUnavailable(str(exc)) from None
        return report_of(answer)
