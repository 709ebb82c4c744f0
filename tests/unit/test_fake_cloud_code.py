"""The fake Cloud Code backend speaks the real shapes: envelopes, SSE lines, errors, the gates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.cloud_code import (
    MISSING_SIGNATURE,
    SKIP_SIGNATURE,
    UPGRADE_TEXT,
    FakeCloudCode,
    no_capacity,
)

TOKEN = "ya29.fake-access-0001"
TOOL = {"name": "get_weather", "parameters": {"type": "object"}}


@pytest.fixture
def fake() -> Iterator[FakeCloudCode]:
    with FakeCloudCode(tokens={TOKEN}) as server:
        yield server


def envelope(model: str, contents: list[dict[str, Any]], **inner: Any) -> dict[str, Any]:
    return {
        "project": "fake-project-0001",
        "model": model,
        "userAgent": "antigravity",
        "requestType": "agent",
        "requestId": "agent-0",
        "request": {"contents": contents, **inner},
    }


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def post(fake: FakeCloudCode, method: str, body: Any, token: str = TOKEN) -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/v1internal:{method}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "User-Agent": "antigravity/hub/2.19.1"},
    )


def sse_lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


def test_unknown_token_is_401(fake: FakeCloudCode) -> None:
    answer = post(fake, "generateContent", envelope("gemini-3-flash", [user("hi")]), "nope")
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


def test_answer_is_enveloped(fake: FakeCloudCode) -> None:
    answer = post(fake, "generateContent", envelope("gemini-3-flash", [user("hi")])).json()
    assert set(answer) == {"response", "traceId"}
    parts = answer["response"]["candidates"][0]["content"]["parts"]
    assert parts == [{"text": fake.reply_text}]


def test_stream_lines_are_envelopes_with_usage_apart(fake: FakeCloudCode) -> None:
    answer = post(fake, "streamGenerateContent?alt=sse", envelope("gemini-3-flash", [user("hi")]))
    lines = sse_lines(answer)
    assert "[DONE]" not in answer.text
    assert len({line["traceId"] for line in lines}) == 1
    texts = [
        p["text"]
        for line in lines
        for c in line["response"]["candidates"]
        for p in c["content"]["parts"]
    ]
    assert "".join(texts) == fake.reply_text
    assert lines[-2]["response"]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in lines[-1]["response"]


def test_gemini_call_needs_its_signature_back(fake: FakeCloudCode) -> None:
    tools = [{"functionDeclarations": [TOOL]}]
    first = post(fake, "generateContent", envelope("gemini-3-flash", [user("w?")], tools=tools))
    part = first.json()["response"]["candidates"][0]["content"]["parts"][0]
    call = part["functionCall"]
    result = {"functionResponse": {"id": call["id"], "name": call["name"], "response": {}}}
    unsigned = [user("w?"), {"role": "model", "parts": [{"functionCall": call}]}]
    unsigned.append({"role": "user", "parts": [result]})
    refused = post(fake, "generateContent", envelope("gemini-3-flash", unsigned, tools=tools))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == MISSING_SIGNATURE.format(
        name="get_weather", position=0
    )
    unsigned[1]["parts"][0]["thoughtSignature"] = "made-up"
    forged = post(fake, "generateContent", envelope("gemini-3-flash", unsigned, tools=tools))
    assert forged.status_code == 400
    unsigned[1]["parts"][0]["thoughtSignature"] = part["thoughtSignature"]
    signed = post(fake, "generateContent", envelope("gemini-3-flash", unsigned, tools=tools))
    assert signed.status_code == 200
    unsigned[1]["parts"][0]["thoughtSignature"] = SKIP_SIGNATURE  # Gemini's "not mine"
    skipped = post(fake, "generateContent", envelope("gemini-3-flash", unsigned, tools=tools))
    assert skipped.status_code == 200
    second = {"functionCall": {**call, "id": "fc_parallel"}}  # later calls of a step: unsigned
    unsigned[1]["parts"].append(second)
    parallel = post(fake, "generateContent", envelope("gemini-3-flash", unsigned, tools=tools))
    assert parallel.status_code == 200


def test_claude_refuses_geminis_sentinel(fake: FakeCloudCode) -> None:
    thought = {"text": "hm", "thought": True, "thoughtSignature": SKIP_SIGNATURE}
    contents = [user("w?"), {"role": "model", "parts": [thought]}, user("again")]
    refused = post(fake, "generateContent", envelope("claude-sonnet-4-6", contents))
    assert refused.status_code == 400
    assert "Invalid `signature`" in refused.json()["error"]["message"]


def test_claude_rules(fake: FakeCloudCode) -> None:
    json_schema = {"name": "get_weather", "parametersJsonSchema": {"type": "object"}}
    tools: Any = [{"functionDeclarations": [json_schema]}]
    body = envelope("claude-sonnet-4-6", [user("w?")], tools=tools)
    refused = post(fake, "generateContent", body)
    assert "tools.0.custom.input_schema: Field required" in refused.json()["error"]["message"]
    tools = [{"functionDeclarations": [TOOL]}]
    body = envelope("claude-sonnet-4-6", [user("w?")], tools=tools)
    assert post(fake, "generateContent", body).status_code == 400  # mode not VALIDATED
    calling = {"functionCallingConfig": {"mode": "VALIDATED"}}
    body = envelope("claude-sonnet-4-6", [user("w?")], tools=tools, toolConfig=calling)
    assert post(fake, "generateContent", body).status_code == 200
    forged = {"text": "", "thought": True, "thoughtSignature": "made-up"}
    contents = [user("w?"), {"role": "model", "parts": [forged, {"text": "ok"}]}, user("more")]
    assert post(fake, "generateContent", envelope("claude-sonnet-4-6", contents)).status_code == 400


def test_version_gate(fake: FakeCloudCode) -> None:
    fake.min_version = "2.9.0"
    fake.gated_models = {"gemini-3.7-flash-high"}
    old = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "antigravity/hub/2.2.1 darwin/arm64"}
    url = f"{fake.base_url}/v1internal:generateContent"
    text = httpx.post(url, json=envelope("gemini-3-flash", [user("hi")]), headers=old).json()
    assert text["response"]["candidates"][0]["content"]["parts"] == [{"text": UPGRADE_TEXT}]
    newer = httpx.post(url, json=envelope("gemini-3.7-flash-high", [user("hi")]), headers=old)
    assert newer.status_code == 404


def test_scripted_error_and_empty_stream(fake: FakeCloudCode) -> None:
    fake.errors["gemini-3-flash"] = no_capacity("gemini-3-flash")
    answer = post(fake, "generateContent", envelope("gemini-3-flash", [user("hi")]))
    assert answer.status_code == 503
    assert answer.json()["error"]["details"][0]["reason"] == "MODEL_CAPACITY_EXHAUSTED"
    fake.errors.clear()
    fake.empty_streams = 1
    stream = "streamGenerateContent?alt=sse"
    empty = sse_lines(post(fake, stream, envelope("gemini-3-flash", [user("hi")])))
    assert [c["content"]["parts"] for line in empty for c in line["response"]["candidates"]] == [[]]
    full = sse_lines(post(fake, stream, envelope("gemini-3-flash", [user("hi")])))
    assert len(full) > 1


def test_project_discovery_and_onboarding(fake: FakeCloudCode) -> None:
    fake.project = None
    loaded = post(fake, "loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}).json()
    assert "cloudaicompanionProject" not in loaded
    assert [t["id"] for t in loaded["allowedTiers"] if t.get("isDefault")] == ["free-tier"]
    body = {"tier_id": "free-tier", "metadata": {"ide_type": "ANTIGRAVITY"}}
    assert post(fake, "onboardUser", {"tierId": "free-tier"}).status_code == 400
    assert post(fake, "onboardUser", body).json()["done"] is False
    done = post(fake, "onboardUser", body).json()
    assert done["response"]["cloudaicompanionProject"]["id"] == fake.onboard_project
    again = post(fake, "loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}).json()
    assert again["cloudaicompanionProject"] == fake.onboard_project


def test_models_and_count_tokens(fake: FakeCloudCode) -> None:
    models = post(fake, "fetchAvailableModels", {}).json()
    assert models["models"]["gemini-3-flash"]["quotaInfo"]["remainingFraction"] == 0.75
    assert models["models"]["gemini-3-flash"]["model"].startswith("MODEL_PLACEHOLDER_")
    assert "deprecatedModelIds" in models
    request = {"model": "models/gemini-3-flash", "contents": [user("one two three")]}
    counted = post(fake, "countTokens", {"request": request})
    assert counted.json() == {"totalTokens": 3}
    unnamed = post(fake, "countTokens", {"request": {"contents": [user("one two three")]}})
    assert unnamed.status_code == 400
