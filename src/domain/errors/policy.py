"""How long an account (or one of its models) rests after a failure."""

from __future__ import annotations

from datetime import timedelta

import msgspec

MAX_BACKOFF_DOUBLINGS = 32  # 2**32 × any base is far past every cap


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    """`base` × 2**failures, at most `cap` (failures = consecutive failures before this one)."""

    base: timedelta
    cap: timedelta

    def after(self, failures: int) -> timedelta:
        doublings = min(max(failures, 0), MAX_BACKOFF_DOUBLINGS)
        seconds = min(self.base.total_seconds() * 2.0**doublings, self.cap.total_seconds())
        return timedelta(seconds=max(seconds, 0.0))


class CooldownPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Cooldown defaults used when the upstream gives no usable hint.

    Upstream hints (Retry-After, RetryInfo.retryDelay, quota reset times, ...) win over these
    defaults; every cooldown and retry_after is then capped to `max_cooldown`, except the
    reset of an exhausted quota, capped to `max_quota_cooldown`.
    """

    max_cooldown: timedelta = timedelta(hours=24)
    # Quotas reset days away (weekly pools: "Resets in 108h48m29s"): the announced reset is
    # honoured, so the account is not tried (and refused) again every `max_cooldown`.
    max_quota_cooldown: timedelta = timedelta(days=8)
    # A 429 whose hint is shorter than this is waited out on the same account (once).
    short_wait: timedelta = timedelta(seconds=3)
    # Consecutive failures of an account+model during which the same account is tried again
    # (short 429 wait, token refresh after a 401, one retry of an empty answer).
    same_account_retries: int = 1
    rate_limited: Backoff = Backoff(base=timedelta(seconds=30), cap=timedelta(minutes=30))
    capacity: Backoff = Backoff(base=timedelta(seconds=15), cap=timedelta(seconds=60))
    transient: Backoff = Backoff(base=timedelta(seconds=5), cap=timedelta(minutes=2))
    empty_response: Backoff = Backoff(base=timedelta(seconds=5), cap=timedelta(minutes=2))
    quota_exhausted: timedelta = timedelta(hours=1)
    permission: timedelta = timedelta(minutes=30)
    auth_invalid: timedelta = timedelta(minutes=30)
    # A disabled account also rests this long, account-wide and shared by every process, so
    # none keeps picking it before the disable reaches the database and the catalogs reload.
    disabled: timedelta = timedelta(hours=1)

    def cap(self, delay: timedelta) -> timedelta:
        """`delay` within [0, max_cooldown]."""
        return min(max(delay, timedelta(0)), max(self.max_cooldown, timedelta(0)))

    def cap_quota(self, delay: timedelta) -> timedelta:
        """An announced quota reset within [0, max_quota_cooldown]."""
        return min(max(delay, timedelta(0)), max(self.max_quota_cooldown, timedelta(0)))


DEFAULT_POLICY = CooldownPolicy()
