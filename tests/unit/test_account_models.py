"""What Antigravity accounts report: the fetchAvailableModels adapter over a scripted backend,
and the per-account project source (operator-given wins, one discovery per account, saved)."""

from __future__ import annotations

import asyncio

from aigateway.adapters.upstream.cloud_code.available_models import CloudCodeModels
from aigateway.application.use_cases.projects import AccountProjects
from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
    InMemoryUnitsOfWork,
)
from tests.doubles.routes import VIA
from tests.unit.cloud_code_world import CloudCode, antigravity

ANSWER = {
    "models": {
        "gemini-3-flash": {
            "displayName": "Gemini 3 Flash",
            "model": "MODEL_PLACEHOLDER_M18",
            "quotaInfo": {"remainingFraction": 0.25, "resetTime": "2026-10-20T10:00:00Z"},
        },
        "claude-opus-4-6-thinking": {"quotaInfo": {"resetTime": "2026-10-21T09:00:00Z"}},
        "gpt-oss-120b-medium": {"displayName": "GPT-OSS"},
        "chat_20706": {"displayName": "internal"},
        "tab_flash_lite_preview": {},
    },
    "deprecatedModelIds": {"gemini-3.5-flash": {"newModelId": "gemini-3-flash"}},
}


async def test_models_are_the_runtime_ids_with_their_quota() -> None:
    backend = CloudCode()
    backend.script("fetchAvailableModels", (200, ANSWER))
    report = await CloudCodeModels(backend).fetch(antigravity(), "tok", "proj-9", VIA)
    assert report.ids() == ("claude-opus-4-6-thinking", "gemini-3-flash", "gpt-oss-120b-medium")
    by_id = {m.model: m for m in report.models}
    assert by_id["gemini-3-flash"].remaining_fraction == 0.25
    assert by_id["gemini-3-flash"].display_name == "Gemini 3 Flash"
    assert by_id["claude-opus-4-6-thinking"].remaining_fraction == 0.0  # reset time, no fraction
    assert by_id["gpt-oss-120b-medium"].remaining_fraction is None  # no quota reported
    assert report.deprecated == {"gemini-3.5-flash": "gemini-3-flash"}
    assert backend.calls("fetchAvailableModels")[0][1] == {"project": "proj-9"}


class CountingDiscovery:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def discover(self, provider: Provider, access_token: str, route: Route) -> str:
        self.calls += 1
        await self.release.wait()
        return "found-project"


def account(**auth: str) -> Account:
    data = {"access_token": "a", "refresh_token": "r", **auth}
    return Account(
        id="acc-1", provider_id="antigravity", label="x", credential=credential_from_auth_data(data)
    )


def projects_world() -> tuple[AccountProjects, CountingDiscovery, InMemoryAccountRepository]:
    providers = InMemoryProviderRepository([antigravity()])
    accounts = InMemoryAccountRepository(providers)

    async def changed() -> None:
        return None

    uow = InMemoryUnitsOfWork(providers, accounts, InMemoryClientKeyRepository(), changed)
    discovery = CountingDiscovery()
    return AccountProjects(discovery, uow), discovery, accounts


async def test_the_operator_given_project_wins() -> None:
    projects, discovery, _ = projects_world()
    found = await projects.project_for(account(project_id="given"), antigravity(), "a", VIA)
    assert found == "given"
    assert discovery.calls == 0


async def test_one_discovery_per_account_saved_into_its_auth_data() -> None:
    projects, discovery, accounts = projects_world()
    await accounts.add(account())
    waiting = [
        asyncio.ensure_future(projects.project_for(account(), antigravity(), "a", VIA))
        for _ in range(10)
    ]
    await asyncio.sleep(0)
    discovery.release.set()
    assert set(await asyncio.gather(*waiting)) == {"found-project"}
    assert discovery.calls == 1
    stored = await accounts.get("acc-1")
    assert stored.credential.data["project_id"] == "found-project"
    assert stored.credential.data["refresh_token"] == "r"  # the rest of the credential kept
    assert await projects.project_for(account(), antigravity(), "a", VIA) == "found-project"
    assert discovery.calls == 1
