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


OPENAI_DIALECT = ErrorDialect(name="openai", rate_limit_headers=(RateLimitHeaders.OPENAI,))
ANTHROPIC_DIALECT = ErrorDialect(name="anthropic", rate_limit_headers=(RateLimitHeaders.ANTHROPIC,))
# google.rpc.Status bodies of the Cloud Code API, which Antigravity serves over OAuth.
CLOUD_CODE_DIALECT = ErrorDialect(
    name="antigravity",
    default_auth=AuthType.OAUTH,
    body_hints_first=True,
    quota_scope=CooldownScope.MODEL,
)
