from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anthropic
import openai
import pytest
import redis

from tests.e2e.harness import Gateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.services import REDIS_URL, create_mysql_database, drop_mysql_database, unavailable

SDK_TIMEOUT_S = 30.0


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh database on the test MariaDB, dropped afterwards."""
    url = asyncio.run(create_mysql_database())
    yield url
    asyncio.run(drop_mysql_database(url))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    yield client
    client.close()


@pytest.fixture
def ant(gateway: Gateway, client_key: str) -> Iterator[anthropic.Anthropic]:
    """The Anthropic SDK on the module's `gateway`, with its `client_key`."""
    with anthropic.Anthropic(
        base_url=gateway.base_url, api_key=client_key, max_retries=0, timeout=SDK_TIMEOUT_S
    ) as client:
        yield client


@pytest.fixture
def oai(gateway: Gateway, client_key: str) -> Iterator[openai.OpenAI]:
    """The OpenAI SDK on the module's `gateway`, with its `client_key`."""
    with openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=client_key, max_retries=0, timeout=SDK_TIMEOUT_S
    ) as client:
        yield client
