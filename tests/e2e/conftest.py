from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_upstream import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake
