"""The model lists, in the format of the client asking: `GET /v1/models` is shared by OpenAI
(the default), Anthropic (`anthropic-version`) and Gemini clients (`x-goog-api-key`);
`GET /v1beta/models` is Gemini's. Each takes the client key its format sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from aigateway.entrypoints.http.app import create_app
from tests.integration.test_app_inprocess import ADMIN, settings_for

MODEL = "gpt-4o-mini"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(create_app(await settings_for(tmp_path))) as test_client:
        update = {"models": [MODEL, "gpt-*"]}
        (
            await test_client.patch("/api/v1/providers/openai", json=update, headers=ADMIN)
        ).raise_for_status()
        yield test_client


async def client_key(client: AsyncTestClient) -> str:  # type: ignore[type-arg]
    created = await client.post("/api/v1/api-keys", json={"label": "lists"}, headers=ADMIN)
    created.raise_for_status()
    return str(created.json()["key"])


async def listing(client: AsyncTestClient, path: str, headers: dict[str, str]) -> Any:  # type: ignore[type-arg]
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_v1_models_answers_in_the_format_of_the_client(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    key = await client_key(client)
    openai = await listing(client, "/v1/models", {"Authorization": f"Bearer {key}"})
    assert openai["object"] == "list" and MODEL in {m["id"] for m in openai["data"]}
    anthropic = await listing(client, "/v1/models", {"x-api-key": key, "anthropic-version": "1"})
    assert anthropic["has_more"] is False and MODEL in {m["id"] for m in anthropic["data"]}
    gemini = await listing(client, "/v1/models", {"x-goog-api-key": key})
    assert f"models/{MODEL}" in {m["name"] for m in gemini["models"]}


@pytest.mark.parametrize(
    ("how", "path"),
    [
        ("header", "/v1beta/models"),
        ("query", "/v1beta/models?key={key}"),
        ("bearer", "/v1beta/models/"),
    ],
)
async def test_v1beta_models_is_geminis_list_with_any_of_its_key_forms(
    client: AsyncTestClient,  # type: ignore[type-arg]
    how: str,
    path: str,
) -> None:
    key = await client_key(client)
    headers = {"header": {"x-goog-api-key": key}, "bearer": {"Authorization": f"Bearer {key}"}}
    found = await listing(client, path.format(key=key), headers.get(how, {}))
    (model,) = [m for m in found["models"] if m["name"] == f"models/{MODEL}"]
    assert model["supportedGenerationMethods"] == ["generateContent", "streamGenerateContent"]
    assert not any("*" in m["name"] for m in found["models"])


async def test_a_model_list_without_a_valid_key_is_refused_in_the_clients_format(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    gemini = await client.get("/v1beta/models", headers={"x-goog-api-key": "ak_wrong"})
    assert gemini.status_code == 401
    assert gemini.json()["error"]["status"] == "UNAUTHENTICATED"
    openai = await client.get("/v1/models")
    assert openai.status_code == 401
    assert openai.json()["error"]["type"] == "authentication_error"


async def test_paths_under_the_gemini_root_that_name_no_endpoint_are_404s_in_googles_format(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    key = await client_key(client)
    headers = {"x-goog-api-key": key}
    for path in ("/v1beta/modelsx:generateContent", f"/v1beta/models/{MODEL}:embedContent"):
        response = await client.post(
            path, headers=headers, json={"contents": [{"parts": [{"text": "hi"}]}]}
        )
        assert response.status_code == 404, path
        assert response.json()["error"]["status"] == "NOT_FOUND"


async def test_getting_one_model_under_a_shared_list_path_is_a_404_in_the_clients_format(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    key = await client_key(client)
    openai = await client.get(f"/v1/models/{MODEL}", headers={"Authorization": f"Bearer {key}"})
    assert openai.status_code == 404
    assert openai.json()["error"]["type"] == "invalid_request_error"
    gemini = await client.get(f"/v1beta/models/{MODEL}", headers={"x-goog-api-key": key})
    assert gemini.status_code == 404
    assert gemini.json()["error"]["status"] == "NOT_FOUND"
