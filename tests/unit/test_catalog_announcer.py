"""An admin write is answered by whether it was committed, not by the reload after it."""

from __future__ import annotations

import pytest

from aigateway.application.ports.repositories import StoreUnavailable
from aigateway.application.use_cases.admin import ClientKeysAdmin, NewClientKey
from tests.unit.chat_world import World


async def test_a_write_whose_reload_fails_is_still_answered_as_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World()

    async def database_gone(version: int | None = None) -> None:
        raise StoreUnavailable("the database is unavailable (OperationalError)")

    monkeypatch.setattr(world.catalog, "reload", database_gone)
    issued = await ClientKeysAdmin(world.keys, world.uow, world.clock).create(NewClientKey())
    assert [k.id for k in await world.keys.list()] == [issued.key.id]  # committed, and said so
