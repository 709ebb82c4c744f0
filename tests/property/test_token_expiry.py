"""Properties of the access-token arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from aigateway.domain.credentials.tokens import (
    MAX_LIFETIME,
    OAuthToken,
    cache_ttl,
    expiry_from,
    needs_refresh,
)

instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2))


@given(instants, spans, spans, spans, spans)
def test_needs_refresh_stays_true_as_time_goes_on(
    issued: datetime, lifetime: timedelta, skew: timedelta, first: timedelta, later: timedelta
) -> None:
    token = OAuthToken("at", issued + lifetime)
    if needs_refresh(token, issued + first, skew):
        assert needs_refresh(token, issued + first + later, skew)


@given(instants, st.floats(min_value=0, max_value=172_800), spans, spans)
def test_the_cache_ttl_never_exceeds_the_lifetime(
    now: datetime, expires_in: float, skew: timedelta, elapsed: timedelta
) -> None:
    token = OAuthToken("at", expiry_from(expires_in, now))
    ttl = cache_ttl(token, now + elapsed, skew)
    assert timedelta(0) <= ttl <= timedelta(seconds=expires_in)
    # the cache lets go of the token exactly when it would need a refresh
    assert (ttl == timedelta(0)) == needs_refresh(token, now + elapsed, skew)


@given(instants, st.floats(allow_nan=True, allow_infinity=True))
def test_any_expires_in_gives_an_expiry_within_a_day(now: datetime, expires_in: float) -> None:
    """Whatever number a token endpoint answers, the expiry is a datetime in [now, now + 1 d]."""
    expiry = expiry_from(expires_in, now)
    assert now <= expiry <= now + MAX_LIFETIME
    if 0 <= expires_in <= MAX_LIFETIME.total_seconds():
        assert expiry == now + timedelta(seconds=expires_in)


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    spans,
)
@example(datetime.min.replace(tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), timedelta(minutes=5))
def test_any_stored_expiry_is_judged_without_overflow(
    expires_at: datetime, now: datetime, skew: timedelta
) -> None:
    """An operator may post any RFC 3339 expiry (year 1 to 9999): the arithmetic holds."""
    token = OAuthToken("at", expires_at)
    stale = needs_refresh(token, now, skew)
    ttl = cache_ttl(token, now, skew)
    assert stale == (expires_at - now <= skew)
    assert (ttl == timedelta(0)) == stale
