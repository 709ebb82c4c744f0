"""A failed refresh at an OAuth token endpoint (Google, Anthropic, OpenAI)."""

from __future__ import annotations

from aigateway.domain.errors import codes
from aigateway.domain.errors.bodies import read_error_body
from aigateway.domain.errors.failure import (
    NETWORK_TEXT,
    CooldownScope,
    Failure,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    clip_reason,
)
from aigateway.domain.errors.policy import DEFAULT_POLICY, CooldownPolicy


def classify_token_refresh_error(
    status: int | None,
    body: bytes,
    *,
    error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    failures: int = 0,
    policy: CooldownPolicy = DEFAULT_POLICY,
) -> Failure:
    """A failed refresh at an OAuth token endpoint.

    The codes `invalid_grant` / `invalid_client` / reused or expired refresh tokens (on a
    status below 500) mean the account is dead: disable it, and rest it account-wide until the
    disable is stored. The description text decides nothing. Everything else rests the whole
    account.
    """
    failures = max(0, failures)
    scope = CooldownScope.ACCOUNT
    if status is None:
        return Failure(
            category=FailureCategory.TRANSIENT,
            action=FailureAction.ROTATE,
            reason=f"token refresh network: {NETWORK_TEXT[error_kind]}",
            # the account's proxy failing says nothing about the account
            cooldown=None
            if error_kind is NetworkErrorKind.PROXY
            else policy.cap(policy.transient.after(failures)),
            cooldown_scope=scope,
        )
    parsed = read_error_body(body)
    code = codes.known_code(parsed.codes(), codes.OAUTH_REVOKED)
    if parsed.tokens() & codes.OAUTH_REVOKED and status < 500:
        if code is not None and code.lower() in ("invalid_client", "unauthorized_client"):
            words = "OAuth client rejected (check client id/secret); account disabled"
        else:
            words = "refresh token expired or revoked; re-authorise the account; disabled"
        return Failure(
            category=FailureCategory.AUTH_REVOKED,
            action=FailureAction.DISABLE_AND_ROTATE,
            reason=_reason(status, words, code),
            status=status,
            code=code,
            cooldown=policy.cap(policy.disabled),
            cooldown_scope=scope,
        )
    if status == 429 or status >= 500 or status == 408 or status < 200 or 300 <= status < 400:
        limited = status == 429
        backoff = policy.rate_limited if limited else policy.transient
        return Failure(
            category=FailureCategory.RATE_LIMITED if limited else FailureCategory.TRANSIENT,
            action=FailureAction.ROTATE,
            reason=_reason(status, "token endpoint unavailable", code),
            status=status,
            code=code,
            cooldown=policy.cap(backoff.after(failures)),
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
        reason=_reason(status, words, code),
        status=status,
        code=code,
        cooldown=cooldown,
        cooldown_scope=scope,
    )


def _reason(status: int, text: str, code: str | None) -> str:
    return clip_reason(f"token refresh {status}: {text}" + (f" [{code}]" if code else ""))
