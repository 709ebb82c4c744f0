"""Which account serves the next attempt of a request."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from aigateway.domain.accounts import Account
from aigateway.domain.routing.eligibility import Cooldowns, eligible_accounts
from aigateway.domain.routing.round_robin import pick


def choose_account(
    accounts: Sequence[Account],
    cooling: Cooldowns,
    model: str,
    now: datetime,
    counter: int,
    *,
    tried: Collection[str] = (),
    retry_same: Account | None = None,
) -> Account | None:
    """The account for an attempt; None when no eligible account is left.

    `accounts` is a catalog snapshot: usable accounts sorted by id. `counter` is the request's
    round-robin turn. The first attempt takes the `counter`-th eligible account, so any n
    consecutive requests reach each of n accounts once. `retry_same` (a failure that asked for
    the same account again) is chosen again while it is still eligible. Otherwise a failover
    skips the accounts already `tried` and spreads over the rest: the requests that fail over
    from one account go to each of the others in turn, not all to its neighbour.
    """
    candidates = eligible_accounts(accounts, cooling, model, now) if cooling else accounts
    if retry_same is not None and any(a.id == retry_same.id for a in candidates):
        return retry_same
    if not tried:
        return pick(candidates, counter)
    remaining = [a for a in candidates if a.id not in tried]
    if not remaining:
        return None
    turn = (counter - 1) // max(len(candidates), 1)
    return remaining[turn % len(remaining)]
