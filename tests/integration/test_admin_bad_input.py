"""Hostile admin bodies against the app in-process: never a 500, never an echo of the input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from aigateway.entrypoints.http.app import create_app
from tests.integration.test_app_inprocess import ADMIN, settings_for

PROVIDER = b'{"id":"deep","name":"n","kind":"openai","base_url":"http://h","config":%s}'
ACCOUNT = b'{"provider_id":"openai","auth_data":{"api_key":"sk-deep-1","extra":%s}}'
MEGABYTE = "x" * 1_000_000


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(create_app(await settings_for(tmp_path))) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/providers", PROVIDER % nested(5000)),
        ("post", "/api/v1/accounts", ACCOUNT % nested(5000)),
        ("patch", "/api/v1/providers/openai", b'{"config":%s}' % nested(5000)),
        ("put", "/api/v1/providers/openai", b'{"config":%s}' % nested(5000)),
    ],
)
async def test_json_nested_thousands_deep_is_a_400(
    client: AsyncTestClient,  # type: ignore[type-arg]
    method: str,
    path: str,
    body: bytes,
) -> None:
    response = await client.request(method, path, content=body, headers=ADMIN)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"type": "invalid_request", "message": "request body is nested too deeply"}
    }


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v1/providers", PROVIDER % nested(40), "config is nested deeper than 16 levels"),
        ("/api/v1/accounts", ACCOUNT % nested(40), "auth_data is nested deeper than 16 levels"),
        (
            "/api/v1/accounts",
            b'{"provider_id":"openai","auth_data":{"api_key":"sk-%s"}}' % (b"k" * 40_000),
            "auth_data is larger than 32768 bytes of JSON",
        ),
        (
            "/api/v1/providers",
            PROVIDER % (b'{"headers":{"x":"%s"}}' % (b"h" * 70_000)),
            "config is larger than 65536 bytes of JSON",
        ),
        (
            "/api/v1/accounts",
            b'{"provider_id":"%s","auth_data":{"api_key":"sk-1"}}' % MEGABYTE.encode(),
            "provider_id is longer than 50 characters",
        ),
        (
            "/api/v1/accounts",
            b'{"provider_id":"openai","label":"%s","auth_data":{"api_key":"sk-1"}}'
            % MEGABYTE.encode(),
            "label is longer than 100 characters",
        ),
        (
            "/api/v1/providers",
            b'{"id":"big","name":"%s","kind":"openai","base_url":"http://h"}' % MEGABYTE.encode(),
            "name is longer than 100 characters",
        ),
        (
            "/api/v1/providers",
            b'{"id":"big","name":"n","kind":"openai","base_url":"http://h","models":["%s"]}'
            % MEGABYTE.encode(),
            "models[] is longer than 191 characters",
        ),
        ("/api/v1/api-keys", b'{"label":"%s"}' % MEGABYTE.encode(), "label is longer than 100"),
    ],
)
async def test_oversized_or_overnested_values_are_a_422_naming_the_limit(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
    body: bytes,
    message: str,
) -> None:
    response = await client.post(path, content=body, headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    assert error["message"].startswith(message)
    assert len(response.content) < 300  # the value is not echoed back


@pytest.mark.parametrize("expires_at", [b"1767225600", b"true", b'"tomorrow"', b'{"at":1}'])
async def test_an_oauth_expiry_that_is_not_a_timestamp_is_a_422(
    client: AsyncTestClient,  # type: ignore[type-arg]
    expires_at: bytes,
) -> None:
    body = (
        b'{"provider_id":"antigravity","auth_data":{"access_token":"ya29.x","refresh_token":'
        b'"1//r","expires_at":%s}}' % expires_at
    )
    response = await client.post("/api/v1/accounts", content=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("auth_data.expires_at must be")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/accounts/{id}",
        "/api/v1/providers/{id}",
        "/api/v1/accounts/{id}/quota",
        "/api/v1/accounts/{id}/cooldowns",
    ],
)
async def test_an_unknown_id_of_ten_kilobytes_is_a_short_404(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
) -> None:
    response = await client.get(path.format(id="x" * 10_000), headers=ADMIN)
    assert response.status_code == 404, response.text
    assert len(response.content) < 300  # the id is not echoed back whole
