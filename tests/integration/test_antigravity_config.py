"""Provider config of kind antigravity with values that cannot go on the wire: a 422 naming
the key when it is set, not a 500 on every request afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from aigateway.entrypoints.http.app import create_app
from tests.integration.test_app_inprocess import ADMIN, settings_for

Client = AsyncTestClient[Any]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(await settings_for(tmp_path))) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"user_agent": "antigravity/{version}\r\nX-Injected: 1"}, "config.user_agent"),
        ({"user_agent": "antigravity/{version}\x00"}, "config.user_agent"),
        ({"base_urls": ["https://cloudcode\x00.example"]}, "config.base_urls"),
    ],
)
async def test_control_characters_in_antigravity_config_are_a_422(
    client: Client, config: dict[str, Any], named: str
) -> None:
    response = await client.patch(
        "/api/v1/providers/antigravity", headers=ADMIN, json={"config": config}
    )
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]
