"""Properties of `choose_account`, called the way ProxyChat's attempt loop calls it.

The snapshot is what the catalog hands the use case (usable accounts sorted by id, built by
the same `eligible` the catalog uses); each request gets one counter and tries accounts until
one answers, the attempt budget (`RetryBudget().max_attempts`) runs out, or none is left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from aigateway.application.use_cases.chat_request import RetryBudget
from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.routing.eligibility import Cooldown
from aigateway.domain.routing.round_robin import eligible
from aigateway.domain.routing.selection import choose_account

NOW = datetime(2026, 4, 27, 6, 0, tzinfo=UTC)
MODEL = "gpt-4o"
OTHER_MODEL = "claude-sonnet-4-5"
MAX_ATTEMPTS = RetryBudget().max_attempts

counters = st.integers(min_value=1, max_value=2**63 - 1)  # INCR starts at 1, stays in int64
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)


def account(account_id: str, *, is_active: bool = True, disabled: str | None = None) -> Account:
    return Account(
        id=account_id,
        provider_id="openai",
        label=account_id,
        credential=credential_from_auth_data({"api_key": f"sk-{account_id}"}),
        is_active=is_active,
        disabled_reason=disabled,
    )


def snapshot_of(names: Sequence[str]) -> tuple[Account, ...]:
    """The catalog's snapshot of these accounts (usable, sorted by id)."""
    return eligible([account(n) for n in names])


snapshots = st.lists(ids, min_size=1, max_size=10, unique=True).map(snapshot_of)
pools_of_two_or_more = st.lists(ids, min_size=2, max_size=8, unique=True).map(snapshot_of)


def cooldown(account_id: str, *, model: str | None = MODEL, seconds: int = 60) -> Cooldown:
    return Cooldown(account_id=account_id, model=model, until=NOW + timedelta(seconds=seconds))


def blocked(account_id: str, cooling: Collection[Cooldown]) -> bool:
    return any(
        c.account_id == account_id and c.model in (None, MODEL) and c.until > NOW for c in cooling
    )


def serve(
    snapshot: Sequence[Account],
    counter: int,
    failing: Collection[str],
    cooling: list[Cooldown],
    *,
    failure_cools: bool = False,
) -> tuple[list[str], str | None]:
    """One request, as ProxyChat._attempts runs it: the accounts tried in order and the one
    that answered (None when the request gave up). Accounts in `failing` fail every attempt,
    with an account-wide cooldown added to `cooling` when `failure_cools`."""
    tried: set[str] = set()
    attempts: list[str] = []
    for _ in range(MAX_ATTEMPTS):
        chosen = choose_account(snapshot, cooling, MODEL, NOW, counter, tried=tried)
        if chosen is None:
            break
        assert chosen.id not in tried
        tried.add(chosen.id)
        attempts.append(chosen.id)
        if chosen.id not in failing:
            return attempts, chosen.id
        if failure_cools:
            cooling.append(cooldown(chosen.id, model=None))
    return attempts, None


@given(snapshots, counters)
def test_any_n_consecutive_requests_reach_each_of_n_accounts_once(
    snapshot: tuple[Account, ...], start: int
) -> None:
    n = len(snapshot)
    for cooling in ([], [cooldown("a-stranger")]):  # no cooldown, or one blocking no one
        served = [serve(snapshot, c, (), list(cooling))[1] for c in range(start, start + n)]
        assert sorted(s for s in served if s is not None) == sorted(a.id for a in snapshot)


@given(pools_of_two_or_more, st.data(), st.integers(min_value=1, max_value=3), counters)
def test_failovers_from_an_account_failing_without_cooldown_spread_evenly(
    snapshot: tuple[Account, ...], data: st.DataObject, k: int, start: int
) -> None:
    n = len(snapshot)
    broken = data.draw(st.sampled_from([a.id for a in snapshot]), label="failing account")
    served: Counter[str] = Counter()
    for counter in range(start, start + n * (n - 1) * k):
        attempts, answered = serve(snapshot, counter, {broken}, [])
        assert answered is not None  # one failover always reaches a healthy account
        assert len(attempts) == (2 if attempts[0] == broken else 1)
        served[answered] += 1
    # each healthy account: (n-1)*k first attempts and k of the (n-1)*k failovers from `broken`
    assert served == dict.fromkeys((a.id for a in snapshot if a.id != broken), n * k)


@given(pools_of_two_or_more, st.data(), st.integers(min_value=1, max_value=3), counters)
def test_the_others_share_evenly_while_an_account_cools_down(
    snapshot: tuple[Account, ...], data: st.DataObject, k: int, start: int
) -> None:
    n = len(snapshot)
    broken = data.draw(st.sampled_from([a.id for a in snapshot]), label="cooling account")
    scope = data.draw(st.sampled_from([None, MODEL]), label="cooldown model")
    cooling = [cooldown(broken, model=scope)]
    served: Counter[str] = Counter()
    for counter in range(start, start + (n - 1) * k):
        attempts, answered = serve(snapshot, counter, {broken}, cooling)
        assert answered is not None
        assert attempts == [answered]  # the cooling account is not even tried
        served[answered] += 1
    assert served == dict.fromkeys((a.id for a in snapshot if a.id != broken), k)


@given(pools_of_two_or_more, st.data(), st.integers(min_value=1, max_value=3), counters)
def test_once_a_failure_cooled_an_account_the_rest_share_evenly(
    snapshot: tuple[Account, ...], data: st.DataObject, k: int, start: int
) -> None:
    """The cooldown a failure adds is shared (ProxyChat hands it to the rotation), so later
    requests see it from their first attempt."""
    n = len(snapshot)
    broken = data.draw(st.sampled_from([a.id for a in snapshot]), label="failing account")
    cooling: list[Cooldown] = []
    counter = start
    while not cooling:  # requests until one reaches the failing account and cools it
        answered = serve(snapshot, counter, {broken}, cooling, failure_cools=True)[1]
        assert answered is not None and answered != broken
        counter += 1
    served = Counter(
        serve(snapshot, c, {broken}, cooling, failure_cools=True)[1]
        for c in range(counter, counter + (n - 1) * k)
    )
    assert served == dict.fromkeys((a.id for a in snapshot if a.id != broken), k)


@st.composite
def situations(
    draw: st.DrawFn,
) -> tuple[tuple[Account, ...], list[Cooldown], set[str], Account | None]:
    """A snapshot, cooldowns (active, expired, other model, on strangers), the accounts a
    request already tried, and maybe an account to retry (never in `tried`: ProxyChat takes
    it out before asking again)."""
    snapshot = draw(st.lists(ids, max_size=8, unique=True).map(snapshot_of), label="snapshot")
    known = [a.id for a in snapshot]
    account_ids = st.sampled_from(known) | ids if known else ids
    cooling = draw(
        st.lists(
            st.builds(
                Cooldown,
                account_id=account_ids,
                model=st.sampled_from([None, MODEL, OTHER_MODEL]),
                until=st.integers(-600, 600).map(lambda s: NOW + timedelta(seconds=s)),
            ),
            max_size=10,
        ),
        label="cooldowns",
    )
    tried = draw(st.sets(account_ids, max_size=8), label="tried")
    retryable = [a for a in snapshot if a.id not in tried]
    retry_same = (
        draw(st.none() | st.sampled_from(retryable), label="retry same") if retryable else None
    )
    return snapshot, cooling, tried, retry_same


@given(situations(), counters)
def test_never_a_tried_cooling_or_unknown_account_and_none_only_when_none_is_left(
    situation: tuple[tuple[Account, ...], list[Cooldown], set[str], Account | None],
    counter: int,
) -> None:
    snapshot, cooling, tried, retry_same = situation
    chosen = choose_account(
        snapshot, cooling, MODEL, NOW, counter, tried=tried, retry_same=retry_same
    )
    left = [a for a in snapshot if a.id not in tried and not blocked(a.id, cooling)]
    if not left:
        assert chosen is None
        return
    assert chosen is not None
    assert any(chosen is a for a in snapshot)
    assert chosen.id not in tried
    assert not blocked(chosen.id, cooling)


@given(situations(), counters)
def test_retry_same_is_chosen_while_eligible_and_never_while_cooling(
    situation: tuple[tuple[Account, ...], list[Cooldown], set[str], Account | None],
    counter: int,
) -> None:
    snapshot, cooling, tried, retry_same = situation
    if retry_same is None:
        return
    chosen = choose_account(
        snapshot, cooling, MODEL, NOW, counter, tried=tried, retry_same=retry_same
    )
    if blocked(retry_same.id, cooling):
        assert chosen is None or chosen.id != retry_same.id
    else:
        assert chosen is retry_same


@given(snapshots, st.data(), counters)
def test_retry_same_once_cooled_fails_over_to_another_account(
    snapshot: tuple[Account, ...], data: st.DataObject, counter: int
) -> None:
    """A RETRY_SAME failure that also set a cooldown: the retry goes elsewhere (or nowhere)."""
    first = choose_account(snapshot, [], MODEL, NOW, counter)
    assert first is not None
    scope = data.draw(st.sampled_from([None, MODEL]), label="cooldown model")
    again = choose_account(
        snapshot, [cooldown(first.id, model=scope)], MODEL, NOW, counter, retry_same=first
    )
    if len(snapshot) == 1:
        assert again is None
    else:
        assert again is not None and again.id != first.id
