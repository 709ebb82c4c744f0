"""Worked examples of the account -> proxy assignment, and its speed on a catalog reload.
The general properties are in tests/property/test_proxy_assignment.py."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping

from aigateway.domain.proxies import ProxyHealth, Seat, assign
from tests.doubles.proxies import proxy

SIX = [Seat(f"acct-{n}", "openai") for n in range(6)]


def loads(result: Mapping[str, int | None]) -> dict[int | None, int]:
    return dict(Counter(result.values()))


def moves(before: Mapping[str, int | None], after: Mapping[str, int | None]) -> dict[str, int]:
    return {a: pid for a, pid in after.items() if pid is not None and before.get(a) != pid}


def test_two_proxies_share_six_accounts_three_and_three() -> None:
    assert loads(assign(SIX, [proxy(1), proxy(2)], {})) == {1: 3, 2: 3}


def test_disabling_a_proxy_moves_exactly_its_accounts_and_enabling_it_moves_three_back() -> None:
    both = [proxy(1), proxy(2)]
    balanced = assign(SIX, both, {})
    on_two = {a for a, pid in balanced.items() if pid == 2}

    disabled = assign(SIX, [proxy(1), proxy(2, is_active=False)], balanced)
    assert moves(balanced, disabled) == dict.fromkeys(on_two, 1)
    assert loads(disabled) == {1: 6}

    enabled = assign(SIX, both, disabled)
    assert loads(enabled) == {1: 3, 2: 3}
    assert len(moves(disabled, enabled)) == 3
    assert set(moves(disabled, enabled).values()) == {2}


def test_accounts_of_a_disabled_proxy_wait_without_one_when_the_others_are_full() -> None:
    balanced = assign(SIX, [proxy(1, max_accounts=4), proxy(2)], {})
    disabled = assign(SIX, [proxy(1, max_accounts=4), proxy(2, is_active=False)], balanced)
    assert loads(disabled) == {1: 4, None: 2}
    assert all(disabled[a] == 1 for a, pid in balanced.items() if pid == 1)


def test_a_higher_priority_proxy_fills_first_and_a_lower_one_takes_the_rest() -> None:
    result = assign(SIX, [proxy(1), proxy(2, priority=5, max_accounts=2)], {})
    assert loads(result) == {2: 2, 1: 4}


def test_a_new_top_proxy_takes_accounts_from_the_lowest_tier_so_no_one_else_moves() -> None:
    tiers = [proxy(1, priority=1, max_accounts=2), proxy(2, priority=0)]
    before = assign(SIX, tiers, {})
    assert loads(before) == {1: 2, 2: 4}
    after = assign(SIX, [*tiers, proxy(3, priority=2, max_accounts=3)], before)
    assert loads(after) == {1: 2, 2: 1, 3: 3}
    assert {before[a] for a in moves(before, after)} == {2}


def test_a_down_proxy_keeps_its_accounts_takes_no_new_ones_and_balances_again_once_up() -> None:
    up = [proxy(1, health=ProxyHealth.HEALTHY), proxy(2, health=ProxyHealth.HEALTHY)]
    balanced = assign(SIX, up, {})
    down = [up[0], proxy(2, health=ProxyHealth.DOWN)]
    more = [*SIX, *(Seat(f"acct-new-{n}", "openai") for n in range(4))]

    while_down = assign(more, down, balanced)
    assert {a: while_down[a] for a in balanced} == balanced  # no one moves off the down proxy
    assert loads(while_down) == {1: 7, 2: 3}  # the new accounts all go to proxy 1

    recovered = assign(more, up, while_down)
    assert loads(recovered) == {1: 5, 2: 5}
    assert set(moves(while_down, recovered).values()) == {2}


def test_a_lowered_capacity_sheds_the_highest_account_ids() -> None:
    on_one = dict.fromkeys((s.account_id for s in SIX), 1)
    result = assign(SIX, [proxy(1, max_accounts=4)], on_one)
    assert [a for a, pid in result.items() if pid is None] == ["acct-4", "acct-5"]


def test_a_proxy_limited_to_providers_only_carries_their_accounts() -> None:
    seats = [Seat("a1", "openai"), Seat("a2", "anthropic"), Seat("a3", "gemini")]
    result = assign(seats, [proxy(1, providers=("openai", "anthropic"))], {"a3": 1})
    assert result == {"a1": 1, "a2": 1, "a3": None}


def test_an_account_leaving_a_limited_proxy_makes_room_for_one_only_it_can_carry() -> None:
    # proxy 1 (any provider, room for one) carries an openai account; a gemini account
    # waits. Proxy 2 (openai only, higher priority) appears: the openai account lifts to it
    # and the gemini account takes the freed place.
    seats = [Seat("a-openai", "openai"), Seat("b-gemini", "gemini")]
    one = [proxy(1, max_accounts=1)]
    before = assign(seats, one, {})
    assert before == {"a-openai": 1, "b-gemini": None}
    after = assign(seats, [*one, proxy(2, priority=1, providers=("openai",))], before)
    assert after == {"a-openai": 2, "b-gemini": 1}


def test_a_catalog_reload_of_5000_accounts_and_100_proxies_is_fast() -> None:
    rng = random.Random(7)
    providers = ["openai", "anthropic", "gemini", "xai"]
    seats = [Seat(f"acct-{n:05d}", rng.choice(providers)) for n in range(5000)]
    plain = [proxy(n) for n in range(1, 101)]
    mixed = [
        proxy(
            n,
            priority=rng.randint(0, 3),
            max_accounts=rng.choice([0, 40, 60, 100]),
            providers=tuple(rng.sample(providers, rng.randint(0, 3))),
            health=ProxyHealth.DOWN if rng.random() < 0.1 else ProxyHealth.HEALTHY,
        )
        for n in range(1, 101)
    ]
    everyone_on_one = {seat.account_id: 1 for seat in seats}
    scattered = {seat.account_id: rng.randint(1, 100) for seat in seats}
    cases = [
        (plain, {}),  # the first start: everyone placed
        (plain, everyone_on_one),  # 99 new proxies: 4,950 moves, the most there can be
        (mixed, scattered),  # limits, tiers, capacities, down proxies
    ]
    for proxies, current in cases:
        started = time.perf_counter()
        result = assign(seats, proxies, current)
        elapsed = time.perf_counter() - started
        assert elapsed < 2.0, f"{elapsed:.3f} s"
        assert assign(seats, proxies, result) == result
