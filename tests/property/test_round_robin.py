"""Properties of round-robin account selection (pure; concurrency simulated in one event loop).

A first attempt's account, as production picks it: the catalog keeps the usable accounts in
id order (`eligible`), the use case asks `choose_account` with the request's counter."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.memory.coordination import InMemoryRotation
from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.routing.round_robin import eligible, pick
from aigateway.domain.routing.selection import choose_account

counters = st.integers(min_value=1, max_value=2**63 - 1)  # INCR starts at 1, stays in int64
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def account(account_id: str, *, is_active: bool = True, disabled: str | None = None) -> Account:
    return Account(
        id=account_id,
        provider_id="openai",
        label=account_id,
        credential=credential_from_auth_data({"api_key": f"sk-{account_id}"}),
        is_active=is_active,
        disabled_reason=disabled,
    )


ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
pools = st.lists(ids, min_size=1, max_size=12, unique=True).map(
    lambda names: [account(n) for n in names]
)
any_accounts = st.lists(
    st.builds(
        account,
        ids,
        is_active=st.booleans(),
        disabled=st.none() | st.sampled_from(["quota", "revoked"]),
    ),
    max_size=12,
    unique_by=lambda a: a.id,
)


def first_pick(accounts: Sequence[Account], counter: int) -> Account | None:
    """The first attempt's account when nothing cools down."""
    return choose_account(eligible(accounts), (), "gpt-4o", NOW, counter)


def picked_ids(pool: Sequence[Account], first: int, count: int) -> list[str]:
    picks = [first_pick(pool, n) for n in range(first, first + count)]
    return [a.id for a in picks if a is not None]


@given(pools, counters)
def test_every_window_of_n_counters_picks_each_account_once(
    pool: list[Account], start: int
) -> None:
    assert sorted(picked_ids(pool, start, len(pool))) == sorted(a.id for a in pool)


@given(st.lists(st.integers(), min_size=1, max_size=20), counters)
def test_pick_over_a_window_is_a_permutation(items: list[int], start: int) -> None:
    window = [pick(items, n) for n in range(start, start + len(items))]
    assert Counter(window) == Counter(items)


@given(
    universe=st.lists(ids, min_size=1, max_size=10, unique=True),
    data=st.data(),
    start=counters,
)
def test_picks_follow_a_changing_pool_then_settle_back_to_fair(
    universe: list[str], data: st.DataObject, start: int
) -> None:
    accounts = [account(n) for n in universe]
    subsets = st.lists(st.sampled_from(accounts), unique_by=lambda a: a.id)
    counter = start
    for pool in data.draw(st.lists(subsets, max_size=20), label="pool before each pick"):
        chosen = first_pick(pool, counter)
        counter += 1
        if pool:
            assert chosen is not None
            assert chosen.id in {a.id for a in pool}
        else:
            assert chosen is None
    final = data.draw(st.lists(st.sampled_from(accounts), min_size=1, unique_by=lambda a: a.id))
    for _ in range(2):  # fair over every window once the pool is stable
        assert sorted(picked_ids(final, counter, len(final))) == sorted(a.id for a in final)
        counter += len(final)


@given(
    pool=pools,
    rounds=st.integers(min_value=1, max_value=4),
    pickers=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_concurrent_pickers_sharing_a_counter_stay_fair(
    pool: list[Account], rounds: int, pickers: int, data: st.DataObject
) -> None:
    total = rounds * len(pool)
    owner = data.draw(
        st.lists(st.integers(0, pickers - 1), min_size=total, max_size=total),
        label="picker of each request",
    )
    yields = st.lists(st.integers(0, 3), min_size=2, max_size=2)
    schedules = [
        data.draw(st.lists(yields, min_size=n, max_size=n), label=f"picker {p} yields")
        for p, n in sorted(Counter(owner).items())
    ]

    async def picker(rotation: InMemoryRotation, schedule: list[list[int]]) -> list[str]:
        chosen = []
        for before, after in schedule:
            for _ in range(before):
                await asyncio.sleep(0)
            counter = (await rotation.turn("openai", "gpt-4o", NOW)).counter
            for _ in range(after):  # other pickers run between INCR and the pick
                await asyncio.sleep(0)
            picked = first_pick(pool, counter)
            assert picked is not None
            chosen.append(picked.id)
        return chosen

    async def run() -> list[list[str]]:
        rotation = InMemoryRotation()
        return await asyncio.gather(*(picker(rotation, s) for s in schedules))

    counts = Counter(i for chosen in asyncio.run(run()) for i in chosen)
    assert counts == dict.fromkeys((a.id for a in pool), rounds)


@given(any_accounts, counters)
def test_first_pick_returns_a_usable_account_or_none_only_when_there_is_none(
    accounts: list[Account], counter: int
) -> None:
    chosen = first_pick(accounts, counter)
    if any(a.usable for a in accounts):
        assert chosen is not None
        assert chosen.is_active
        assert chosen.disabled_reason is None
        assert any(chosen is a for a in accounts)
    else:
        assert chosen is None


@given(any_accounts, counters, st.data())
def test_selection_does_not_depend_on_input_order(
    accounts: list[Account], counter: int, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(accounts))
    assert [a.id for a in eligible(shuffled)] == [a.id for a in eligible(accounts)]
    first, second = first_pick(accounts, counter), first_pick(shuffled, counter)
    assert (first.id if first else None) == (second.id if second else None)
