"""Upstream error classification and cooldown policy (pure)."""

from aigateway.domain.errors.bodies import ErrorBody, error_in_success, read_error_body
from aigateway.domain.errors.classification import (
    CooldownScope,
    Failure,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    classify,
    classify_token_refresh_error,
    format_delay,
    network_failure,
    retry_after_header,
)
from aigateway.domain.errors.policy import DEFAULT_POLICY, Backoff, CooldownPolicy

__all__ = [
    "DEFAULT_POLICY",
    "Backoff",
    "CooldownPolicy",
    "CooldownScope",
    "ErrorBody",
    "Failure",
    "FailureAction",
    "FailureCategory",
    "NetworkErrorKind",
    "classify",
    "classify_token_refresh_error",
    "error_in_success",
    "format_delay",
    "network_failure",
    "read_error_body",
    "retry_after_header",
]
