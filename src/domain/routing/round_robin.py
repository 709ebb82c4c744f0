"""Round-robin account selection over a snapshot of eligible accounts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from aigateway.domain.accounts import Account

T = TypeVar("T")


def pick(candidates: Sequence[T], counter: int) -> T | None:
    """The candidate for the `counter`-th request (counter starts at 1, as Redis INCR does).

    With a stable sequence of N candidates, any N consecutive counter values pick each
    candidate exactly once.
    """
    if not candidates:
        return None
    return candidates[(counter - 1) % len(candidates)]


def eligible(accounts: Sequence[Account]) -> tuple[Account, ...]:
    """Usable accounts in a stable order (by id), so every process agrees on the rotation."""
    return tuple(sorted((a for a in accounts if a.usable), key=lambda a: a.id))
