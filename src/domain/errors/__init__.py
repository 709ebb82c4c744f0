"""Upstream error classification and cooldown policy (pure)."""

from aigateway.domain.errors.bodies import ErrorBody, error_in_success, read_error_body
from aigateway.domain.errors.classification import classify, network_failure, status_in_success
from aigateway.domain.errors.dialects import (
    ANTHROPIC_DIALECT,
    CLOUD_CODE_DIALECT,
    OPENAI_DIALECT,
    ErrorDialect,
    RateLimitHeaders,
)
from aigateway.domain.errors.failure import (
    CooldownScope,
    Failure,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    format_delay,
    retry_after_header,
)
from aigateway.domain.errors.policy import DEFAULT_POLICY, Backoff, CooldownPolicy
from aigateway.domain.errors.token_refresh import classify_token_refresh_error
from aigateway.domain.errors.version_gate import version_gate_notice

__all__ = [
    "ANTHROPIC_DIALECT",
    "CLOUD_CODE_DIALECT",
    "DEFAULT_POLICY",
    "OPENAI_DIALECT",
    "Backoff",
    "CooldownPolicy",
    "CooldownScope",
    "ErrorBody",
    "ErrorDialect",
    "Failure",
    "FailureAction",
    "FailureCategory",
    "NetworkErrorKind",
    "RateLimitHeaders",
    "classify",
    "classify_token_refresh_error",
    "error_in_success",
    "format_delay",
    "network_failure",
    "read_error_body",
    "retry_after_header",
    "status_in_success",
    "version_gate_notice",
]
