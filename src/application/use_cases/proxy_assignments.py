"""Which outbound proxy each account leaves from, kept in the database.

The rule itself is the domain's `assign` (sticky, balanced within the top priority, within
each proxy's capacity, as few moves as possible); this module only feeds it the stored rows and
writes back what changed. Every computation runs inside one transaction that first locks the
proxy rows (`list(for_update=True)`), so two processes cannot hand out the same free seat.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import msgspec

from aigateway.application.ports.repositories import Placement, ProxyRepository, SkippedRow
from aigateway.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from aigateway.domain.proxies import Proxy, Seat, assign, unreadable_row

log = logging.getLogger(__name__)


class Move(msgspec.Struct, frozen=True):
    """An account that changed proxy (None: no proxy)."""

    account_id: str
    from_proxy_id: int | None
    to_proxy_id: int | None


class AssignmentReport(msgspec.Struct, frozen=True):
    moves: tuple[Move, ...]
    counts: Mapping[int, int]  # proxy id -> active accounts assigned to it (every proxy listed)
    unassigned: tuple[str, ...]  # active accounts no proxy has room for


async def stored_pool(
    repo: ProxyRepository, *, for_update: bool = False
) -> tuple[list[Proxy], Sequence[SkippedRow]]:
    """Every stored proxy: the readable ones, and a stand-in for each row that cannot be read
    (it holds its accounts, unused, until repaired), with those rows' reasons."""
    readable, skipped = await repo.list_with_skipped(for_update=for_update)
    held = [unreadable_row(int(row.id)) for row in skipped if row.id.isdigit()]
    return [*readable, *held], skipped


def plan(
    proxies: Sequence[Proxy], placements: Sequence[Placement], *extra: Seat
) -> dict[str, int | None]:
    """The proxy of every active account (and of the `extra` seats, not stored yet): the one
    place where stored rows meet the assignment rule."""
    seats = [Seat(p.account_id, p.provider_id) for p in placements if p.is_active]
    seats.extend(extra)
    current = {p.account_id: p.proxy_id for p in placements}
    return assign(seats, proxies, current)


def report_of(
    proxies: Sequence[Proxy],
    planned: Mapping[str, int | None],
    before: Mapping[str, int | None],
) -> AssignmentReport:
    counts = dict.fromkeys((p.id for p in proxies), 0)
    for proxy_id in planned.values():
        if proxy_id is not None:
            counts[proxy_id] = counts.get(proxy_id, 0) + 1
    moves = tuple(
        Move(account_id, before.get(account_id), proxy_id)
        for account_id, proxy_id in planned.items()
        if before.get(account_id) != proxy_id
    )
    unassigned = tuple(account_id for account_id, proxy_id in planned.items() if proxy_id is None)
    return AssignmentReport(moves, counts, unassigned)


class ProxyAssignments:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def recalculate(self) -> AssignmentReport:
        """Apply the assignment rule to every active account, in one transaction."""
        async with self._uow() as tx:
            return await self.apply(tx)

    async def apply(
        self, tx: UnitOfWork, before: Mapping[str, int | None] | None = None
    ) -> AssignmentReport:
        """Inside the caller's transaction: recompute and write the accounts whose proxy
        changed. `before` (the placements as they were before the caller's own write, e.g. a
        deleted proxy's accounts) only changes what the report says they moved from."""
        proxies, _ = await stored_pool(tx.proxies, for_update=True)
        placements = await tx.accounts.placements()
        planned = plan(proxies, placements)
        stored = {p.account_id: p.proxy_id for p in placements}
        changes = {a: proxy for a, proxy in planned.items() if stored.get(a) != proxy}
        if changes:
            await tx.accounts.assign_proxies(changes)
        report = report_of(proxies, planned, stored if before is None else {**stored, **before})
        if report.moves:
            log.info(
                "proxy assignment: %d accounts moved, %d without a proxy",
                len(report.moves),
                len(report.unassigned),
            )
        return report

    async def proxy_for_new_account(
        self, tx: UnitOfWork, provider_id: str, account_id: str
    ) -> int | None:
        """Inside the caller's transaction (before the account is added): the proxy the new
        account gets, None when no proxy has room for it (or there are none)."""
        proxies, _ = await stored_pool(tx.proxies, for_update=True)
        if not proxies:
            return None
        placements = await tx.accounts.placements()
        return plan(proxies, placements, Seat(account_id, provider_id)).get(account_id)
