"""Hostile or unusual chat bodies against the real app in-process: a clear answer, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from aigateway.entrypoints.http.app import create_app
from tests.fakes.openai_upstream import FakeOpenAI
from tests.integration.test_app_inprocess import ADMIN, settings_for

DEPTH = 5000


def nested_body(model: str, **fields: Any) -> bytes:
    """A valid chat body plus an unknown field holding a list nested DEPTH deep."""
    extra = b"".join(b',"%s":%d' % (k.encode(), v) for k, v in fields.items())
    return (
        b'{"model":"%s"%s,"messages":[{"role":"user","content":"hi"}],"x_deep":'
        % (model.encode(), extra)
        + b"[" * DEPTH
        + b"]" * DEPTH
        + b"}"
    )


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(create_app(await settings_for(tmp_path))) as test_client:
        yield test_client


async def client_key(client: AsyncTestClient) -> dict[str, str]:  # type: ignore[type-arg]
    issued = await client.post("/api/v1/api-keys", headers=ADMIN, json={})
    return {"Authorization": f"Bearer {issued.json()['key']}"}


async def test_deeply_nested_chat_completions_body_is_a_400_in_openai_format(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    headers = await client_key(client)
    response = await client.post(
        "/v1/chat/completions", content=nested_body("gpt-4o"), headers=headers
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "nested too deeply" in error["message"]


async def test_deeply_nested_messages_body_is_a_400_in_anthropic_format(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    headers = await client_key(client)
    body = nested_body("claude-sonnet-4-5", max_tokens=64)
    response = await client.post("/v1/messages", content=body, headers=headers)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["type"] == "error"
    assert answer["error"]["type"] == "invalid_request_error"
    assert "nested too deeply" in answer["error"]["message"]


async def test_a_vllm_video_part_passes_through_byte_for_byte(
    client: AsyncTestClient,  # type: ignore[type-arg]
    fake_openai: FakeOpenAI,
) -> None:
    """Passthrough validates only what routing needs: an OpenAI-compatible server's own part
    types and message fields reach it untouched."""
    update = {"base_url": fake_openai.base_url, "models": ["qwen2-vl"]}
    patched = await client.patch("/api/v1/providers/openai", headers=ADMIN, json=update)
    assert patched.status_code == 200, patched.text
    account = {"provider_id": "openai", "auth_data": {"api_key": "sk-vllm-key-0001"}}
    created = await client.post("/api/v1/accounts", headers=ADMIN, json=account)
    assert created.status_code == 201, created.text
    body = (
        b'{"model": "qwen2-vl", "messages": [{"role": "user", "content": ['
        b'{"type": "text", "text": "What happens in this video?"}, '
        b'{"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}}], '
        b'"mm_processor_kwargs": {"fps": 2}}]}'
    )
    response = await client.post(
        "/v1/chat/completions", content=body, headers=await client_key(client)
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == fake_openai.reply_text
    assert [call.raw for call in fake_openai.calls] == [body]
