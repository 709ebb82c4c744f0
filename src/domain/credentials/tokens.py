"""OAuth access tokens: when one must be refreshed, how long a cache may keep it.

Pure arithmetic: `now` is always a parameter (aware UTC), nothing reads the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

MAX_LIFETIME = timedelta(days=1)  # longer than any OAuth client here grants (Google 1 h)


class OAuthToken(msgspec.Struct, frozen=True):
    """An access token and the moment it stops being accepted (aware UTC)."""

    access_token: str
    expires_at: datetime

    def __repr__(self) -> str:  # never leak the token through repr()/logging
        return f"OAuthToken(expires_at={self.expires_at.isoformat()!r})"

    def __rich_repr__(self) -> list[tuple[str, object]]:
        return [("expires_at", self.expires_at.isoformat())]


def expiry_from(expires_in: float, now: datetime) -> datetime:
    """The expiry of a token answered with `expires_in` seconds at `now`: never before `now`,
    never after `now + MAX_LIFETIME` (an absurd `expires_in` from the token endpoint only makes
    the token refreshed sooner than announced; NaN counts as 0)."""
    seconds = expires_in if expires_in > 0 else 0.0  # NaN > 0 is False
    return now + timedelta(seconds=min(seconds, MAX_LIFETIME.total_seconds()))


def needs_refresh(token: OAuthToken, now: datetime, skew: timedelta) -> bool:
    """True once `now` is within `skew` of the expiry (or past it): refresh before using it."""
    return token.expires_at - now <= skew  # a difference: no overflow near year 1 or 9999


def cache_ttl(token: OAuthToken, now: datetime, skew: timedelta) -> timedelta:
    """How long a cache may hand the token out: its remaining lifetime minus `skew`, at least 0.

    A cached token is therefore gone from the cache exactly when `needs_refresh` turns true.
    """
    return max(timedelta(0), (token.expires_at - now) - skew)
