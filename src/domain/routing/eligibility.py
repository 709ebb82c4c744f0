"""Which accounts may serve a model now: usable, and not cooling down for it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import msgspec

from aigateway.domain.accounts import Account
from aigateway.domain.errors import CooldownScope, Failure
from aigateway.domain.routing.round_robin import eligible


class Cooldown(msgspec.Struct, frozen=True, kw_only=True):
    """Account `account_id` must not be picked for `model` (None: any model) before `until`."""

    account_id: str
    model: str | None
    until: datetime  # aware UTC
    reason: str = ""

    def active(self, now: datetime) -> bool:
        """A cooldown whose end is reached (until <= now) no longer blocks."""
        return self.until > now

    def applies_to(self, model: str) -> bool:
        return self.model is None or self.model == model


Cooldowns: TypeAlias = Collection[Cooldown] | Mapping[Any, Cooldown]
"""Any collection of cooldowns, or a mapping whose values are cooldowns (keys are ignored)."""


def cooldown_for(failure: Failure, account_id: str, model: str, now: datetime) -> Cooldown | None:
    """The cooldown a classified failure puts on the account (None when it puts none)."""
    until = failure.cooldown_until(now)
    if until is None or until <= now:
        return None
    scoped = None if failure.cooldown_scope is CooldownScope.ACCOUNT else model
    return Cooldown(account_id=account_id, model=scoped, until=until, reason=failure.reason)


def _values(cooldowns: Cooldowns) -> Iterable[Cooldown]:
    return cooldowns.values() if isinstance(cooldowns, Mapping) else cooldowns


def blocked_until(cooldowns: Cooldowns, model: str, now: datetime) -> dict[str, datetime]:
    """For each account blocked for `model` at `now`: when its last blocking cooldown ends."""
    ends: dict[str, datetime] = {}
    for cooldown in _values(cooldowns):
        if cooldown.applies_to(model) and cooldown.active(now):
            current = ends.get(cooldown.account_id)
            if current is None or cooldown.until > current:
                ends[cooldown.account_id] = cooldown.until
    return ends


def eligible_accounts(
    accounts: Sequence[Account], cooldowns: Cooldowns, model: str, now: datetime
) -> tuple[Account, ...]:
    """Usable accounts not cooling down for `model` (nor as a whole), in a stable order by id."""
    blocked = blocked_until(cooldowns, model, now)
    return tuple(a for a in eligible(accounts) if a.id not in blocked)


def soonest_available(
    accounts: Sequence[Account], cooldowns: Cooldowns, model: str, now: datetime
) -> datetime | None:
    """When every usable account is cooling down: the earliest moment one of them is free
    again (an account is free once all its cooldowns for `model` have ended). None when an
    account is eligible now, or when no usable account exists (nothing will free up)."""
    blocked = blocked_until(cooldowns, model, now)
    ends: list[datetime] = []
    for account in eligible(accounts):
        end = blocked.get(account.id)
        if end is None:
            return None
        ends.append(end)
    return min(ends, default=None)
