"""Finding (or creating) the Cloud Code project of a Google account, on the production
discovery adapter over a scripted backend."""

from __future__ import annotations

import pytest

from aigateway.adapters.upstream.cloud_code.discovery import CloudCodeDiscovery
from aigateway.application.ports.onboarding import DiscoveryFailed
from tests.doubles.routes import VIA
from tests.unit.cloud_code_world import DAILY, PROD, CloudCode, antigravity

TOKEN = "ya29.secret-access-token"


async def no_sleep(_: float) -> None:
    return None


def discovery(backend: CloudCode, attempts: int = 5) -> CloudCodeDiscovery:
    return CloudCodeDiscovery(backend, attempts=attempts, sleep=no_sleep)


@pytest.mark.parametrize("project", ["proj-string-1", {"id": "proj-object-1", "name": "x"}])
async def test_the_project_loadcodeassist_reports_is_used(project: object) -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", (200, {"cloudaicompanionProject": project}))
    found = await discovery(backend).discover(antigravity(), TOKEN, VIA)
    assert found in ("proj-string-1", "proj-object-1")
    assert backend.calls("onboardUser") == []
    (request,) = backend.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == "antigravity/hub/2.19.1 darwin/arm64"
    assert backend.calls("loadCodeAssist") == [(DAILY, {"metadata": {"ideType": "ANTIGRAVITY"}})]


async def test_the_user_agent_follows_the_provider_config() -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", (200, {"cloudaicompanionProject": "p"}))
    provider = antigravity(
        user_agent="antigravity/ide/{version} linux/amd64", client_version="3.0.0"
    )
    await discovery(backend).discover(provider, TOKEN, VIA)
    assert backend.requests[0].headers["User-Agent"] == "antigravity/ide/3.0.0 linux/amd64"


async def test_without_a_project_the_user_is_onboarded_on_the_default_tier_polling() -> None:
    backend = CloudCode()
    backend.script(
        "loadCodeAssist",
        (
            200,
            {
                "currentTier": {"id": "legacy-tier"},
                "allowedTiers": [{"id": "free-tier"}, {"id": "standard-tier", "isDefault": True}],
            },
        ),
    )
    backend.script(
        "onboardUser",
        (200, {"done": False}),
        (200, {"done": False}),
        (200, {"done": True, "response": {"cloudaicompanionProject": {"id": "new-proj-7"}}}),
    )
    found = await discovery(backend).discover(antigravity(), TOKEN, VIA)
    assert found == "new-proj-7"
    onboards = backend.calls("onboardUser")
    assert len(onboards) == 3
    assert onboards[0][1] == {
        "tier_id": "standard-tier",
        "metadata": {"ide_type": "ANTIGRAVITY", "ide_version": "2.19.1", "ide_name": "antigravity"},
    }


@pytest.mark.parametrize(
    ("load", "tier"),
    [
        ({"currentTier": {"id": "g1-pro-tier"}, "allowedTiers": [{"id": "x"}]}, "g1-pro-tier"),
        ({}, "free-tier"),
    ],
)
async def test_the_tier_falls_back_to_the_current_then_the_free_one(
    load: dict[str, object], tier: str
) -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", (200, load))
    backend.script(
        "onboardUser", (200, {"done": True, "response": {"cloudaicompanionProject": "p"}})
    )
    assert await discovery(backend).discover(antigravity(), TOKEN, VIA) == "p"
    assert backend.calls("onboardUser")[0][1]["tier_id"] == tier


async def test_an_onboarding_that_never_finishes_is_a_clear_error_after_the_attempts() -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", (200, {}))
    backend.script("onboardUser", (200, {"done": False}))
    with pytest.raises(DiscoveryFailed, match="still not done after 4 attempts") as failure:
        await discovery(backend, attempts=4).discover(antigravity(), TOKEN, VIA)
    assert len(backend.calls("onboardUser")) == 4
    assert TOKEN not in str(failure.value)


async def test_the_overall_deadline_bounds_the_polling() -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", (200, {}))
    backend.script("onboardUser", (200, {"done": False}))
    slow = CloudCodeDiscovery(backend, attempts=1000, interval_s=0.05, deadline_s=0.2)
    with pytest.raises(DiscoveryFailed, match=r"did not finish within 0\.2 s"):
        await slow.discover(antigravity(), TOKEN, VIA)
    assert len(backend.calls("onboardUser")) < 1000


async def test_done_without_a_project_is_an_error_not_a_fallback_project() -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", (200, {}))
    backend.script("onboardUser", (200, {"done": True, "response": {}}))
    with pytest.raises(DiscoveryFailed, match="without a project"):
        await discovery(backend).discover(antigravity(), TOKEN, VIA)


async def test_the_next_base_url_is_tried_on_network_errors_and_5xx() -> None:
    backend = CloudCode()
    backend.script("loadCodeAssist", "unreachable", base=DAILY)
    backend.script("loadCodeAssist", (200, {"cloudaicompanionProject": "from-prod"}), base=PROD)
    assert await discovery(backend).discover(antigravity(), TOKEN, VIA) == "from-prod"
    assert [base for base, _ in backend.calls("loadCodeAssist")] == [DAILY, PROD]


async def test_a_refusal_names_the_status_and_the_upstream_message_without_the_token() -> None:
    backend = CloudCode()
    backend.script(
        "loadCodeAssist",
        (403, {"error": {"code": 403, "message": "The caller does not have permission"}}),
    )
    with pytest.raises(DiscoveryFailed) as failure:
        await discovery(backend).discover(antigravity(), TOKEN, VIA)
    message = str(failure.value)
    assert "HTTP 403: The caller does not have permission" in message
    assert TOKEN not in message
    assert len(backend.requests) == 1  # a 403 is the account's answer: no other endpoint asked
