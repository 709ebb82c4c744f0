"""What the gateway does about one failed upstream call: the `Failure` value and its parts."""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta

import msgspec

MAX_REASON = 200
# A reason may end with one link for the account's owner (a verification or appeal page on a
# host of the dialect's `link_hosts`): at most this long in all.
MAX_LINK_REASON = 1000


class FailureCategory(enum.StrEnum):
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    CAPACITY = "capacity"  # the upstream has no capacity for the model right now
    AUTH_INVALID = "auth_invalid"  # the credential was refused: a refresh or a rest may help
    AUTH_REVOKED = "auth_revoked"  # the key / refresh token is dead: permanent
    ACCOUNT_DISABLED = "account_disabled"  # needs a human (verification, terms of service)
    PERMISSION = "permission"
    CLIENT_ERROR = "client_error"  # 400/413/422, a 403 about content: the request is wrong
    NOT_FOUND = "not_found"  # 404/410: the model or endpoint the request named
    TRANSIENT = "transient"  # 5xx, 408, network errors
    EMPTY_RESPONSE = "empty_response"  # a 2xx that carries an error object, or nothing
    # The upstream refuses the gateway's client version (every account alike): the operator
    # must raise the provider's client version; no account rests, none is disabled.
    CLIENT_OUTDATED = "client_outdated"


class FailureAction(enum.StrEnum):
    RETURN_TO_CLIENT = "return_to_client"  # never retried, on no account, nothing cools down
    RETRY_SAME_AFTER = "retry_same_after"  # wait `retry_after` (short), same account again
    REFRESH_AND_RETRY_SAME = "refresh_and_retry_same"  # refresh the OAuth token, retry once
    ROTATE = "rotate"  # next account; this one cools down for `cooldown`
    # disable the account with `reason`, next one; it also cools down account-wide for
    # `cooldown`, so that every process stops picking it before the disable is stored
    DISABLE_AND_ROTATE = "disable_and_rotate"


class CooldownScope(enum.StrEnum):
    MODEL = "model"  # the account is not picked for this model
    ACCOUNT = "account"  # the account is not picked at all


class NetworkErrorKind(enum.StrEnum):
    """Why there is no status: what the HTTP client reported."""

    CONNECT = "connect"
    TIMEOUT = "timeout"
    RESET = "reset"
    PROXY = "proxy"  # the account's proxy could not be reached or refused the tunnel
    OTHER = "other"


NETWORK_TEXT = {
    NetworkErrorKind.CONNECT: "could not connect",
    NetworkErrorKind.TIMEOUT: "timed out",
    NetworkErrorKind.RESET: "connection reset",
    NetworkErrorKind.PROXY: "proxy unreachable",
    NetworkErrorKind.OTHER: "network error",
}


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    category: FailureCategory
    action: FailureAction
    # operator text, at most 200 characters, never upstream free text; a disable may add one
    # checked link for the account's owner (at most MAX_LINK_REASON characters in all)
    reason: str
    status: int | None = None  # upstream status; None for network errors
    code: str | None = None  # the known upstream error code that decided, if any
    cooldown: timedelta | None = None  # how long account (+ model) must not be picked
    cooldown_scope: CooldownScope = CooldownScope.MODEL
    retry_after: timedelta | None = None  # wait before the same-account retry / client hint

    @property
    def disables_account(self) -> bool:
        return self.action is FailureAction.DISABLE_AND_ROTATE

    def cooldown_until(self, now: datetime) -> datetime | None:
        return now + self.cooldown if self.cooldown is not None else None


def retry_after_header(delay: timedelta) -> str:
    """A `Retry-After` header value: whole seconds, rounded up, never negative."""
    return str(max(0, math.ceil(delay.total_seconds())))


def format_delay(delay: timedelta) -> str:
    """Compact operator text: "20ms", "2.5s", "6m0s", "2h21m50s"."""
    seconds = max(delay.total_seconds(), 0.0)
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


def clip_reason(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
