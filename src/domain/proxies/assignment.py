"""Sticky, balanced assignment of accounts to proxies (a pure function).

An account's proxy is the address its upstream calls leave from, so an assignment changes
only for a reason, and then as few accounts as possible move. The words used below:

- a proxy *keeps* an account already on it while it exists, is active and serves the
  account's provider (a down proxy included: its accounts come back with it, their address
  never changes silently);
- a proxy *accepts* an account (a new one, or one that moves) while it is active, not down,
  serves the provider and has room (`max_accounts` 0: unlimited);
- a *live* proxy (active, not down) takes part in balancing; a down one holds what it keeps
  and is neither a donor nor a recipient.

`assign` works in three steps:

1. Keep every current assignment its proxy keeps. A proxy above its capacity (lowered since)
   keeps its lowest account ids and sheds the rest.
2. Place each account without a proxy, in account-id order, on the accepting proxy with the
   highest priority, then the lowest load, then the lowest id. None accepts: no proxy.
3. Rebalance, one priority tier at a time from the highest: move an account *up* from a
   lower tier to a proxy of this tier that accepts it (the lowest tier, its most loaded
   proxy first), then *level* the tier: an account moves from a proxy with load L to one
   with load at most L - 2 (the most loaded donor, the least loaded recipient). Whenever a
   move frees room on its donor, an account still without a proxy that the donor serves
   takes it. A tier is done when no such move is left.

Every choice is deterministic (ties go to the lower proxy id; the account moved is the
donor's highest account id), so the result does not depend on the order of the input. Each
move either gives an account a proxy, lifts it to a higher priority, or narrows the spread
of a tier's loads, so the loop ends; and since a finished tier stays finished while the
lower ones settle, the result is a fixed point: assigning again moves nothing.

Without provider limits and down proxies the result is balanced: no account without a proxy
or on a lower priority while a higher-priority proxy has room, and the loads of one tier
differ by at most one unless the lower is full. Provider limits make it a best effort; the
capacity and the rules above hold regardless.
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby

import msgspec

from aigateway.domain.proxies.model import Proxy


class Seat(msgspec.Struct, frozen=True):
    """An account that needs a proxy: its id and provider."""

    account_id: str
    provider_id: str


def assign(
    seats: Sequence[Seat], proxies: Sequence[Proxy], current: Mapping[str, int | None]
) -> dict[str, int | None]:
    """The proxy of every seat (None: no proxy accepts it), by the rules of this module:
    `current` (account id -> proxy id; missing: none) is kept where a proxy keeps it, and
    changed only to place, lift or level accounts, moving as few as the rules need."""
    pool = _Pool(seats, proxies)
    pool.keep(current)
    pool.place_unassigned()
    for tier in pool.tiers():
        pool.settle(tier)
    return {seat.account_id: pool.where[seat.account_id] for seat in seats}


class _Ranking:
    """Proxies ordered by a key that changes with their load: a heap with lazy deletion.
    An entry counts while its proxy's version is the one it was pushed with; whoever
    changes a proxy bumps its version and pushes it again where it still belongs."""

    def __init__(self, versions: Mapping[int, int]) -> None:
        self._versions = versions
        self._heap: list[tuple[tuple[int, ...], int, int]] = []

    def push(self, key: tuple[int, ...], proxy_id: int) -> None:
        heapq.heappush(self._heap, (key, proxy_id, self._versions[proxy_id]))

    def first(self) -> int | None:
        """The proxy with the lowest (key, id), or None."""
        heap = self._heap
        while heap and heap[0][2] != self._versions[heap[0][1]]:
            heapq.heappop(heap)
        return heap[0][1] if heap else None


class _Pool:
    """The assignment being worked out: who is where, each proxy's load and accounts."""

    def __init__(self, seats: Sequence[Seat], proxies: Sequence[Proxy]) -> None:
        self.provider_of = {seat.account_id: seat.provider_id for seat in seats}
        self.where: dict[str, int | None] = dict.fromkeys(self.provider_of)
        self.providers = sorted(set(self.provider_of.values()))
        active = {proxy.id: proxy for proxy in proxies if proxy.is_active}
        self.proxies = dict(sorted(active.items()))
        self.live = [proxy for proxy in self.proxies.values() if not proxy.down]
        # the seat providers each proxy serves, in name order
        self.served = {
            pid: [p for p in self.providers if proxy.serves(p)]
            for pid, proxy in self.proxies.items()
        }
        self.load = dict.fromkeys(self.proxies, 0)
        # each proxy's accounts by provider, ascending (the highest id moves first)
        self.held: dict[int, dict[str, list[str]]] = {pid: {} for pid in self.proxies}
        # accounts without a proxy, by provider, ascending
        self.waiting: dict[str, deque[str]] = {p: deque() for p in self.providers}
        self.versions = dict.fromkeys(self.proxies, 0)

    # -- the three steps --------------------------------------------------------------

    def keep(self, current: Mapping[str, int | None]) -> None:
        """Step 1: keep what each proxy keeps, up to its capacity (lowest ids first)."""
        kept: dict[int, list[str]] = {pid: [] for pid in self.proxies}
        for account, provider in self.provider_of.items():
            pid = current.get(account)
            if pid is not None and pid in kept and self.proxies[pid].serves(provider):
                kept[pid].append(account)
        for pid, accounts in kept.items():
            limit = self.proxies[pid].max_accounts
            accounts.sort()
            for account in accounts[:limit] if limit > 0 else accounts:
                self._put(account, pid)

    def place_unassigned(self) -> None:
        """Step 2: each account without a proxy, in id order, onto the accepting proxy with
        the highest priority, the lowest load, the lowest id; none: it waits."""
        best = {p: _Ranking(self.versions) for p in self.providers}

        def rank(proxy: Proxy) -> None:
            if self._has_room(proxy.id):
                for provider in self.served[proxy.id]:
                    best[provider].push((-proxy.priority, self.load[proxy.id]), proxy.id)

        for proxy in self.live:
            rank(proxy)
        for account in sorted(a for a, pid in self.where.items() if pid is None):
            provider = self.provider_of[account]
            pid = best[provider].first()
            if pid is None:
                self.waiting[provider].append(account)
            else:
                self._put(account, pid)
                rank(self.proxies[pid])

    def tiers(self) -> list[list[Proxy]]:
        """The live proxies grouped by priority, the highest first."""
        ordered = sorted(self.live, key=lambda proxy: (-proxy.priority, proxy.id))
        return [list(group) for _, group in groupby(ordered, key=lambda proxy: proxy.priority)]

    def settle(self, tier: list[Proxy]) -> None:
        """Step 3 for one tier: lift accounts into it from lower tiers, then level it,
        one move at a time, until no move is left."""
        priority = tier[0].priority
        below = [proxy for proxy in self.live if proxy.priority < priority]
        state = _TierState(self, tier, below)
        while (move := state.lift() or state.level()) is not None:
            account, donor, recipient = move
            self._move(account, donor, recipient)
            self._refill(donor)
            state.update(donor)
            state.update(recipient)

    # -- moves ------------------------------------------------------------------------

    def _has_room(self, pid: int) -> bool:
        return self.proxies[pid].has_room(self.load[pid])

    def _put(self, account: str, pid: int) -> None:
        provider = self.provider_of[account]
        bisect.insort(self.held[pid].setdefault(provider, []), account)
        self.load[pid] += 1
        self.where[account] = pid
        self.versions[pid] += 1

    def _move(self, account: str, donor: int, recipient: int) -> None:
        accounts = self.held[donor][self.provider_of[account]]
        del accounts[bisect.bisect_left(accounts, account)]
        self.load[donor] -= 1
        self.versions[donor] += 1
        self._put(account, recipient)

    def _refill(self, pid: int) -> None:
        """A move freed room on `pid`: the accounts still waiting that it serves (lowest id
        first) take it. No other proxy gained room, so no other could take them."""
        while self._has_room(pid):
            queues = [self.waiting[p] for p in self.served[pid] if self.waiting[p]]
            if not queues:
                return
            self._put(min(queues, key=lambda queue: queue[0]).popleft(), pid)


class _TierState:
    """The moves open in one tier, kept up to date per provider as loads change:
    `lift` (from a lower tier into this one) and `level` (within this one)."""

    def __init__(self, pool: _Pool, tier: list[Proxy], below: Iterable[Proxy]) -> None:
        self.pool = pool
        self.in_tier = {proxy.id for proxy in tier}
        versions = pool.versions
        # per provider: the tier's proxies with room that serve it, least loaded first
        self.recipients = {p: _Ranking(versions) for p in pool.providers}
        # per provider: the tier's proxies holding its accounts, most loaded first
        self.donors = {p: _Ranking(versions) for p in pool.providers}
        # per provider: lower proxies holding its accounts, lowest priority then most loaded
        self.lowers = {p: _Ranking(versions) for p in pool.providers}
        for proxy in tier:
            self.update(proxy.id)
        for proxy in below:
            self.update(proxy.id)

    def update(self, pid: int) -> None:
        """Rank `pid` again after a change (its older entries no longer count)."""
        pool = self.pool
        load = pool.load[pid]
        holding = [p for p, accounts in pool.held[pid].items() if accounts]
        if pid not in self.in_tier:
            for provider in holding:
                self.lowers[provider].push((pool.proxies[pid].priority, -load), pid)
            return
        for provider in holding:
            self.donors[provider].push((-load,), pid)
        if pool._has_room(pid):
            for provider in pool.served[pid]:
                self.recipients[provider].push((load,), pid)

    def lift(self) -> tuple[str, int, int] | None:
        """An account on a lower tier that a proxy of this tier accepts: from the lowest
        priority and most loaded donor, to the least loaded recipient."""
        best: tuple[tuple[int, ...], str, int, int] | None = None
        pool = self.pool
        for provider in pool.providers:
            donor = self.lowers[provider].first()
            recipient = self.recipients[provider].first() if donor is not None else None
            if recipient is None or donor is None:
                continue
            rank = (
                pool.proxies[donor].priority,
                -pool.load[donor],
                donor,
                pool.load[recipient],
                recipient,
            )
            best = _better(best, rank, pool.held[donor][provider][-1], donor, recipient)
        return best[1:] if best is not None else None

    def level(self) -> tuple[str, int, int] | None:
        """An account from a proxy of this tier with load L to one with load <= L - 2:
        the most loaded donor, the least loaded recipient."""
        best: tuple[tuple[int, ...], str, int, int] | None = None
        pool = self.pool
        for provider in pool.providers:
            recipient = self.recipients[provider].first()
            donor = self.donors[provider].first() if recipient is not None else None
            if recipient is None or donor is None:
                continue
            if pool.load[donor] - pool.load[recipient] < 2:
                continue
            rank = (-pool.load[donor], donor, pool.load[recipient], recipient)
            best = _better(best, rank, pool.held[donor][provider][-1], donor, recipient)
        return best[1:] if best is not None else None


def _better(
    best: tuple[tuple[int, ...], str, int, int] | None,
    rank: tuple[int, ...],
    account: str,
    donor: int,
    recipient: int,
) -> tuple[tuple[int, ...], str, int, int]:
    """The preferred of two candidate moves: the lower rank, then the higher account id."""
    if best is None or rank < best[0] or (rank == best[0] and account > best[1]):
        return (rank, account, donor, recipient)
    return best
