"""The fixed list of upstream error codes the classifier knows, and the few phrases it reads.

Codes are the machine-readable fields of an error body (`error.type`, `error.code`,
`error.status`, `ErrorInfo.reason`, an OAuth `error`), matched ignoring case. Only codes from
this list ever reach a `Failure.reason`, and only codes decide the severe outcomes (a quota,
an account-wide rest, a disable).

Phrases are matched in the upstream's free-text message, which an upstream may echo from the
prompt. A phrase may only ever make a classification LESS severe than the codes and the status
alone would: a 429 that says "overloaded" rests shorter, a 403 about content goes back to the
client. No phrase disables, cools an account or lengthens a rest.
"""

from __future__ import annotations

from aigateway.domain.errors.bodies import MAX_TEXT

_CODES_QUOTA = (
    "insufficient_quota",
    "billing_hard_limit_reached",
    "billing_not_active",
    "QUOTA_EXHAUSTED",
    "QUOTA_EXCEEDED",
    "INSUFFICIENT_G1_CREDITS_BALANCE",  # Cloud Code: the Google One AI credits are used up
)
_CODES_QUOTA_BY_BODY = ("QUOTA_EXHAUSTED", "QUOTA_EXCEEDED")  # Google: quotas per model
_CODES_RATE = (
    "rate_limit_exceeded",
    "rate_limit_error",
    "RATE_LIMIT_EXCEEDED",
    "USER_RATE_LIMIT_EXCEEDED",
    "requests",
    "tokens",
)
_CODES_CAPACITY = ("MODEL_CAPACITY_EXHAUSTED", "overloaded_error", "server_overloaded")
# The account needs a human: disabled (on a 401 or 403).
_CODES_DISABLED = (
    "VALIDATION_REQUIRED",
    "SUBSCRIPTION_REQUIRED",
    "TOS_VIOLATION",
    "ACCOUNT_DISABLED",
    "account_deactivated",
    "access_terminated",
)
# The credential was refused: an API-key account is disabled on a 401 with one of these.
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
_CODES_PERMISSION_GENERIC = ("permission_error", "PERMISSION_DENIED")  # any 403 carries them
_CODES_PERMISSION_ACCOUNT_WIDE = ("SERVICE_DISABLED", "CONSUMER_INVALID", "USER_PROJECT_DENIED")
_CODES_PERMISSION_SPECIFIC = (
    "IAM_PERMISSION_DENIED",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    "unsupported_country_region_territory",
    *_CODES_PERMISSION_ACCOUNT_WIDE,
)
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


def _lower(*groups: tuple[str, ...]) -> frozenset[str]:
    return frozenset(code.lower() for group in groups for code in group)


QUOTA = _lower(_CODES_QUOTA)
QUOTA_BY_BODY = _lower(_CODES_QUOTA_BY_BODY)
RATE = _lower(_CODES_RATE)
CAPACITY = _lower(_CODES_CAPACITY)
DISABLED = _lower(_CODES_DISABLED)
AUTH = _lower(_CODES_AUTH)
PERMISSION = _lower(_CODES_PERMISSION_GENERIC, _CODES_PERMISSION_SPECIFIC)
PERMISSION_SPECIFIC = _lower(_CODES_PERMISSION_SPECIFIC)
PERMISSION_ACCOUNT_WIDE = _lower(_CODES_PERMISSION_ACCOUNT_WIDE)
NOT_FOUND = _lower(_CODES_NOT_FOUND)
CLIENT = _lower(_CODES_CLIENT)
OAUTH_REVOKED = _lower(_CODES_OAUTH_REVOKED)
NONE: frozenset[str] = frozenset()
KNOWN = _lower(
    _CODES_QUOTA,
    _CODES_RATE,
    _CODES_CAPACITY,
    _CODES_DISABLED,
    _CODES_AUTH,
    _CODES_PERMISSION_GENERIC,
    _CODES_PERMISSION_SPECIFIC,
    _CODES_NOT_FOUND,
    _CODES_CLIENT,
    _CODES_TRANSIENT,
    _CODES_OAUTH_REVOKED,
    _CODES_OAUTH_OTHER,
)


def known_code(codes: tuple[str, ...], preferred: frozenset[str]) -> str | None:
    """The first code of the body that is a known one (`preferred` ones first), as sent.

    Only codes equal (ignoring case) to an entry of the fixed list qualify, so the result
    can never carry upstream free text.
    """
    for pool in (preferred, KNOWN):
        for code in codes:
            if code.lower() in pool:
                return code
    return None


# --- phrases: only ever towards a milder outcome ----------------------------------------

# A 429 that says so is capacity (a shorter rest than a rate limit), not a rate limit.
PHRASES_CAPACITY = ("no capacity", "overloaded")
# A 403 about what the request contains goes back to the client (OpenRouter's moderation
# 403 "Your input was flagged", safety and usage-policy refusals).
PHRASES_CONTENT = (
    "flagged",
    "moderation",
    "safety",
    "content policy",
    "usage policy",
    "content filter",
    "content_filter",
    "content management policy",
)
# A 403 on an OAuth account that says so gets one token refresh before it counts as a 403.
PHRASES_TOKEN_EXPIRED = ("oauth token has been revoked", "token has expired", "token expired")


def normalise_text(message: str) -> str:
    """The upstream message lower-cased, whitespace collapsed, bounded: for matching only."""
    return " ".join(message[:MAX_TEXT].split()).lower()


def mentions(text: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in text for phrase in phrases)
