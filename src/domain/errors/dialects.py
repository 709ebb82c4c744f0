"""Error dialects: what differs between the error conventions of upstream API families.

The classifier takes a dialect instead of a provider kind, so a new provider kind brings its
dialect (one of these, or its own value) and the classifier does not change.
"""

from __future__ import annotations

import enum

import msgspec

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors.failure import CooldownScope


class RateLimitHeaders(enum.StrEnum):
    """A family of rate-limit window headers an upstream sends with a 429."""

    OPENAI = "openai"  # x-ratelimit-{remaining,reset}-{requests,tokens} (Go durations)
    ANTHROPIC = "anthropic"  # anthropic-ratelimit-*-{remaining,reset} (RFC 3339), unified-*


class ErrorDialect(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # starts every reason: "openai 429: rate limited"
    default_auth: AuthType = AuthType.API_KEY  # when the caller does not say
    # Google puts its hints in the body (RetryInfo, quota reset) and they win over
    # Retry-After; the others' headers come first.
    body_hints_first: bool = False
    rate_limit_headers: tuple[RateLimitHeaders, ...] = ()
    # The scope of a quota whose body says nothing about models: billing quotas cover the
    # account (OpenAI, Anthropic), Google quotas are per model.
    quota_scope: CooldownScope = CooldownScope.ACCOUNT
    # Hosts (with their subdomains) whose https links in an error body (a verification or
    # appeal page) may be put in the reason of a disabled account, for its owner to open.
    link_hosts: tuple[str, ...] = ()
    # The documented starts of a 403 message (lower-case) that mean the account is suspended,
    # for an upstream that also sends that notice without any error code. Decisive only as
    # the start of a PERMISSION_DENIED message without an ErrorInfo: text echoed from a
    # prompt comes after the upstream's own words, never first.
    suspension_notices: tuple[str, ...] = ()
    # Error codes that say the account is set up wrongly, with what the operator must fix:
    # the account is disabled with that text (it fails the same way until someone fixes it).
    misconfigured: tuple[tuple[str, str], ...] = ()
    # The upstream refuses outdated client versions: with a notice instead of the reply
    # (`version_gate_notice`), or a 404 for a model the account lists. Neither is the
    # account's fault.
    version_gate: bool = False


OPENAI_DIALECT = ErrorDialect(name="openai", rate_limit_headers=(RateLimitHeaders.OPENAI,))
ANTHROPIC_DIALECT = ErrorDialect(name="anthropic", rate_limit_headers=(RateLimitHeaders.ANTHROPIC,))
# google.rpc.Status bodies of the Cloud Code API, which Antigravity serves over OAuth.
CLOUD_CODE_DIALECT = ErrorDialect(
    name="antigravity",
    default_auth=AuthType.OAUTH,
    body_hints_first=True,
    quota_scope=CooldownScope.MODEL,
    link_hosts=("google.com",),
    suspension_notices=(
        "this service has been disabled in this account for violation of terms of service",
        "gemini has been disabled in this account for violation of terms of service",
    ),
    misconfigured=(
        (
            "SERVICE_DISABLED",
            "the account's Google Cloud project cannot use the Cloud Code API: correct "
            "auth_data.project_id (or remove it to discover the project), then re-enable",
        ),
    ),
    version_gate=True,
)
