"""Properties of the account -> proxy assignment (`assign`, pure).

Worlds are drawn with accounts of a few providers, proxies of random priority, capacity,
state and provider limits, and random current assignments (some to proxies that do not
exist). "Balanced" is the promise made without provider limits and down proxies."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aigateway.domain.proxies import (
    Proxy,
    ProxyHealth,
    Seat,
    assign,
)
from tests.doubles.proxies import proxy as a_proxy

PROVIDERS = ("openai", "anthropic", "gemini")
Assignment = dict[str, int | None]


class World(msgspec.Struct, frozen=True):
    seats: list[Seat]
    proxies: list[Proxy]
    current: dict[str, int | None]


def proxy(proxy_id: int, *, down: bool = False, **fields: Any) -> Proxy:
    """A healthy proxy (or a down one)."""
    return a_proxy(proxy_id, health=ProxyHealth.DOWN if down else ProxyHealth.HEALTHY, **fields)


@st.composite
def worlds(
    draw: st.DrawFn, *, limits: bool = True, down: bool = True, max_seats: int = 30
) -> World:
    numbers = draw(st.lists(st.integers(0, 99), unique=True, max_size=max_seats))
    seats = [Seat(f"acct-{n:02d}", draw(st.sampled_from(PROVIDERS))) for n in numbers]
    ids = draw(st.lists(st.integers(1, 8), unique=True, max_size=6))
    proxies = [
        proxy(
            proxy_id,
            priority=draw(st.integers(0, 2)),
            max_accounts=draw(st.sampled_from([0, 0, 1, 2, 3, 5, 8])),
            is_active=draw(st.booleans()) if draw(st.booleans()) else True,
            down=draw(st.booleans()) if down and draw(st.booleans()) else False,
            providers=tuple(sorted(draw(st.sets(st.sampled_from(PROVIDERS), max_size=2))))
            if limits
            else (),
        )
        for proxy_id in ids
    ]
    current = {seat.account_id: draw(st.none() | st.sampled_from([*ids, 9])) for seat in seats}
    return World(seats, proxies, current)


any_world = worlds()
plain_world = worlds(limits=False, down=False)


def loads(result: Mapping[str, int | None]) -> Counter[int]:
    return Counter(pid for pid in result.values() if pid is not None)


def accepts(candidate: Proxy, provider: str) -> bool:
    """Active, not down and serving the provider (room is checked apart)."""
    return candidate.is_active and not candidate.down and candidate.serves(provider)


def imbalance(seats: Sequence[Seat], proxies: Sequence[Proxy], result: Assignment) -> str | None:
    """What breaks the balance of `result` (for worlds without provider limits), or None."""
    load = loads(result)
    by_id = {p.id: p for p in proxies}
    open_ = [p for p in proxies if p.is_active and not p.down and p.has_room(load[p.id])]
    for seat in seats:
        pid = result[seat.account_id]
        floor = by_id[pid].priority if pid is not None else None
        for candidate in open_:
            if floor is None or candidate.priority > floor:
                return f"{seat.account_id} on {pid} while proxy {candidate.id} has room"
    for low in open_:
        for high in proxies:
            if high.priority == low.priority and load[high.id] - load[low.id] >= 2:
                return f"proxy {high.id} holds {load[high.id]}, proxy {low.id} {load[low.id]}"
    return None


def moved(before: Mapping[str, int | None], after: Assignment) -> set[str]:
    return {account for account, pid in after.items() if before.get(account) != pid}


def replace(proxies: Sequence[Proxy], changed: Proxy) -> list[Proxy]:
    return [changed if p.id == changed.id else p for p in proxies]


@given(any_world)
def test_every_account_gets_an_answer_and_no_other(world: World) -> None:
    result = assign(world.seats, world.proxies, world.current)
    assert list(result) == [seat.account_id for seat in world.seats]


@given(any_world)
def test_no_proxy_holds_more_accounts_than_its_capacity(world: World) -> None:
    load = loads(assign(world.seats, world.proxies, world.current))
    for p in world.proxies:
        assert p.max_accounts <= 0 or load[p.id] <= p.max_accounts


@given(any_world)
def test_accounts_sit_only_on_active_proxies_serving_their_provider(world: World) -> None:
    result = assign(world.seats, world.proxies, world.current)
    by_id = {p.id: p for p in world.proxies}
    for seat in world.seats:
        pid = result[seat.account_id]
        if pid is not None:
            assert by_id[pid].is_active
            assert by_id[pid].serves(seat.provider_id)


@given(any_world)
def test_an_account_that_moves_lands_on_a_proxy_that_is_up(world: World) -> None:
    result = assign(world.seats, world.proxies, world.current)
    by_id = {p.id: p for p in world.proxies}
    provider = {seat.account_id: seat.provider_id for seat in world.seats}
    for account in moved(world.current, result):
        pid = result[account]
        assert pid is None or accepts(by_id[pid], provider[account])


@given(any_world)
def test_an_account_is_left_without_a_proxy_only_when_none_serving_it_has_room(
    world: World,
) -> None:
    result = assign(world.seats, world.proxies, world.current)
    load = loads(result)
    for seat in world.seats:
        if result[seat.account_id] is None:
            assert not any(
                accepts(p, seat.provider_id) and p.has_room(load[p.id]) for p in world.proxies
            )


@given(any_world)
def test_a_down_proxy_keeps_its_accounts_up_to_capacity_and_takes_no_new_ones(
    world: World,
) -> None:
    result = assign(world.seats, world.proxies, world.current)
    for p in world.proxies:
        if not (p.is_active and p.down):
            continue
        holders = sorted(
            seat.account_id
            for seat in world.seats
            if world.current.get(seat.account_id) == p.id and p.serves(seat.provider_id)
        )
        kept = holders[: p.max_accounts] if p.max_accounts > 0 else holders
        assert sorted(a for a, pid in result.items() if pid == p.id) == kept


@given(plain_world)
def test_without_provider_limits_or_down_proxies_the_result_is_balanced(world: World) -> None:
    result = assign(world.seats, world.proxies, world.current)
    assert imbalance(world.seats, world.proxies, result) is None


@given(any_world)
def test_assigning_again_moves_nothing(world: World) -> None:
    result = assign(world.seats, world.proxies, world.current)
    assert assign(world.seats, world.proxies, result) == result


@given(any_world, st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_the_input(
    world: World, rng: random.Random
) -> None:
    seats, proxies = list(world.seats), list(world.proxies)
    rng.shuffle(seats)
    rng.shuffle(proxies)
    expected = assign(world.seats, world.proxies, world.current)
    assert assign(seats, proxies, world.current) == expected


@given(plain_world, st.data())
def test_removing_or_disabling_a_proxy_moves_only_the_accounts_that_were_on_it(
    world: World, data: st.DataObject
) -> None:
    balanced = assign(world.seats, world.proxies, world.current)
    if not world.proxies:
        return
    gone = data.draw(st.sampled_from(world.proxies))
    without = [p for p in world.proxies if p.id != gone.id]
    disabled = replace(world.proxies, msgspec.structs.replace(gone, is_active=False))
    for proxies in (without, disabled):
        result = assign(world.seats, proxies, balanced)
        assert {balanced[a] for a in moved(balanced, result)} <= {gone.id}
        assert gone.id not in result.values()
        assert imbalance(world.seats, proxies, result) is None


@given(
    plain_world,
    st.integers(0, 2),
    st.sampled_from([0, 0, 1, 2, 3, 5, 8]),
)
def test_adding_a_proxy_moves_accounts_only_onto_it_and_no_more_than_balance_needs(
    world: World, priority: int, capacity: int
) -> None:
    balanced = assign(world.seats, world.proxies, world.current)
    added = proxy(10, priority=priority, max_accounts=capacity)
    proxies = [*world.proxies, added]
    result = assign(world.seats, proxies, balanced)
    changed = moved(balanced, result)
    assert {result[a] for a in changed} <= {added.id}
    assert imbalance(world.seats, proxies, result) is None
    for account in changed:  # one move fewer would leave it unbalanced
        fewer = {**result, account: balanced[account]}
        assert imbalance(world.seats, proxies, fewer) is not None, account
