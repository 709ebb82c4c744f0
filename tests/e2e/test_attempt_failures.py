"""What a client sees when an upstream fails in a way hidden from the status line, and what
passes through untouched; driven by the official SDKs against the real gateway process."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.anthropic_upstream import FakeAnthropic, anthropic_error

pytestmark = pytest.mark.e2e
# Each test uses its own model name: a failed attempt cools (account, model) down.

KEY_BROKEN = "sk-ant-test-attempts-broken-0001"
KEY_GOOD = "sk-ant-test-attempts-good-0002"
REPLY = "Hello from the fake Anthropic upstream."
CLAUDE = "claude-sonnet-4-5"
OVERLOADED = anthropic_error("overloaded_error", "Overloaded")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(reply_text=REPLY) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, fake: FakeAnthropic) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("attempts")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        with gw.admin() as admin:
            admin.patch(
                "/providers/anthropic", json={"base_url": fake.base_url, "models": ["claude-*"]}
            ).raise_for_status()
            for key in (KEY_BROKEN, KEY_GOOD):
                admin.post(
                    "/accounts",
                    json={"provider_id": "anthropic", "auth_data": {"api_key": key}},
                ).raise_for_status()
        yield gw


@pytest.fixture(scope="module")
def client_key(gateway: Gateway) -> str:
    with gateway.admin() as admin:
        created = admin.post("/api-keys", json={"label": "attempts"})
        created.raise_for_status()
        return str(created.json()["key"])


def test_an_error_inside_a_200_is_never_an_empty_success_for_a_translated_client(
    gateway: Gateway, fake: FakeAnthropic, client_key: str
) -> None:
    fake.errors[KEY_BROKEN] = (200, OVERLOADED)
    try:
        with openai.OpenAI(
            base_url=f"{gateway.base_url}/v1", api_key=client_key, max_retries=0
        ) as client:
            for _ in range(2):  # whichever account is first, the answer is the real one
                answer = client.chat.completions.create(
                    model="claude-in-200", messages=[{"role": "user", "content": "hi"}]
                )
                assert answer.choices[0].message.content == REPLY
    finally:
        del fake.errors[KEY_BROKEN]
    assert KEY_BROKEN in fake.keys_seen()


def test_a_stream_whose_first_event_is_an_error_moves_to_another_account(
    gateway: Gateway, fake: FakeAnthropic, client_key: str
) -> None:
    fake.stream_errors[KEY_BROKEN] = OVERLOADED
    before = len(fake.calls)
    try:
        with anthropic.Anthropic(
            base_url=gateway.base_url, api_key=client_key, max_retries=0
        ) as client:
            for _ in range(2):
                with client.messages.stream(
                    model="claude-first-event",
                    max_tokens=64,
                    messages=[{"role": "user", "content": "hi"}],
                ) as stream:
                    assert stream.get_final_text() == REPLY
    finally:
        del fake.stream_errors[KEY_BROKEN]
    assert KEY_BROKEN in fake.keys_seen()[before:]


def test_beta_headers_and_query_reach_an_anthropic_upstream(
    gateway: Gateway, fake: FakeAnthropic, client_key: str
) -> None:
    before = len(fake.calls)
    with anthropic.Anthropic(base_url=gateway.base_url, api_key=client_key, max_retries=0) as c:
        c.beta.messages.create(
            model=CLAUDE,
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            betas=["interleaved-thinking-2025-05-14"],
        )
    (call,) = fake.calls[before:]
    betas = {k.lower(): v for k, v in call.headers.items()}.get("anthropic-beta", "")
    assert "interleaved-thinking-2025-05-14" in betas


def test_an_over_long_model_name_is_a_400_naming_the_limit(
    gateway: Gateway, fake: FakeAnthropic, client_key: str
) -> None:
    before = len(fake.calls)
    answer = httpx.post(
        f"{gateway.base_url}/v1/messages",
        headers={"x-api-key": client_key, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-" + "x" * 100_000,
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=30,
    )
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "error" and "256" in error["error"]["message"]
    assert len(fake.calls) == before
