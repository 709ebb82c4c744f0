"""Sticky, balanced assignment of accounts to proxies (a pure function)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from aigateway.domain.proxies.model import Proxy


class Seat(msgspec.Struct, frozen=True):
    """An account that needs a proxy: its id and provider."""

    account_id: str
    provider_id: str


def assign(
    seats: Sequence[Seat], proxies: Sequence[Proxy], current: Mapping[str, int | None]
) -> dict[str, int | None]:
    """The proxy of every seat (None: no proxy has room for it)."""
    raise NotImplementedError
