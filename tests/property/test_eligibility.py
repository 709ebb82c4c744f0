"""Properties of cooldown-aware account selection (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.errors import DEFAULT_POLICY, OPENAI_DIALECT, CooldownScope, classify
from aigateway.domain.routing.eligibility import (
    Cooldown,
    Cooldowns,
    cooldown_for,
    eligible_accounts,
    soonest_available,
)
from aigateway.domain.routing.round_robin import eligible
from aigateway.domain.routing.selection import choose_account

NOW = datetime(2026, 4, 27, 6, 0, tzinfo=UTC)
MODELS = ("gpt-4o", "claude-sonnet-4-5", "gemini-3-flash")

counters = st.integers(min_value=1, max_value=2**63 - 1)
models = st.sampled_from(MODELS)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)


def select(
    accounts: Sequence[Account], cooldowns: Cooldowns, model: str, now: datetime, counter: int
) -> Account | None:
    """A first attempt's account as production picks it: over the catalog's accounts (usable,
    in id order), with the cooldowns of the request's turn."""
    return choose_account(eligible(accounts), cooldowns, model, now, counter)


def account(account_id: str, *, is_active: bool = True, disabled: str | None = None) -> Account:
    return Account(
        id=account_id,
        provider_id="openai",
        label=account_id,
        credential=credential_from_auth_data({"api_key": f"sk-{account_id}"}),
        is_active=is_active,
        disabled_reason=disabled,
    )


any_accounts = st.lists(
    st.builds(
        account,
        ids,
        is_active=st.booleans(),
        disabled=st.none() | st.sampled_from(["quota", "revoked"]),
    ),
    max_size=10,
    unique_by=lambda a: a.id,
)
usable_pools = st.lists(ids, min_size=1, max_size=10, unique=True).map(
    lambda names: [account(n) for n in names]
)
offsets = st.integers(min_value=-3600, max_value=3600).map(lambda s: timedelta(seconds=s))


@st.composite
def cooldowns_for(draw: st.DrawFn, accounts: Sequence[Account]) -> list[Cooldown]:
    """Cooldowns on the given accounts (and on strangers), active or expired, any scope."""
    known = [a.id for a in accounts]
    account_ids = st.sampled_from(known) | ids if known else ids
    return draw(
        st.lists(
            st.builds(
                Cooldown,
                account_id=account_ids,
                model=st.none() | models,
                until=offsets.map(lambda d: NOW + d),
                reason=st.just("test"),
            ),
            max_size=15,
        )
    )


@st.composite
def situations(draw: st.DrawFn) -> tuple[list[Account], list[Cooldown], str]:
    accounts = draw(any_accounts)
    return accounts, draw(cooldowns_for(accounts)), draw(models)


def blocks(cooldown: Cooldown, account_id: str, model: str, now: datetime) -> bool:
    return (
        cooldown.account_id == account_id
        and cooldown.model in (None, model)
        and cooldown.until > now
    )


def cooling(account_id: str, cooldowns: Sequence[Cooldown], model: str, now: datetime) -> bool:
    return any(blocks(c, account_id, model, now) for c in cooldowns)


@given(situations(), counters)
def test_a_cooling_or_disabled_account_is_never_picked(
    situation: tuple[list[Account], list[Cooldown], str], counter: int
) -> None:
    accounts, cooldowns, model = situation
    chosen = select(accounts, cooldowns, model, NOW, counter)
    free = [a for a in accounts if a.usable and not cooling(a.id, cooldowns, model, NOW)]
    if free:
        assert chosen is not None
        assert chosen.usable
        assert not cooling(chosen.id, cooldowns, model, NOW)
        assert any(chosen is a for a in accounts)
    else:
        assert chosen is None


@given(situations())
def test_eligible_accounts_are_exactly_the_usable_ones_not_cooling(
    situation: tuple[list[Account], list[Cooldown], str],
) -> None:
    accounts, cooldowns, model = situation
    expected = sorted(
        a.id for a in accounts if a.usable and not cooling(a.id, cooldowns, model, NOW)
    )
    assert [a.id for a in eligible_accounts(accounts, cooldowns, model, NOW)] == expected


@given(usable_pools, st.data(), models, counters)
def test_picks_stay_fair_among_the_eligible(
    pool: list[Account], data: st.DataObject, model: str, start: int
) -> None:
    cooldowns = data.draw(cooldowns_for(pool), label="cooldowns")
    free = eligible_accounts(pool, cooldowns, model, NOW)
    window = len(free)
    for first in (start, start + window):  # every window of N counters picks each once
        picks = [select(pool, cooldowns, model, NOW, n) for n in range(first, first + window)]
        assert sorted(a.id for a in picks if a is not None) == sorted(a.id for a in free)


@given(situations())
def test_soonest_available_is_when_the_first_cooling_account_frees_up(
    situation: tuple[list[Account], list[Cooldown], str],
) -> None:
    accounts, cooldowns, model = situation
    soonest = soonest_available(accounts, cooldowns, model, NOW)
    usable = eligible(accounts)
    if eligible_accounts(accounts, cooldowns, model, NOW) or not usable:
        assert soonest is None
        return
    # each usable account is free once its last blocking cooldown has ended
    free_at = [max(c.until for c in cooldowns if blocks(c, a.id, model, NOW)) for a in usable]
    assert soonest == min(free_at)
    assert soonest > NOW
    assert eligible_accounts(accounts, cooldowns, model, soonest)  # someone is free then
    just_before = soonest - timedelta(microseconds=1)
    assert not eligible_accounts(accounts, cooldowns, model, just_before)


@given(usable_pools, models, st.lists(offsets.filter(lambda d: d > timedelta(0)), min_size=1))
def test_with_one_cooldown_per_account_soonest_is_the_min_of_the_ends(
    pool: list[Account], model: str, ends: list[timedelta]
) -> None:
    cooldowns = [
        Cooldown(account_id=a.id, model=model, until=NOW + ends[i % len(ends)])
        for i, a in enumerate(pool)
    ]
    assert soonest_available(pool, cooldowns, model, NOW) == min(c.until for c in cooldowns)


@given(situations(), st.data(), counters)
def test_expired_cooldowns_do_not_block(
    situation: tuple[list[Account], list[Cooldown], str], data: st.DataObject, counter: int
) -> None:
    accounts, cooldowns, model = situation
    known = [a.id for a in accounts]
    account_ids = st.sampled_from(known) | ids if known else ids
    expired = data.draw(
        st.lists(
            st.builds(
                Cooldown,
                account_id=account_ids,
                model=st.none() | models,
                until=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)).map(
                    lambda d: NOW - d
                ),
            ),
            max_size=10,
        ),
        label="expired (until <= now)",
    )
    assert eligible_accounts(accounts, cooldowns + expired, model, NOW) == eligible_accounts(
        accounts, cooldowns, model, NOW
    )
    assert soonest_available(accounts, cooldowns + expired, model, NOW) == soonest_available(
        accounts, cooldowns, model, NOW
    )
    both = select(accounts, cooldowns + expired, model, NOW, counter)
    assert both == select(accounts, cooldowns, model, NOW, counter)


@given(situations())
def test_cooldowns_of_another_model_do_not_block(
    situation: tuple[list[Account], list[Cooldown], str],
) -> None:
    accounts, cooldowns, model = situation
    only_other = [c for c in cooldowns if c.model is not None and c.model != model]
    assert eligible_accounts(accounts, only_other, model, NOW) == eligible(accounts)


@given(situations(), st.data(), counters)
def test_selection_does_not_depend_on_input_order(
    situation: tuple[list[Account], list[Cooldown], str], data: st.DataObject, counter: int
) -> None:
    accounts, cooldowns, model = situation
    shuffled_accounts = data.draw(st.permutations(accounts))
    shuffled_cooldowns = data.draw(st.permutations(cooldowns))
    as_mapping = {(i, c.account_id): c for i, c in enumerate(shuffled_cooldowns)}
    first = select(accounts, cooldowns, model, NOW, counter)
    for acc, cds in ((shuffled_accounts, shuffled_cooldowns), (accounts, as_mapping)):
        again = select(acc, cds, model, NOW, counter)
        assert (again.id if again else None) == (first.id if first else None)
        assert soonest_available(acc, cds, model, NOW) == soonest_available(
            accounts, cooldowns, model, NOW
        )


@given(
    usable_pools,
    models,
    st.sampled_from((429, 500, 503, 529, 403)),
    st.integers(min_value=3, max_value=86_400),
)
def test_a_classified_failure_rests_the_account_for_its_cooldown(
    pool: list[Account], model: str, status: int, retry_after: int
) -> None:
    failure = classify(OPENAI_DIALECT, status, b"", {"Retry-After": str(retry_after)}, NOW)
    assert failure.cooldown is not None
    target = pool[0]
    cooldown = cooldown_for(failure, target.id, model, NOW)
    assert cooldown is not None
    assert cooldown.until == NOW + failure.cooldown
    assert cooldown.model == (None if failure.cooldown_scope is CooldownScope.ACCOUNT else model)
    assert target not in eligible_accounts(pool, [cooldown], model, NOW)
    assert target in eligible_accounts(pool, [cooldown], model, cooldown.until)
    assert failure.cooldown <= DEFAULT_POLICY.max_cooldown
