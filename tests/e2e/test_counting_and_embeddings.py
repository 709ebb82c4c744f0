"""Token counting (`POST /v1/messages/count_tokens`) and embeddings (`POST /v1/embeddings`),
driven by the official anthropic and openai SDKs against the real server.

One embedded gateway with three providers:
- `openai` (kind openai) on a FakeOpenAI upstream, two accounts: `gpt-*` and
  `text-embedding-*` models;
- `anthropic` (kind anthropic) on a FakeAnthropic upstream, one account: `claude-*`;
- `local` (kind openai) on the same FakeOpenAI, no account at all: `local-*`.
Anthropic's counter is asked for a `claude-*` count; a `local-*` count is estimated by the
gateway without calling anything. Cooldowns and rotation are kept per model, so each test that
needs a pool of its own state uses a model name of its own.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic.types import ToolParam

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes import embeddings
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import Call, FakeOpenAI

pytestmark = pytest.mark.e2e

OPENAI_KEYS = ("sk-test-embeddings-account-0", "sk-test-embeddings-account-1")
ANTHROPIC_KEY = "sk-ant-test-counting-0001"
CLAUDE = "claude-sonnet-4-5"
COUNT_HEADER = "x-aigateway-token-count"
TIMEOUT_S = 30.0
QUESTION = "what is the weather in Paris today"  # seven words
WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "The current weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("counting")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw


@pytest.fixture(scope="module")
def accounts(
    gateway: Gateway, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> dict[str, str]:
    """The providers on their fakes; upstream key -> account id, and `client` -> a client key."""
    found: dict[str, str] = {}
    with gateway.admin() as admin:
        admin.patch(
            "/providers/openai",
            json={"base_url": fake_openai.base_url, "models": ["gpt-*", "text-embedding-*"]},
        ).raise_for_status()
        admin.patch(
            "/providers/anthropic",
            json={"base_url": fake_anthropic.base_url, "models": ["claude-*"]},
        ).raise_for_status()
        admin.post(
            "/providers",
            json={
                "id": "local",
                "name": "Local",
                "kind": "openai",
                "base_url": fake_openai.base_url,
                "models": ["local-*"],
            },
        ).raise_for_status()
        owned = [("openai", key) for key in OPENAI_KEYS] + [("anthropic", ANTHROPIC_KEY)]
        for provider, key in owned:
            created = admin.post(
                "/accounts",
                json={"provider_id": provider, "auth_data": {"api_key": key}, "is_active": True},
            )
            created.raise_for_status()
            found[key] = str(created.json()["id"])
        issued = admin.post("/api-keys", json={"label": "counting"})
        issued.raise_for_status()
        found["client"] = str(issued.json()["key"])
    return found


@pytest.fixture
def ant(gateway: Gateway, accounts: dict[str, str]) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=gateway.base_url, api_key=accounts["client"], max_retries=0, timeout=TIMEOUT_S
    ) as client:
        yield client


@pytest.fixture
def oai(gateway: Gateway, accounts: dict[str, str]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{gateway.base_url}/v1",
        api_key=accounts["client"],
        max_retries=0,
        timeout=TIMEOUT_S,
    ) as client:
        yield client


def log_rows(gateway: Gateway, model: str, count: int) -> list[dict[str, Any]]:
    """The request-log rows of `model`, once `count` of them are written."""
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(Path(gateway.workdir) / "data" / "aigateway.db") as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT provider_id, account_id, status_code, prompt_tokens, retry_count"
                " FROM request_logs WHERE model = ? ORDER BY id",
                (model,),
            ).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            assert len(rows) == count, f"{len(rows)} log rows of {model}, expected {count}"
            return [dict(row) for row in rows]
        time.sleep(0.1)


def header(call: Call, name: str) -> str:
    return next((v for k, v in call.headers.items() if k.lower() == name), "")


# --- count_tokens -----------------------------------------------------------------------------


def test_an_anthropic_model_is_counted_by_anthropic(
    ant: anthropic.Anthropic, fake_anthropic: FakeAnthropic, gateway: Gateway
) -> None:
    before = len(fake_anthropic.calls)
    raw = ant.messages.with_raw_response.count_tokens(
        model=CLAUDE,
        system="be brief",
        messages=[{"role": "user", "content": QUESTION}],
        tools=[WEATHER_TOOL],
    )
    counted = raw.parse()
    (call,) = fake_anthropic.calls[before:]
    assert call.path == "/v1/messages/count_tokens" and call.key == ANTHROPIC_KEY
    assert "max_tokens" not in call.body and call.body["tools"][0]["name"] == "get_weather"
    assert counted.input_tokens == json.loads(fake_anthropic.raw_responses[before])["input_tokens"]
    assert counted.input_tokens > 7 + 2  # the question, the system prompt and the tool
    assert raw.headers[COUNT_HEADER] == "upstream"
    (row,) = log_rows(gateway, CLAUDE, 1)
    assert row["provider_id"] == "anthropic" and row["status_code"] == 200
    assert row["prompt_tokens"] == counted.input_tokens and row["account_id"]


def test_the_beta_counter_passes_its_betas_and_query_to_anthropic(
    ant: anthropic.Anthropic,
    fake_anthropic: FakeAnthropic,
    gateway: Gateway,
    accounts: dict[str, str],
) -> None:
    model = "claude-beta-counting"
    before = len(fake_anthropic.calls)
    raw = ant.beta.messages.with_raw_response.count_tokens(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        betas=["context-management-2025-06-27"],
    )
    assert raw.parse().input_tokens == 7
    assert raw.headers[COUNT_HEADER] == "upstream"
    # Claude Code's own client marks its beta calls with `?beta=true`
    marked = httpx.post(
        f"{gateway.base_url}/v1/messages/count_tokens?beta=true",
        json={"model": model, "messages": [{"role": "user", "content": "three more words"}]},
        headers={
            "x-api-key": accounts["client"],
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "claude-code-20250219",
        },
        timeout=TIMEOUT_S,
    )
    assert marked.json() == {"input_tokens": 3}
    sdk, claude_code = fake_anthropic.calls[before:]
    sdk_betas = header(sdk, "anthropic-beta").split(",")
    assert {"context-management-2025-06-27", "token-counting-2024-11-01"} <= set(sdk_betas)
    assert claude_code.query == "beta=true"
    assert "claude-code-20250219" in header(claude_code, "anthropic-beta").split(",")


def test_a_model_of_a_kind_without_a_counter_is_estimated_without_any_account(
    ant: anthropic.Anthropic,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    gateway: Gateway,
) -> None:
    model = "local-small"
    before = (len(fake_openai.calls), len(fake_anthropic.calls))
    prompt = "abcd" * 100  # 400 characters: 100 tokens at four characters a token
    raw = ant.messages.with_raw_response.count_tokens(
        model=model, messages=[{"role": "user", "content": prompt}]
    )
    assert raw.parse().input_tokens == 100
    assert raw.headers[COUNT_HEADER] == "estimate"
    with_tool = ant.messages.count_tokens(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        tools=[WEATHER_TOOL],
    )
    assert with_tool.input_tokens > 100
    beta = ant.beta.messages.count_tokens(
        model=model, messages=[{"role": "user", "content": prompt}]
    )
    assert beta.input_tokens == 100
    assert (len(fake_openai.calls), len(fake_anthropic.calls)) == before  # no upstream call
    rows = log_rows(gateway, model, 3)
    assert [r["prompt_tokens"] for r in rows] == [100, with_tool.input_tokens, 100]
    assert {(r["provider_id"], r["account_id"], r["status_code"]) for r in rows} == {
        ("local", None, 200)
    }


def test_counting_an_unknown_model_is_a_404_in_anthropics_format(
    ant: anthropic.Anthropic,
) -> None:
    with pytest.raises(anthropic.NotFoundError) as refused:
        ant.messages.count_tokens(
            model="nobody-serves-this", messages=[{"role": "user", "content": QUESTION}]
        )
    assert refused.value.body["type"] == "error"  # type: ignore[index]
    assert "nobody-serves-this" in refused.value.message


def test_an_estimate_of_an_unreadable_body_is_a_400_in_anthropics_format(
    gateway: Gateway, accounts: dict[str, str]
) -> None:
    model = "local-unreadable"
    body = {"model": model, "messages": [{"role": "user", "content": [{"type": "text"}]}]}
    answered = httpx.post(
        f"{gateway.base_url}/v1/messages/count_tokens",
        json=body,
        headers={"x-api-key": accounts["client"], "anthropic-version": "2023-06-01"},
        timeout=TIMEOUT_S,
    )
    assert answered.status_code == 400
    error = answered.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "text" in error["error"]["message"]
    (row,) = log_rows(gateway, model, 1)
    assert (row["provider_id"], row["status_code"], row["prompt_tokens"]) == ("local", 400, None)


# --- embeddings -------------------------------------------------------------------------------


def test_embeddings_of_a_string_and_of_a_list_come_back_as_the_upstream_made_them(
    oai: openai.OpenAI, fake_openai: FakeOpenAI, accounts: dict[str, str], gateway: Gateway
) -> None:
    model = "text-embedding-3-small"
    before = len(fake_openai.calls)
    one = oai.embeddings.create(model=model, input="hello there world")
    assert [d.embedding for d in one.data] == [embeddings.vector("hello there world", 8)]
    assert one.usage.prompt_tokens == 3 and one.model == model
    many = oai.embeddings.create(model=model, input=["first text", "second one here"])
    assert [d.index for d in many.data] == [0, 1]
    assert [d.embedding for d in many.data] == [
        embeddings.vector("first text", 8),
        embeddings.vector("second one here", 8),
    ]
    floats = oai.embeddings.create(model=model, input="plain", encoding_format="float")
    assert floats.data[0].embedding == embeddings.vector("plain", 8)
    calls = fake_openai.calls[before:]
    assert [c.path for c in calls] == ["/v1/embeddings"] * 3
    # the SDK asks for base64 unless told otherwise; the gateway passes it on untouched
    assert [c.body.get("encoding_format") for c in calls] == ["base64", "base64", "float"]
    rows = log_rows(gateway, model, 3)
    assert [r["prompt_tokens"] for r in rows] == [3, 5, 1]
    assert [r["account_id"] for r in rows] == [accounts[c.key] for c in calls]


def test_embeddings_rotate_across_the_accounts_of_the_pool(
    oai: openai.OpenAI, fake_openai: FakeOpenAI, accounts: dict[str, str], gateway: Gateway
) -> None:
    model = "text-embedding-rotation"
    before = len(fake_openai.calls)
    for n in range(4):
        oai.embeddings.create(model=model, input=f"text number {n}")
    keys = [c.key for c in fake_openai.calls[before:]]
    assert sorted(keys) == sorted(OPENAI_KEYS * 2)
    assert all(a != b for a, b in itertools.pairwise(keys))
    rows = log_rows(gateway, model, 4)
    assert [r["account_id"] for r in rows] == [accounts[key] for key in keys]
    assert {r["prompt_tokens"] for r in rows} == {3}


@pytest.mark.parametrize(
    ("status", "error_type"), [(429, "rate_limit_exceeded"), (500, "server_error")]
)
def test_embeddings_fail_over_when_an_account_is_refused(
    oai: openai.OpenAI,
    fake_openai: FakeOpenAI,
    accounts: dict[str, str],
    gateway: Gateway,
    status: int,
    error_type: str,
) -> None:
    model = f"text-embedding-failover-{status}"
    failing, healthy = OPENAI_KEYS
    before = len(fake_openai.calls)
    fake_openai.errors[failing] = (status, {"error": {"message": "no", "type": error_type}})
    try:
        # two requests: rotation puts the failing account first for one of them
        answers = [oai.embeddings.create(model=model, input="two words") for _ in range(2)]
    finally:
        del fake_openai.errors[failing]
    assert all(a.data[0].embedding == embeddings.vector("two words", 8) for a in answers)
    keys = [c.key for c in fake_openai.calls[before:]]
    assert keys.count(failing) == 1 and keys.count(healthy) == 2
    assert keys[keys.index(failing) + 1] == healthy  # the refused one, then the next
    rows = log_rows(gateway, model, 2)
    assert {(r["account_id"], r["status_code"], r["prompt_tokens"]) for r in rows} == {
        (accounts[healthy], 200, 2)
    }
    assert sorted(r["retry_count"] for r in rows) == [0, 1]


def test_embeddings_of_a_model_served_by_anthropic_are_a_400_in_openais_format(
    oai: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    before = len(fake_anthropic.calls)
    with pytest.raises(openai.BadRequestError) as refused:
        oai.embeddings.create(model=CLAUDE, input="hello")
    error = refused.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    assert "provider anthropic" in error["message"] and "embeddings" in error["message"]
    assert len(fake_anthropic.calls) == before


def test_an_embeddings_request_the_upstream_refuses_reaches_the_client_as_it_said(
    oai: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    before = len(fake_openai.calls)
    with pytest.raises(openai.BadRequestError) as refused:
        oai.embeddings.create(model="text-embedding-refused", input=["fine", ""])
    error = refused.value.body
    assert isinstance(error, dict) and error["message"] == "'$.input[1]' is invalid"
    assert len(fake_openai.calls) == before + 1  # a refusal of the request: no other account
