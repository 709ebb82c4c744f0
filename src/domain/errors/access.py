"""401 and 403: refresh, rest, or disable the account; disabling only on known codes."""

from __future__ import annotations

from datetime import timedelta

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors import codes
from aigateway.domain.errors.call import Call
from aigateway.domain.errors.failure import (
    CooldownScope,
    Failure,
    FailureAction,
    FailureCategory,
)
from aigateway.domain.errors.rejections import client_error


def unauthorized(call: Call) -> Failure:
    if call.tokens & codes.DISABLED:
        return _disabled(call)
    if call.auth_type is AuthType.OAUTH:
        return _refresh(call)
    code = call.code(codes.AUTH)
    if call.tokens & codes.AUTH:
        return Failure(
            category=FailureCategory.AUTH_REVOKED,
            action=FailureAction.DISABLE_AND_ROTATE,
            reason=call.reason("API key rejected; account disabled", code),
            status=call.status,
            code=code,
            cooldown=_disabled_cooldown(call),
            cooldown_scope=CooldownScope.ACCOUNT,
        )
    # No code that rejects the key: rest the account, do not disable it on a guess.
    return Failure(
        category=FailureCategory.AUTH_INVALID,
        action=FailureAction.ROTATE,
        reason=call.reason("API key refused without a known code", code),
        status=call.status,
        code=code,
        cooldown=call.policy.cap(call.policy.auth_invalid),
        cooldown_scope=CooldownScope.ACCOUNT,
    )


def forbidden(call: Call) -> Failure:
    tokens = call.tokens
    if tokens & codes.DISABLED:
        return _disabled(call)
    for known, fix in call.dialect.misconfigured:
        if known.lower() in tokens:
            return _misconfigured(call, known, fix)
    if _suspension_notice(call):
        return _suspended(call)
    if not tokens & codes.PERMISSION_SPECIFIC:
        # Milder outcomes only: a 403 about the request's content is the client's, and an
        # OAuth 403 that reads like an expired token gets one refresh, then counts as a 403.
        if codes.mentions(call.text, codes.PHRASES_CONTENT):
            return client_error(call, "request refused for its content")
        if (
            call.auth_type is AuthType.OAUTH
            and call.failures < call.policy.same_account_retries
            and codes.mentions(call.text, codes.PHRASES_TOKEN_EXPIRED)
        ):
            return _refresh(call)
    account_wide = bool(tokens & codes.PERMISSION_ACCOUNT_WIDE)
    code = call.code(codes.PERMISSION)
    return Failure(
        category=FailureCategory.PERMISSION,
        action=FailureAction.ROTATE,
        reason=call.reason("permission denied", code),
        status=call.status,
        code=code,
        cooldown=call.policy.cap(call.policy.permission),
        cooldown_scope=CooldownScope.ACCOUNT if account_wide else CooldownScope.MODEL,
    )


def _refresh(call: Call) -> Failure:
    policy = call.policy
    code = call.code(codes.AUTH | codes.PERMISSION)
    if call.failures < policy.same_account_retries:
        return Failure(
            category=FailureCategory.AUTH_INVALID,
            action=FailureAction.REFRESH_AND_RETRY_SAME,
            reason=call.reason("access token refused; refresh it", code),
            status=call.status,
            code=code,
            cooldown_scope=CooldownScope.ACCOUNT,
        )
    return Failure(
        category=FailureCategory.AUTH_INVALID,
        action=FailureAction.ROTATE,
        reason=call.reason("access token refused after a refresh", code),
        status=call.status,
        code=code,
        cooldown=policy.cap(policy.auth_invalid),
        cooldown_scope=CooldownScope.ACCOUNT,
    )


_VALIDATION = (
    "account must be verified: its owner signs in to the Google account and completes the "
    "verification, then re-enable it; disabled"
)
_SUSPENDED = "account suspended for a terms-of-service violation; disabled"


def _disabled(call: Call) -> Failure:
    code = call.code(codes.DISABLED)
    lowered = code.lower() if code else ""
    if lowered == "validation_required":
        reason = call.reason_with_link(
            call.reason(_VALIDATION, code), "verify at", call.body.validation_url
        )
    elif lowered == "tos_violation":
        reason = call.reason_with_link(
            call.reason(_SUSPENDED, code), "appeal at", call.body.appeal_url
        )
    else:
        text = "account needs a human (verification, eligibility or deactivation); disabled"
        reason = call.reason(text, code)
    return _disable(call, reason, code)


def _suspension_notice(call: Call) -> bool:
    """The documented suspension notice, sent without an ErrorInfo: a 403 PERMISSION_DENIED
    whose message starts with it (an echo of the prompt could only follow the upstream's
    own words)."""
    notices = call.dialect.suspension_notices
    return (
        bool(notices)
        and call.status == 403
        and not call.body.reasons
        and (call.body.status or "").lower() == "permission_denied"
        and call.text.startswith(notices)
    )


def _suspended(call: Call) -> Failure:
    code = call.code(codes.PERMISSION)
    return _disable(call, call.reason(_SUSPENDED, code), code)


def _misconfigured(call: Call, known: str, fix: str) -> Failure:
    code = call.code(frozenset({known.lower()}))
    return _disable(call, call.reason(f"{fix}; disabled", code), code)


def _disable(call: Call, reason: str, code: str | None) -> Failure:
    return Failure(
        category=FailureCategory.ACCOUNT_DISABLED,
        action=FailureAction.DISABLE_AND_ROTATE,
        reason=reason,
        status=call.status,
        code=code,
        cooldown=_disabled_cooldown(call),
        cooldown_scope=CooldownScope.ACCOUNT,
    )


def _disabled_cooldown(call: Call) -> timedelta:
    return call.policy.cap(call.policy.disabled)
