"""Upstream failure -> what the gateway does: return, retry, refresh, rotate (+ cooldown), disable.

`classify` is total: any dialect, status, body bytes and headers give exactly one `Failure`
without raising. Cooldowns follow upstream hints when there are any (capped to the policy's
`max_cooldown`), policy defaults otherwise.

A client must not be able to rest or disable accounts for everyone. Errors that depend on the
request (400, 404, 413, 422, a 403 about content) go back to the client and cool nothing. An
account is disabled only on a known error code that says the credential is bad, never on the
message, which an upstream may echo from the prompt: message text can only make an outcome
milder (see `codes`).

`Failure.reason` is operator text built only from the gateway's own words, the status and
error codes from a fixed list of known codes: upstream messages are never copied into it
(they echo keys, validation URLs with tokens, project ids), so it is safe to log and store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import msgspec

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors import codes
from aigateway.domain.errors.access import forbidden, unauthorized
from aigateway.domain.errors.bodies import ErrorBody, read_error_body
from aigateway.domain.errors.call import Call, delta, normalise_headers
from aigateway.domain.errors.dialects import ErrorDialect
from aigateway.domain.errors.failure import (
    NETWORK_TEXT,
    CooldownScope,
    Failure,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    clip_reason,
)
from aigateway.domain.errors.policy import DEFAULT_POLICY, Backoff, CooldownPolicy
from aigateway.domain.errors.rejections import client_error, client_outdated, not_found
from aigateway.domain.errors.version_gate import MAX_NOTICE, version_gate_notice


def classify(
    dialect: ErrorDialect,
    status: int | None,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    policy: CooldownPolicy = DEFAULT_POLICY,
    *,
    error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    failures: int = 0,
    auth_type: AuthType | None = None,
    model_known: bool = False,
) -> Failure:
    """Classify one failed upstream call.

    dialect: the error conventions of the upstream (`OPENAI_DIALECT`, ...).
    status: the upstream HTTP status; None when there was none (network error, `error_kind`).
        A 2xx means the caller found the answer unusable (error object in it, empty stream).
    failures: consecutive failures of this account+model before this one (0 for the first);
        drives exponential backoff and bounds same-account retries.
    auth_type: the account's credential type; by default the dialect's. OAuth 401s ask for a
        refresh; API-key 401s with a code that rejects the key disable the account.
    now: aware UTC; HTTP-dates and reset timestamps are relative to it.
    model_known: the account lists the requested model; for a dialect with a client-version
        gate, a 404 for it means the gateway's client version is refused (`CLIENT_OUTDATED`).
        For such a dialect, a 2xx whose `body` is the reply text of an upgrade notice
        (`version_gate_notice`) is `CLIENT_OUTDATED` too.
    """
    _require_aware(now)
    failures = max(0, failures)
    if status is None:
        return network_failure(dialect, error_kind, policy, failures=failures)
    parsed = read_error_body(body)
    call = Call(
        dialect=dialect,
        status=status,
        body=parsed,
        tokens=parsed.tokens(),
        text=codes.normalise_text(parsed.message),
        headers=normalise_headers(headers),
        now=now,
        policy=policy,
        failures=failures,
        auth_type=auth_type or dialect.default_auth,
        model_known=model_known,
        version_notice=(
            dialect.version_gate
            and 200 <= status < 300
            and not parsed.has_error
            and len(body) <= 4 * MAX_NOTICE
            and version_gate_notice(body.decode("utf-8", "replace"))
        ),
    )
    return _by_status(call)


def network_failure(
    dialect: ErrorDialect,
    error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    policy: CooldownPolicy = DEFAULT_POLICY,
    *,
    failures: int = 0,
) -> Failure:
    """A call that got no HTTP status (the same as `classify` with status None)."""
    # Connection-level trouble (proxy, DNS, TLS) hits every model of the account; a timeout
    # is more likely the model being slow.
    # The account's proxy failing says nothing about the account: no cooldown (the proxy's
    # health takes it out of service instead).
    scope = CooldownScope.MODEL if error_kind is NetworkErrorKind.TIMEOUT else CooldownScope.ACCOUNT
    cooldown = None
    if error_kind is not NetworkErrorKind.PROXY:
        cooldown = policy.cap(policy.transient.after(max(0, failures)))
    return Failure(
        category=FailureCategory.TRANSIENT,
        action=FailureAction.ROTATE,
        reason=clip_reason(f"{dialect.name} network: {NETWORK_TEXT[error_kind]}"),
        cooldown=cooldown,
        cooldown_scope=scope,
    )


def status_in_success(body: bytes) -> int | None:
    """The status an error object inside a 2xx answer stands for, when it says so: a numeric
    `code` (OpenRouter and Google put the HTTP status there), or a code that means the request
    itself is wrong (400) or names something that does not exist (404)."""
    parsed = read_error_body(body)
    return _embedded_status(parsed, parsed.tokens())


def _embedded_status(body: ErrorBody, tokens: frozenset[str]) -> int | None:
    if not body.has_error:
        return None
    if body.code is not None and body.code.isdigit() and 400 <= int(body.code) <= 599:
        return int(body.code)
    if tokens & codes.CLIENT:
        return 400
    if tokens & codes.NOT_FOUND:
        return 404
    return None


def _by_status(call: Call) -> Failure:
    status = call.status
    if call.version_notice or (call.dialect.version_gate and status == 404 and call.model_known):
        return client_outdated(call)
    if 200 <= status < 300:
        embedded = _embedded_status(call.body, call.tokens)
        if embedded is not None:  # classified as the error it says it is
            return _by_status(msgspec.structs.replace(call, status=embedded))
        return _empty_response(call)
    if status == 401:
        return unauthorized(call)
    if status == 403:
        return forbidden(call)
    if status in (404, 410):
        return not_found(call)
    if status == 402:
        return _limited(call, FailureCategory.QUOTA_EXHAUSTED)
    if status == 429:
        return _limited(call, _category_of_429(call))
    if status in (408, 425, 499):
        return _transient(call, "request timed out or was cut" if status != 425 else "too early")
    if status == 407:
        return _transient(call, "proxy authentication required", scope=CooldownScope.ACCOUNT)
    if 400 <= status < 500:
        return client_error(call)
    if 500 <= status < 600:
        return _server_error(call)
    return _transient(call, "unexpected upstream status")


def _category_of_429(call: Call) -> FailureCategory:
    tokens = call.tokens
    if tokens & codes.CAPACITY:
        return FailureCategory.CAPACITY
    if tokens & codes.QUOTA:
        return FailureCategory.QUOTA_EXHAUSTED
    if tokens & codes.RATE:
        return FailureCategory.RATE_LIMITED
    if codes.mentions(call.text, codes.PHRASES_CAPACITY):  # milder: a shorter rest by default
        return FailureCategory.CAPACITY
    return FailureCategory.RATE_LIMITED


_LIMIT_TEXT = {
    FailureCategory.RATE_LIMITED: "rate limited",
    FailureCategory.QUOTA_EXHAUSTED: "quota exhausted",
    FailureCategory.CAPACITY: "no capacity for the model",
}


def _limited(call: Call, category: FailureCategory) -> Failure:
    """429 / 402 / capacity: wait briefly on the same account, or rotate until the reset."""
    policy = call.policy
    if category is FailureCategory.QUOTA_EXHAUSTED:
        default = policy.cap(policy.quota_exhausted)
        # Rate-limit window headers say nothing about a quota (OpenAI sends them anyway).
        hint = call.hint(rate_headers=False, ceiling=default)
        per_model = (
            call.dialect.quota_scope is CooldownScope.MODEL
            or bool(call.tokens & codes.QUOTA_BY_BODY)
            or call.body.retry_delay is not None
            or call.body.quota_reset_delay is not None
        )
        scope = CooldownScope.MODEL if per_model else CooldownScope.ACCOUNT
    else:
        backoff = policy.capacity if category is FailureCategory.CAPACITY else policy.rate_limited
        default = policy.cap(backoff.after(call.failures))
        hint = call.hint(rate_headers=True, ceiling=default)
        scope = CooldownScope.MODEL
    code = call.code(codes.CAPACITY | codes.QUOTA | codes.RATE)
    text = _LIMIT_TEXT[category]
    if hint is not None:
        wait = policy.cap(delta(hint.seconds))
        if category is FailureCategory.QUOTA_EXHAUSTED:  # resets can be days away
            wait = policy.cap_quota(delta(hint.seconds))
        elif category is FailureCategory.CAPACITY:  # moves on: never a long rest
            wait = min(wait, policy.cap(policy.capacity.cap))
        if wait < policy.short_wait and call.failures < policy.same_account_retries:
            return Failure(
                category=category,
                action=FailureAction.RETRY_SAME_AFTER,
                reason=call.reason(text, code, hint, wait),
                status=call.status,
                code=code,
                cooldown_scope=scope,
                retry_after=wait,
            )
        cooldown = wait
    else:
        cooldown = default
    return Failure(
        category=category,
        action=FailureAction.ROTATE,
        reason=call.reason(text, code, hint, cooldown),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=scope,
        retry_after=cooldown,
    )


def _server_error(call: Call) -> Failure:
    if call.status == 529 or call.tokens & codes.CAPACITY:
        return _rotate_with_hint(
            call, FailureCategory.CAPACITY, "no capacity for the model", call.policy.capacity
        )
    return _rotate_with_hint(
        call, FailureCategory.TRANSIENT, "upstream server error", call.policy.transient
    )


def _transient(call: Call, text: str, *, scope: CooldownScope = CooldownScope.MODEL) -> Failure:
    return _rotate_with_hint(
        call, FailureCategory.TRANSIENT, text, call.policy.transient, scope=scope
    )


def _rotate_with_hint(
    call: Call,
    category: FailureCategory,
    text: str,
    backoff: Backoff,
    *,
    scope: CooldownScope = CooldownScope.MODEL,
) -> Failure:
    policy = call.policy
    default = policy.cap(backoff.after(call.failures))
    hint = call.hint(rate_headers=False, ceiling=default)
    cooldown = policy.cap(delta(hint.seconds)) if hint else default
    if category is FailureCategory.CAPACITY:  # moves on: never a long rest
        cooldown = min(cooldown, policy.cap(backoff.cap))
    code = call.code(codes.CAPACITY)
    return Failure(
        category=category,
        action=FailureAction.ROTATE,
        reason=call.reason(text, code, hint, cooldown),
        status=call.status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=scope,
        retry_after=cooldown if hint or category is FailureCategory.CAPACITY else None,
    )


def _empty_response(call: Call) -> Failure:
    policy = call.policy
    code = call.code(codes.NONE)
    text = "error object in a success answer" if call.body.has_error else "empty answer"
    if call.failures < policy.same_account_retries:
        return Failure(
            category=FailureCategory.EMPTY_RESPONSE,
            action=FailureAction.RETRY_SAME_AFTER,
            reason=call.reason(text + "; retrying once", code),
            status=call.status,
            code=code,
            retry_after=timedelta(0),
        )
    return Failure(
        category=FailureCategory.EMPTY_RESPONSE,
        action=FailureAction.ROTATE,
        reason=call.reason(text, code),
        status=call.status,
        code=code,
        cooldown=policy.cap(policy.empty_response.after(call.failures)),
    )


# --- helpers ---------------------------------------------------------------------------------


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (UTC)")
