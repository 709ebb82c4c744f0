"""Upstream failure -> what the gateway does: return, retry, refresh, rotate (+ cooldown), disable.

`classify` is total: any provider kind, status, body bytes and headers give exactly one
`Failure` without raising. Cooldowns follow upstream hints when there are any (capped to the
policy's `max_cooldown`), policy defaults otherwise.

`Failure.reason` is operator text built only from the gateway's own words, the status and
error codes from a fixed list of known codes: upstream messages are never copied into it
(they echo keys, validation URLs with tokens, project ids), so it is safe to log and store.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import msgspec

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors.bodies import MAX_TEXT, ErrorBody, read_error_body
from aigateway.domain.errors.durations import (
    decimal_seconds,
    epoch_delay,
    go_duration_seconds,
    message_delay_seconds,
    retry_after_seconds,
    timestamp_delay,
)
from aigateway.domain.errors.policy import DEFAULT_POLICY, Backoff, CooldownPolicy
from aigateway.domain.providers import ProviderKind

MAX_REASON = 200


class FailureCategory(enum.StrEnum):
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    CAPACITY = "capacity"  # the upstream has no capacity for the model right now
    AUTH_INVALID = "auth_invalid"  # the access token was refused: a refresh may help
    AUTH_REVOKED = "auth_revoked"  # the key / refresh token is dead: permanent
    ACCOUNT_DISABLED = "account_disabled"  # needs a human (verification, terms of service)
    PERMISSION = "permission"
    CLIENT_ERROR = "client_error"  # 400/413/422...: the request itself is wrong
    NOT_FOUND = "not_found"
    TRANSIENT = "transient"  # 5xx, 408, network errors
    EMPTY_RESPONSE = "empty_response"  # a 2xx that carries an error object, or nothing


class FailureAction(enum.StrEnum):
    RETURN_TO_CLIENT = "return_to_client"  # never retried, on no account
    RETRY_SAME_AFTER = "retry_same_after"  # wait `retry_after` (short), same account again
    REFRESH_AND_RETRY_SAME = "refresh_and_retry_same"  # refresh the OAuth token, retry once
    ROTATE = "rotate"  # next account; this one cools down for `cooldown`
    DISABLE_AND_ROTATE = "disable_and_rotate"  # disable the account with `reason`, next one


class CooldownScope(enum.StrEnum):
    MODEL = "model"  # the account is not picked for this model
    ACCOUNT = "account"  # the account is not picked at all


class NetworkErrorKind(enum.StrEnum):
    """Why there is no status: what the HTTP client reported."""

    CONNECT = "connect"
    TIMEOUT = "timeout"
    RESET = "reset"
    OTHER = "other"


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    category: FailureCategory
    action: FailureAction
    reason: str  # operator text, at most 200 characters, never upstream free text
    status: int | None = None  # upstream status; None for network errors
    code: str | None = None  # the known upstream error code that decided, if any
    cooldown: timedelta | None = None  # how long account (+ model) must not be picked
    cooldown_scope: CooldownScope = CooldownScope.MODEL
    retry_after: timedelta | None = None  # wait before the same-account retry / client hint

    @property
    def retryable(self) -> bool:
        """False only for failures that go straight back to the client."""
        return self.action is not FailureAction.RETURN_TO_CLIENT

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


# --- known upstream codes: matched ignoring case; only these ever reach a reason ---------

_CODES_QUOTA = (
    "insufficient_quota",
    "billing_hard_limit_reached",
    "billing_not_active",
    "QUOTA_EXHAUSTED",
    "QUOTA_EXCEEDED",
)
_CODES_QUOTA_BY_BODY = ("QUOTA_EXHAUSTED", "QUOTA_EXCEEDED")  # hints are the quota reset
_CODES_RATE = (
    "rate_limit_exceeded",
    "rate_limit_error",
    "RATE_LIMIT_EXCEEDED",
    "USER_RATE_LIMIT_EXCEEDED",
    "requests",
    "tokens",
)
_CODES_CAPACITY = ("MODEL_CAPACITY_EXHAUSTED", "overloaded_error", "server_overloaded")
_CODES_DISABLED = (
    "VALIDATION_REQUIRED",
    "SUBSCRIPTION_REQUIRED",
    "ACCOUNT_DISABLED",
    "account_deactivated",
    "access_terminated",
)
_CODES_AUTH = (
    "invalid_api_key",
    "authentication_error",
    "UNAUTHENTICATED",
    "API_KEY_INVALID",
    "ACCESS_TOKEN_EXPIRED",
    "ACCESS_TOKEN_TYPE_UNSUPPORTED",
    "CREDENTIALS_MISSING",
    "invalid_organization",
)
_CODES_PERMISSION = (
    "permission_error",
    "PERMISSION_DENIED",
    "IAM_PERMISSION_DENIED",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    "unsupported_country_region_territory",
    "SERVICE_DISABLED",
    "CONSUMER_INVALID",
    "USER_PROJECT_DENIED",
)
_CODES_PERMISSION_ACCOUNT_WIDE = ("SERVICE_DISABLED", "CONSUMER_INVALID", "USER_PROJECT_DENIED")
_CODES_NOT_FOUND = ("model_not_found", "not_found_error", "NOT_FOUND")
_CODES_CLIENT = (
    "invalid_request_error",
    "context_length_exceeded",
    "request_too_large",
    "string_above_max_length",
    "invalid_value",
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "OUT_OF_RANGE",
)
_CODES_TRANSIENT = (
    "api_error",
    "server_error",
    "timeout_error",
    "INTERNAL",
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "ABORTED",
)
_CODES_OAUTH_REVOKED = (
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "refresh_token_expired",
    "refresh_token_reused",
    "refresh_token_invalidated",
)
_CODES_OAUTH_OTHER = (
    "invalid_request",
    "invalid_scope",
    "unsupported_grant_type",
    "access_denied",
    "temporarily_unavailable",
)
_KNOWN = frozenset(
    code.lower()
    for group in (
        _CODES_QUOTA,
        _CODES_RATE,
        _CODES_CAPACITY,
        _CODES_DISABLED,
        _CODES_AUTH,
        _CODES_PERMISSION,
        _CODES_NOT_FOUND,
        _CODES_CLIENT,
        _CODES_TRANSIENT,
        _CODES_OAUTH_REVOKED,
        _CODES_OAUTH_OTHER,
    )
    for code in group
)


def _lower(codes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(c.lower() for c in codes)


_QUOTA = _lower(_CODES_QUOTA)
_QUOTA_BY_BODY = _lower(_CODES_QUOTA_BY_BODY)
_RATE = _lower(_CODES_RATE)
_CAPACITY = _lower(_CODES_CAPACITY)
_DISABLED = _lower(_CODES_DISABLED)
_AUTH = _lower(_CODES_AUTH)
_PERMISSION = _lower(_CODES_PERMISSION)
_PERMISSION_ACCOUNT_WIDE = _lower(_CODES_PERMISSION_ACCOUNT_WIDE)
_NOT_FOUND = _lower(_CODES_NOT_FOUND)
_CLIENT = _lower(_CODES_CLIENT)
_OAUTH_REVOKED = _lower(_CODES_OAUTH_REVOKED)

# Phrases matched in the (lower-cased, whitespace-collapsed) upstream message.
_PHRASES_QUOTA = (
    "exceeded your current quota",
    "exhausted your capacity",
    "quota will reset",
    "individual quota reached",
    "quota exceeded",
    "quota has been exhausted",
    "insufficient_quota",
    "insufficient balance",
)
_PHRASES_CAPACITY = ("no capacity", "overloaded")
_PHRASES_DISABLED = (
    "terms of service",
    "verify your account",
    "validation required",
    "not eligible",
    "account has been deactivated",
    "account has been disabled",
    "account has been suspended",
    "disabled in this account",
    "organization has been disabled",
)
_PHRASES_TOKEN_EXPIRED = ("oauth token has been revoked", "token has expired", "token expired")
_PHRASES_OAUTH_REVOKED = (
    "expired or revoked",
    "has been revoked",
    "refresh token not found",
    "refresh token is invalid",
    "invalid refresh token",
)


# --- classification --------------------------------------------------------------------------


class _Hint(msgspec.Struct, frozen=True):
    seconds: float
    source: str


class _Call(msgspec.Struct, frozen=True, kw_only=True):
    """One failed upstream call, read once."""

    kind: ProviderKind
    status: int
    body: ErrorBody
    tokens: frozenset[str]
    text: str  # message, lower-cased, whitespace collapsed; matching only
    headers: Mapping[str, str]
    now: datetime
    policy: CooldownPolicy
    failures: int
    auth_type: AuthType


def classify(
    kind: ProviderKind,
    status: int | None,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    policy: CooldownPolicy = DEFAULT_POLICY,
    *,
    error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    failures: int = 0,
    auth_type: AuthType | None = None,
) -> Failure:
    """Classify one failed upstream call.

    status: the upstream HTTP status; None when there was none (network error, `error_kind`).
        A 2xx means the caller found the answer unusable (error object in it, empty stream).
    failures: consecutive failures of this account+model before this one (0 for the first);
        drives exponential backoff and bounds same-account retries.
    auth_type: the account's credential type; by default OAuth for Antigravity, API key
        otherwise. OAuth 401s ask for a refresh, API-key 401s disable the account.
    now: aware UTC; HTTP-dates and reset timestamps are relative to it.
    """
    _require_aware(now)
    failures = max(0, failures)
    if status is None:
        return _network(kind, error_kind, policy, failures)
    parsed = read_error_body(body)
    call = _Call(
        kind=kind,
        status=status,
        body=parsed,
        tokens=parsed.tokens(),
        text=_normalise_text(parsed.message),
        headers=_normalise_headers(headers),
        now=now,
        policy=policy,
        failures=failures,
        auth_type=auth_type or _default_auth(kind),
    )
    return _by_status(call)


def network_failure(
    kind: ProviderKind,
    error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    policy: CooldownPolicy = DEFAULT_POLICY,
    *,
    failures: int = 0,
) -> Failure:
    """A call that got no HTTP status (the same as `classify` with status None)."""
    return _network(kind, error_kind, policy, max(0, failures))


def _by_status(call: _Call) -> Failure:
    status = call.status
    if 200 <= status < 300:
        return _empty_response(call)
    if status == 401:
        return _unauthorized(call)
    if status == 403:
        return _forbidden(call)
    if status in (404, 410):
        return _not_found(call)
    if status == 402:
        return _limited(call, FailureCategory.QUOTA_EXHAUSTED)
    if status == 429:
        return _limited(call, _category_of_429(call))
    if status in (408, 425, 499):
        return _transient(call, "request timed out or was cut" if status != 425 else "too early")
    if status == 407:
        return _transient(call, "proxy authentication required", scope=CooldownScope.ACCOUNT)
    if 400 <= status < 500:
        return _client_error(call)
    if 500 <= status < 600:
        return _server_error(call)
    return _transient(call, "unexpected upstream status")


def _category_of_429(call: _Call) -> FailureCategory:
    tokens = call.tokens
    if tokens & _CAPACITY:
        return FailureCategory.CAPACITY
    if tokens & _QUOTA:
        return FailureCategory.QUOTA_EXHAUSTED
    if tokens & _RATE:
        return FailureCategory.RATE_LIMITED
    if _mentions(call.text, _PHRASES_CAPACITY):
        return FailureCategory.CAPACITY
    if _mentions(call.text, _PHRASES_QUOTA):
        return FailureCategory.QUOTA_EXHAUSTED
    return FailureCategory.RATE_LIMITED


_LIMIT_TEXT = {
    FailureCategory.RATE_LIMITED: "rate limited",
    FailureCategory.QUOTA_EXHAUSTED: "quota exhausted",
    FailureCategory.CAPACITY: "no capacity for the model",
}


def _limited(call: _Call, category: FailureCategory) -> Failure:
    """429 / 402 / capacity: wait briefly on the same account, or rotate until the reset."""
    policy = call.policy
    if category is FailureCategory.QUOTA_EXHAUSTED:
        # Rate-limit window headers say nothing about a quota (OpenAI sends them anyway).
        hint = _hint(call, rate_headers=False)
        default = policy.quota_exhausted
        per_model = (  # Google quotas are per model; billing quotas cover the account
            call.kind is ProviderKind.ANTIGRAVITY
            or bool(call.tokens & _QUOTA_BY_BODY)
            or call.body.retry_delay is not None
            or call.body.quota_reset_delay is not None
        )
        account_wide = not per_model
    else:
        hint = _hint(call, rate_headers=True)
        backoff = policy.capacity if category is FailureCategory.CAPACITY else policy.rate_limited
        default = backoff.after(call.failures)
        account_wide = False
    scope = CooldownScope.ACCOUNT if account_wide else CooldownScope.MODEL
    code = _code(call, _CAPACITY | _QUOTA | _RATE)
    text = _LIMIT_TEXT[category]
    if hint is not None:
        wait = policy.cap(_delta(hint.seconds))
        if wait < policy.short_wait and call.failures < policy.same_account_retries:
            return Failure(
                category=category,
                action=FailureAction.RETRY_SAME_AFTER,
                reason=_reason(call.kind, call.status, text, code, hint, wait),
                status=call.status,
                code=code,
                cooldown_scope=scope,
                retry_after=wait,
            )
        cooldown = wait
    else:
        cooldown = policy.cap(default)
    return Failure(
        category=category,
        action=FailureAction.ROTATE,
        reason=_reason(call.kind, call.status, text, code, hint, cooldown),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=scope,
        retry_after=cooldown,
    )


def _server_error(call: _Call) -> Failure:
    capacity = (
        call.status == 529
        or bool(call.tokens & _CAPACITY)
        or (call.status == 503 and _mentions(call.text, _PHRASES_CAPACITY))
    )
    if capacity:
        return _rotate_with_hint(
            call, FailureCategory.CAPACITY, "no capacity for the model", call.policy.capacity
        )
    return _rotate_with_hint(
        call, FailureCategory.TRANSIENT, "upstream server error", call.policy.transient
    )


def _transient(call: _Call, text: str, *, scope: CooldownScope = CooldownScope.MODEL) -> Failure:
    return _rotate_with_hint(
        call, FailureCategory.TRANSIENT, text, call.policy.transient, scope=scope
    )


def _rotate_with_hint(
    call: _Call,
    category: FailureCategory,
    text: str,
    backoff: Backoff,
    *,
    scope: CooldownScope = CooldownScope.MODEL,
) -> Failure:
    hint = _hint(call, rate_headers=False)
    policy = call.policy
    cooldown = policy.cap(_delta(hint.seconds) if hint else backoff.after(call.failures))
    code = _code(call, _CAPACITY)
    return Failure(
        category=category,
        action=FailureAction.ROTATE,
        reason=_reason(call.kind, call.status, text, code, hint, cooldown),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=scope,
        retry_after=cooldown if hint or category is FailureCategory.CAPACITY else None,
    )


def _unauthorized(call: _Call) -> Failure:
    if call.tokens & _DISABLED or _mentions(call.text, _PHRASES_DISABLED):
        return _disabled(call)
    if call.auth_type is AuthType.OAUTH:
        return _refresh(call)
    code = _code(call, _AUTH)
    return Failure(
        category=FailureCategory.AUTH_REVOKED,
        action=FailureAction.DISABLE_AND_ROTATE,
        reason=_reason(call.kind, call.status, "API key rejected; account disabled", code),
        status=call.status,
        code=code,
        cooldown_scope=CooldownScope.ACCOUNT,
    )


def _refresh(call: _Call) -> Failure:
    policy = call.policy
    code = _code(call, _AUTH | _PERMISSION)
    if call.failures < policy.same_account_retries:
        return Failure(
            category=FailureCategory.AUTH_INVALID,
            action=FailureAction.REFRESH_AND_RETRY_SAME,
            reason=_reason(call.kind, call.status, "access token refused; refresh it", code),
            status=call.status,
            code=code,
            cooldown_scope=CooldownScope.ACCOUNT,
        )
    cooldown = policy.cap(policy.auth_invalid)
    return Failure(
        category=FailureCategory.AUTH_INVALID,
        action=FailureAction.ROTATE,
        reason=_reason(call.kind, call.status, "access token refused after a refresh", code),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=CooldownScope.ACCOUNT,
    )


def _forbidden(call: _Call) -> Failure:
    if call.tokens & _DISABLED or _mentions(call.text, _PHRASES_DISABLED):
        return _disabled(call)
    if call.auth_type is AuthType.OAUTH and _mentions(call.text, _PHRASES_TOKEN_EXPIRED):
        return _refresh(call)
    account_wide = call.kind is ProviderKind.ANTIGRAVITY or bool(
        call.tokens & _PERMISSION_ACCOUNT_WIDE
    )
    cooldown = call.policy.cap(call.policy.permission)
    code = _code(call, _PERMISSION)
    return Failure(
        category=FailureCategory.PERMISSION,
        action=FailureAction.ROTATE,
        reason=_reason(call.kind, call.status, "permission denied", code),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=CooldownScope.ACCOUNT if account_wide else CooldownScope.MODEL,
    )


def _disabled(call: _Call) -> Failure:
    code = _code(call, _DISABLED)
    if code is not None and code.lower() == "validation_required":
        text = "account must be verified by signing in to the Google account; disabled"
    elif _mentions(call.text, ("terms of service",)):
        text = "account suspended for a terms-of-service violation; disabled"
    else:
        text = "account needs a human (verification, eligibility or deactivation); disabled"
    return Failure(
        category=FailureCategory.ACCOUNT_DISABLED,
        action=FailureAction.DISABLE_AND_ROTATE,
        reason=_reason(call.kind, call.status, text, code),
        status=call.status,
        code=code,
        cooldown_scope=CooldownScope.ACCOUNT,
    )


def _not_found(call: _Call) -> Failure:
    cooldown = call.policy.cap(call.policy.not_found)
    code = _code(call, _NOT_FOUND)
    return Failure(
        category=FailureCategory.NOT_FOUND,
        action=FailureAction.ROTATE,
        reason=_reason(call.kind, call.status, "model or endpoint not found", code),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=CooldownScope.MODEL,
    )


_CLIENT_TEXT = {
    400: "request rejected as invalid",
    413: "request too large",
    422: "request could not be processed",
}


def _client_error(call: _Call) -> Failure:
    code = _code(call, _CLIENT)
    text = _CLIENT_TEXT.get(call.status, "request rejected")
    return Failure(
        category=FailureCategory.CLIENT_ERROR,
        action=FailureAction.RETURN_TO_CLIENT,
        reason=_reason(call.kind, call.status, text + "; returned to the client", code),
        status=call.status,
        code=code,
    )


def _empty_response(call: _Call) -> Failure:
    policy = call.policy
    code = _code(call, frozenset())
    text = "error object in a success answer" if call.body.has_error else "empty answer"
    if call.failures < policy.same_account_retries:
        return Failure(
            category=FailureCategory.EMPTY_RESPONSE,
            action=FailureAction.RETRY_SAME_AFTER,
            reason=_reason(call.kind, call.status, text + "; retrying once", code),
            status=call.status,
            code=code,
            retry_after=timedelta(0),
        )
    cooldown = policy.cap(policy.empty_response.after(call.failures))
    return Failure(
        category=FailureCategory.EMPTY_RESPONSE,
        action=FailureAction.ROTATE,
        reason=_reason(call.kind, call.status, text, code),
        status=call.status,
        code=code,
        cooldown=cooldown,
    )


_NETWORK_TEXT = {
    NetworkErrorKind.CONNECT: "could not connect",
    NetworkErrorKind.TIMEOUT: "timed out",
    NetworkErrorKind.RESET: "connection reset",
    NetworkErrorKind.OTHER: "network error",
}


def _network(
    kind: ProviderKind, error_kind: NetworkErrorKind, policy: CooldownPolicy, failures: int
) -> Failure:
    # Connection-level trouble (proxy, DNS, TLS) hits every model of the account; a timeout
    # is more likely the model being slow.
    scope = CooldownScope.MODEL if error_kind is NetworkErrorKind.TIMEOUT else CooldownScope.ACCOUNT
    cooldown = policy.cap(policy.transient.after(failures))
    return Failure(
        category=FailureCategory.TRANSIENT,
        action=FailureAction.ROTATE,
        reason=_clip(f"{kind.value} network: {_NETWORK_TEXT[error_kind]}"),
        cooldown=cooldown,
        cooldown_scope=scope,
    )


# --- OAuth token endpoint --------------------------------------------------------------------


def classify_token_refresh_error(
    status: int | None,
    body: bytes,
    *,
    error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    failures: int = 0,
    policy: CooldownPolicy = DEFAULT_POLICY,
) -> Failure:
    """A failed refresh at an OAuth token endpoint (Google, Anthropic, OpenAI).

    `invalid_grant` / "expired or revoked" / `invalid_client` / reused or expired refresh
    tokens mean the account is dead: disable it. Everything else rests the whole account.
    """
    failures = max(0, failures)
    scope = CooldownScope.ACCOUNT
    if status is None:
        cooldown = policy.cap(policy.transient.after(failures))
        return Failure(
            category=FailureCategory.TRANSIENT,
            action=FailureAction.ROTATE,
            reason=f"token refresh network: {_NETWORK_TEXT[error_kind]}",
            cooldown=cooldown,
            cooldown_scope=scope,
        )
    parsed = read_error_body(body)
    tokens = parsed.tokens()
    text = _normalise_text(parsed.message)
    revoked = bool(tokens & _OAUTH_REVOKED) or _mentions(text, _PHRASES_OAUTH_REVOKED)
    code = _known(parsed.codes(), _OAUTH_REVOKED)
    if revoked and status < 500:
        if code is not None and code.lower() in ("invalid_client", "unauthorized_client"):
            words = "OAuth client rejected (check client id/secret); account disabled"
        else:
            words = "refresh token expired or revoked; re-authorise the account; disabled"
        return Failure(
            category=FailureCategory.AUTH_REVOKED,
            action=FailureAction.DISABLE_AND_ROTATE,
            reason=_token_reason(status, words, code),
            status=status,
            code=code,
            cooldown_scope=scope,
        )
    if status == 429 or status >= 500 or status == 408 or status < 200 or 300 <= status < 400:
        limited = status == 429
        backoff = policy.rate_limited if limited else policy.transient
        cooldown = policy.cap(backoff.after(failures))
        return Failure(
            category=FailureCategory.RATE_LIMITED if limited else FailureCategory.TRANSIENT,
            action=FailureAction.ROTATE,
            reason=_token_reason(status, "token endpoint unavailable", code),
            status=status,
            code=code,
            cooldown=cooldown,
            cooldown_scope=scope,
        )
    if 200 <= status < 300:
        category, words = FailureCategory.EMPTY_RESPONSE, "no access token in the answer"
        cooldown = policy.cap(policy.empty_response.after(failures))
    else:
        category, words = FailureCategory.AUTH_INVALID, "refresh refused"
        cooldown = policy.cap(policy.auth_invalid)
    return Failure(
        category=category,
        action=FailureAction.ROTATE,
        reason=_token_reason(status, words, code),
        status=status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=scope,
    )


# --- helpers ---------------------------------------------------------------------------------


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (UTC)")


def _default_auth(kind: ProviderKind) -> AuthType:
    return AuthType.OAUTH if kind is ProviderKind.ANTIGRAVITY else AuthType.API_KEY


def _normalise_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names; the first value wins when names differ only by case."""
    normalised: dict[str, str] = {}
    for name, value in headers.items():
        normalised.setdefault(str(name).lower(), str(value))
    return normalised


def _normalise_text(message: str) -> str:
    return " ".join(message[:MAX_TEXT].split()).lower()


def _mentions(text: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in text for phrase in phrases)


def _delta(seconds: float) -> timedelta:
    """Seconds (finite, >= 0 by construction of the parsers) as a timedelta, overflow-safe."""
    return timedelta(seconds=min(seconds, timedelta.max.total_seconds() / 2))


def _known(codes: tuple[str, ...], preferred: frozenset[str]) -> str | None:
    """The first code of the body that is a known one (`preferred` ones first), as sent.

    Only codes equal (ignoring case) to an entry of the fixed list qualify, so the result
    can never carry upstream free text.
    """
    for pool in (preferred, _KNOWN):
        for code in codes:
            if code.lower() in pool:
                return code
    return None


def _code(call: _Call, preferred: frozenset[str]) -> str | None:
    return _known(call.body.codes(), preferred)


def _hint(call: _Call, *, rate_headers: bool) -> _Hint | None:
    """The upstream's delay hint, in the precedence of the provider.

    Google (Antigravity): RetryInfo.retryDelay, quotaResetDelay, quotaResetTimeStamp, a
    duration in the message, Retry-After. OpenAI / Anthropic: their headers first (the
    Retry-After family, then the rate-limit reset of the exhausted window), then the body.
    """
    body = call.body
    h = call.headers
    now = call.now
    body_hints = (
        (body.retry_delay, "RetryInfo.retryDelay"),
        (body.quota_reset_delay, "quotaResetDelay"),
        (
            timestamp_delay(body.quota_reset_timestamp, now)
            if body.quota_reset_timestamp
            else None,
            "quotaResetTimeStamp",
        ),
        (message_delay_seconds(call.text) if call.text else None, "message"),
    )
    retry_after = (
        (_header(h, "retry-after-ms", lambda v: decimal_seconds(v, scale=1e-3)), "retry-after-ms"),
        (_header(h, "retry-after", lambda v: retry_after_seconds(v, now)), "Retry-After"),
    )
    ordered: tuple[tuple[float | None, str], ...]
    if call.kind is ProviderKind.ANTIGRAVITY:
        ordered = (*body_hints, *retry_after)
    else:
        window = _window_reset(call) if rate_headers else None
        ordered = (*retry_after, window or (None, ""), *body_hints)
    for seconds, source in ordered:
        if seconds is not None:
            return _Hint(seconds, source)
    return None


_HEADER_VALUE_MAX = 256


def _header(
    headers: Mapping[str, str], name: str, parse: Callable[[str], float | None]
) -> float | None:
    value = headers.get(name)
    if value is None or len(value) > _HEADER_VALUE_MAX:
        return None
    return parse(value)


_OPENAI_WINDOWS = ("requests", "tokens")
_ANTHROPIC_WINDOWS = ("requests", "tokens", "input-tokens", "output-tokens")


def _window_reset(call: _Call) -> tuple[float | None, str] | None:
    """The reset of the exhausted rate-limit window (OpenAI / Anthropic headers).

    When the headers tell which window is exhausted (remaining = 0), the longest reset among
    those; otherwise the shortest announced reset (a 429 means at least one is exhausted).
    """
    h, now = call.headers, call.now
    found: list[tuple[float, str, bool]] = []
    for window in _OPENAI_WINDOWS:
        name = f"x-ratelimit-reset-{window}"
        seconds = _header(h, name, go_duration_seconds)
        if seconds is not None:
            found.append((seconds, name, h.get(f"x-ratelimit-remaining-{window}") == "0"))
    for window in _ANTHROPIC_WINDOWS:
        name = f"anthropic-ratelimit-{window}-reset"
        seconds = _header(h, name, lambda v: timestamp_delay(v, now))
        if seconds is not None:
            found.append((seconds, name, h.get(f"anthropic-ratelimit-{window}-remaining") == "0"))
    if h.get("anthropic-ratelimit-unified-status") == "rejected":
        name = "anthropic-ratelimit-unified-reset"
        seconds = _header(h, name, lambda v: epoch_delay(v, now))
        if seconds is not None:
            found.append((seconds, name, True))
    exhausted = [(s, n) for s, n, gone in found if gone]
    if exhausted:
        return max(exhausted)
    if found:
        return min((s, n) for s, n, _ in found)
    return None


def _reason(
    kind: ProviderKind,
    status: int,
    text: str,
    code: str | None,
    hint: _Hint | None = None,
    delay: timedelta | None = None,
) -> str:
    reason = f"{kind.value} {status}: {text}"
    if code:
        reason += f" [{code}]"
    if hint is not None and delay is not None:
        reason += f"; wait {format_delay(delay)} ({hint.source})"
    return _clip(reason)


def _token_reason(status: int, text: str, code: str | None) -> str:
    return _clip(f"token refresh {status}: {text}" + (f" [{code}]" if code else ""))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
