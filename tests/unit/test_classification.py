"""Upstream error classification: concrete, real-format cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors import (
    ANTHROPIC_DIALECT,
    CLOUD_CODE_DIALECT,
    DEFAULT_POLICY,
    OPENAI_DIALECT,
    CooldownPolicy,
    CooldownScope,
    ErrorDialect,
    Failure,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    classify,
    classify_token_refresh_error,
    error_in_success,
    format_delay,
    network_failure,
    read_error_body,
    retry_after_header,
    version_gate_notice,
)
from aigateway.domain.errors.durations import (
    go_duration_seconds,
    message_delay_seconds,
    retry_after_seconds,
)
from aigateway.domain.routing.eligibility import Cooldown, cooldown_for

OPENAI, ANTHROPIC, ANTIGRAVITY = OPENAI_DIALECT, ANTHROPIC_DIALECT, CLOUD_CODE_DIALECT
DIALECTS = (OPENAI, ANTHROPIC, ANTIGRAVITY)
NOW = datetime(2026, 4, 27, 6, 0, 0, tzinfo=UTC)
CANARY = "sk-canary-123456"

Cat, Act, Scope = FailureCategory, FailureAction, CooldownScope


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def openai_error(message: str, type_: str | None, code: str | None) -> bytes:
    return dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})


def anthropic_error(type_: str, message: str) -> bytes:
    return dumps({"type": "error", "error": {"type": type_, "message": message}})


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> bytes:
    return dumps(
        {"error": {"code": code, "message": message, "status": status, "details": list(details)}}
    )


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "cloudcode-pa.googleapis.com",
        "metadata": metadata,
    }


def retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


OPENAI_RATE_LIMIT = openai_error(
    "Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): "
    "Limit 500, Used 500, Requested 1. Visit https://platform.openai.com/account/rate-limits.",
    "requests",
    "rate_limit_exceeded",
)
OPENAI_QUOTA = openai_error(
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes.",
    "insufficient_quota",
    "insufficient_quota",
)
OPENAI_BAD_KEY = openai_error(
    f"Incorrect API key provided: {CANARY}. You can find your API key at "
    "https://platform.openai.com/account/api-keys.",
    "invalid_request_error",
    "invalid_api_key",
)
OPENAI_CONTEXT = openai_error(
    "This model's maximum context length is 128000 tokens. However, your messages resulted "
    "in 130000 tokens. Please reduce the length of the messages.",
    "invalid_request_error",
    "context_length_exceeded",
)
OPENAI_SERVER = openai_error(
    "The server had an error while processing your request. Sorry about that!",
    "server_error",
    None,
)
ANTHROPIC_OVERLOADED = anthropic_error("overloaded_error", "Overloaded")
ANTHROPIC_RATE = anthropic_error(
    "rate_limit_error",
    "This request would exceed the rate limit for your organization of 50,000 input tokens "
    "per minute.",
)
AG_MODEL = "claude-opus-4-6-thinking"
AG_QUOTA = google_error(
    429,
    "RESOURCE_EXHAUSTED",
    "You have exhausted your capacity on this model. Your quota will reset after 2h21m50s.",
    error_info(
        "QUOTA_EXHAUSTED",
        uiMessage="true",
        model=AG_MODEL,
        quotaResetDelay="2h21m50.160123456s",
        quotaResetTimeStamp="2026-04-27T08:21:50Z",
    ),
    retry_info("8510.160123456s"),
)
AG_CAPACITY = google_error(
    503,
    "UNAVAILABLE",
    f"No capacity available for model {AG_MODEL} on the server",
    error_info("MODEL_CAPACITY_EXHAUSTED", model=AG_MODEL),
)
VALIDATION_URL = (
    "https://accounts.google.com/signin/continue?sarp=1&scc=1&continue=https://developers."
    "google.com/gemini-code-assist/auth/auth_success_gemini&plt=AKgnsbsqFZV9QxEfLB3_xPIOpSm0"
    "cIH43&flowName=GlifWebSignIn&authuser"
)
AG_VALIDATION = google_error(  # the message echoes a key: it must never reach a reason
    403,
    "PERMISSION_DENIED",
    f"To continue, verify your account at\n\n{VALIDATION_URL}&x={CANARY}\n\nLearn more",
    error_info(
        "VALIDATION_REQUIRED",
        validation_error_message="Verify your account to continue.",
        validation_url_link_text="Verify your account",
        validation_url=VALIDATION_URL,
        validation_learn_more_link_text="Learn more",
        validation_learn_more_url="https://support.google.com/accounts?p=al_alert",
    ),
)
APPEAL_URL = "https://support.google.com/gemini/contact/antigravity_appeal"
AG_TOS = google_error(  # the older, text-only variant
    403,
    "PERMISSION_DENIED",
    "This service has been disabled in this account for violation of Terms of Service. "
    "Please submit an appeal to continue using this product.",
)
AG_TOS_GEMINI = dumps(
    {
        "error": {
            "code": 403,
            "message": "Gemini has been disabled in this account for violation of Terms of "
            "Service. If you believe this is an error, please contact Google Cloud Support.",
            "status": "PERMISSION_DENIED",
        }
    }
)
AG_TOS_CODED = google_error(
    403,
    "PERMISSION_DENIED",
    "This service has been disabled in this account for violation of Terms of Service. "
    "Please submit an appeal to continue using this product.",
    error_info(
        "TOS_VIOLATION",
        appeal_url=APPEAL_URL,
        appeal_url_link_text="Submit an appeal",
        uiMessage="true",
    ),
)
AG_SERVICE_DISABLED = google_error(
    403,
    "PERMISSION_DENIED",
    "Cloud Code Private API has not been used in project p-123 before or it is disabled. "
    "Enable it by visiting https://console.developers.google.com/apis/api/cloudcode-pa."
    "googleapis.com/overview?project=p-123 then retry.",
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {
            "consumer": "projects/p-123",
            "service": "cloudcode-pa.googleapis.com",
            "activationUrl": "https://console.developers.google.com/apis/api/cloudcode-pa."
            "googleapis.com/overview?project=p-123",
        },
    },
)


AG_QUOTA_DAYS = google_error(  # the shape of a weekly pool running out
    429,
    "RESOURCE_EXHAUSTED",
    "Individual quota reached. Contact your administrator to enable overages. "
    "Resets in 108h48m29s.",
    error_info("QUOTA_EXHAUSTED", model=AG_MODEL, quotaResetDelay="108h48m20.79s"),
    retry_info("391609.79s"),
)
AG_RATE_SHORT = google_error(  # as recorded, with both delays
    429,
    "RESOURCE_EXHAUSTED",
    "You have exhausted your capacity on this model. Your quota will reset after 0s.",
    error_info(
        "RATE_LIMIT_EXCEEDED",
        model=AG_MODEL,
        quotaResetDelay="479.417207ms",
        quotaResetTimeStamp="2026-04-20T09:19:49Z",
        uiMessage="true",
    ),
    retry_info("0.479417207s"),
)
AG_NOT_FOUND = google_error(404, "NOT_FOUND", "Requested entity was not found.")
AG_VERSION_NOTICE = (
    "This version of Antigravity is no longer supported. Please update to receive the "
    "latest features!"
)


class Case:
    def __init__(
        self,
        dialect: ErrorDialect,
        status: int | None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        category: FailureCategory,
        action: FailureAction,
        cooldown: timedelta | None = None,
        scope: CooldownScope | None = None,
        retry_after: timedelta | str | None = "any",
        code: str | bool | None = False,
        failures: int = 0,
        auth_type: AuthType | None = None,
        error_kind: NetworkErrorKind = NetworkErrorKind.OTHER,
        model_known: bool = False,
    ) -> None:
        self.model_known = model_known
        self.dialect, self.status, self.body = dialect, status, body
        self.headers = headers or {}
        self.category, self.action, self.cooldown, self.scope = category, action, cooldown, scope
        self.retry_after, self.code, self.failures = retry_after, code, failures
        self.auth_type, self.error_kind = auth_type, error_kind

    def run(self) -> Failure:
        return classify(
            self.dialect,
            self.status,
            self.body,
            self.headers,
            NOW,
            failures=self.failures,
            auth_type=self.auth_type,
            error_kind=self.error_kind,
            model_known=self.model_known,
        )


# fmt: off
CASES = {
    # --- 429: rate limits and their hints -------------------------------------------------
    "openai 429 Retry-After seconds": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, {"Retry-After": "30"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30), scope=Scope.MODEL,
        retry_after=s(30), code="rate_limit_exceeded",
    ),
    "openai 429 Retry-After HTTP-date": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, {"retry-after": "Mon, 27 Apr 2026 06:00:30 GMT"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30), retry_after=s(30),
    ),
    "openai 429 Retry-After date in the past waits nothing": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, {"Retry-After": "Mon, 27 Apr 2026 05:00:00 GMT"},
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, cooldown=None,
        retry_after=s(0),
    ),
    "openai 429 short Retry-After: wait and retry the same account": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, {"Retry-After": "2"},
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, cooldown=None,
        retry_after=s(2),
    ),
    "openai 429 short Retry-After again: rotate": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, {"Retry-After": "2"}, failures=1,
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(2), retry_after=s(2),
    ),
    "openai 429 retry-after-ms": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, {"retry-after-ms": "4500"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(4.5),
    ),
    "openai 429 x-ratelimit reset of the exhausted window": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT,
        {
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "6m0s",
            "x-ratelimit-remaining-tokens": "29000",
            "x-ratelimit-reset-tokens": "20ms",
        },
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(360), retry_after=s(360),
    ),
    "openai 429 x-ratelimit 20ms": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT,
        {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"},
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, retry_after=s(0.02),
    ),
    "openai 429 duration in the message": Case(
        OPENAI, 429,
        openai_error(
            "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29950, "
            "Requested 120. Please try again in 1.5s.",
            "tokens",
            "rate_limit_exceeded",
        ),
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, retry_after=s(1.5),
    ),
    "openai 429 without a hint: 30 s": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT,
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30), retry_after=s(30),
    ),
    "openai 429 without a hint, third in a row: backoff": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, failures=2,
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(120),
    ),
    "openai 429 without a hint, many in a row: capped backoff": Case(
        OPENAI, 429, OPENAI_RATE_LIMIT, failures=10_000,
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=timedelta(minutes=30),
    ),
    "429 absurd Retry-After is capped": Case(
        OPENAI, 429, b"", {"Retry-After": "99999999999999"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=DEFAULT_POLICY.max_cooldown,
    ),
    "429 negative Retry-After falls back to the default": Case(
        OPENAI, 429, b"", {"Retry-After": "-5"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30),
    ),
    "429 garbage Retry-After falls back to the default": Case(
        OPENAI, 429, b"Too Many Requests", {"Retry-After": "NaN"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30),
    ),
    "openai 429 insufficient_quota: long cooldown, whole account": Case(
        OPENAI, 429, OPENAI_QUOTA,
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"},
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(hours=1),
        scope=Scope.ACCOUNT, code="insufficient_quota",
    ),
    "402 payment required: quota": Case(
        OPENAI, 402, dumps({"error": {"message": "Insufficient Balance", "code": "x"}}),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(hours=1),
        scope=Scope.ACCOUNT,
    ),
    "anthropic 429 rate_limit_error with retry-after": Case(
        ANTHROPIC, 429, ANTHROPIC_RATE, {"retry-after": "12"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(12), code="rate_limit_error",
    ),
    "anthropic 429 reset of the exhausted window (RFC 3339)": Case(
        ANTHROPIC, 429, ANTHROPIC_RATE,
        {
            "anthropic-ratelimit-requests-remaining": "12",
            "anthropic-ratelimit-requests-reset": "2026-04-27T06:00:05Z",
            "anthropic-ratelimit-input-tokens-remaining": "0",
            "anthropic-ratelimit-input-tokens-reset": "2026-04-27T06:00:40Z",
        },
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(40),
    ),
    # --- Antigravity / google.rpc.Status --------------------------------------------------
    "antigravity 429 RetryInfo 12.5s": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
            error_info("RATE_LIMIT_EXCEEDED"), retry_info("12.5s"),
        ),
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(12.5), retry_after=s(12.5),
        scope=Scope.MODEL, code="RATE_LIMIT_EXCEEDED",
    ),
    "antigravity 429 RetryInfo 1.5ms: wait on the same account": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
            error_info("RATE_LIMIT_EXCEEDED"), retry_info("1.5ms"),
        ),
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, retry_after=s(0.0015),
    ),
    "antigravity 429 RetryInfo as a Duration object": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "x", error_info("RATE_LIMIT_EXCEEDED"),
            {"@type": "type.googleapis.com/google.rpc.RetryInfo",
             "retryDelay": {"seconds": 7, "nanos": 500000000}},
        ),
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(7.5),
    ),
    "antigravity 429 QUOTA_EXHAUSTED: RetryInfo wins": Case(
        ANTIGRAVITY, 429, AG_QUOTA,
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=s(8510.160123456),
        scope=Scope.MODEL, code="QUOTA_EXHAUSTED",
    ),
    "antigravity 429 quotaResetDelay": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "You have exhausted your capacity on this model.",
            error_info("QUOTA_EXHAUSTED", quotaResetDelay="2h21m50.5s", model=AG_MODEL),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE,
        cooldown=timedelta(hours=2, minutes=21, seconds=50.5), scope=Scope.MODEL,
    ),
    "antigravity 429 QUOTA_EXHAUSTED with quotaResetTimeStamp": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Individual quota reached.",
            error_info("QUOTA_EXHAUSTED", quotaResetTimeStamp="2026-04-27T09:00:00Z"),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(hours=3),
    ),
    "antigravity 429 quota reset days away is honoured (RetryInfo first)": Case(
        ANTIGRAVITY, 429, AG_QUOTA_DAYS,
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=s(391609.79),
        retry_after=s(391609.79), scope=Scope.MODEL, code="QUOTA_EXHAUSTED",
    ),
    "antigravity 429 quota reset days away: quotaResetDelay without RetryInfo": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED",
            "Individual quota reached. Contact your administrator to enable overages. "
            "Resets in 108h48m29s.",
            error_info("QUOTA_EXHAUSTED", quotaResetDelay="108h48m20.79s"),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE,
        cooldown=timedelta(hours=108, minutes=48, seconds=20.79), scope=Scope.MODEL,
    ),
    "antigravity 429 quota reset further than max_quota_cooldown is capped": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Individual quota reached.",
            error_info("QUOTA_EXHAUSTED"), retry_info("9999999s"),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(days=8),
    ),
    "antigravity 429 quota: 'Resets in' the message alone never lengthens the rest": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Individual quota reached. Resets in 108h48m29s.",
            error_info("QUOTA_EXHAUSTED"),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(hours=1),
    ),
    "antigravity 429 quota: a shorter 'Resets in' in the message is taken": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Individual quota reached. Resets in 20m0s.",
            error_info("QUOTA_EXHAUSTED"),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(minutes=20),
    ),
    "antigravity 429 real RATE_LIMIT_EXCEEDED of 479 ms: wait on the same account": Case(
        ANTIGRAVITY, 429, AG_RATE_SHORT,
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, retry_after=s(0.479417207),
        scope=Scope.MODEL, code="RATE_LIMIT_EXCEEDED",
    ),
    "antigravity 429 real RATE_LIMIT_EXCEEDED of 479 ms again: the next account": Case(
        ANTIGRAVITY, 429, AG_RATE_SHORT, failures=1,
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(0.479417207),
        scope=Scope.MODEL,
    ),
    "antigravity 429 'reset after 0s' in the message only": Case(
        ANTIGRAVITY, 429,
        dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                         "message": "You have exhausted your capacity on this model. "
                                    "Your quota will reset after 0s."}}),
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, retry_after=s(0),
    ),
    "antigravity 429 INSUFFICIENT_G1_CREDITS_BALANCE: a quota of that model": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "Insufficient credits balance.",
            error_info("INSUFFICIENT_G1_CREDITS_BALANCE", model=AG_MODEL),
        ),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(hours=1),
        scope=Scope.MODEL, code="INSUFFICIENT_G1_CREDITS_BALANCE",
    ),
    "antigravity 503 capacity with a long RetryInfo: still only seconds": Case(
        ANTIGRAVITY, 503,
        google_error(
            503, "UNAVAILABLE", f"No capacity available for model {AG_MODEL} on the server",
            error_info("MODEL_CAPACITY_EXHAUSTED", model=AG_MODEL), retry_info("3600s"),
        ),
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(60), scope=Scope.MODEL,
    ),
    "antigravity 429 QUOTA_EXHAUSTED without any hint: 1 h": Case(
        ANTIGRAVITY, 429,
        google_error(429, "RESOURCE_EXHAUSTED", "Quota gone.", error_info("QUOTA_EXHAUSTED")),
        category=Cat.QUOTA_EXHAUSTED, action=Act.ROTATE, cooldown=timedelta(hours=1),
    ),
    "antigravity 429 duration only in the message, shorter than the default": Case(
        ANTIGRAVITY, 429,
        dumps({"error": {"code": 429, "message": "Your quota will reset after 25s.",
                         "status": "RESOURCE_EXHAUSTED"}}),
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(25),
    ),
    "429 message text never makes a quota or a longer rest": Case(
        OPENAI, 429,
        openai_error("You exceeded your current quota. Your quota will reset after 24h.",
                     None, None),
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30), scope=Scope.MODEL,
    ),
    "antigravity 429 'Please retry in' message, Retry-After ignored": Case(
        ANTIGRAVITY, 429,
        dumps({"error": {"code": 429, "message": "Please retry in 2.5s.",
                         "status": "RESOURCE_EXHAUSTED"}}),
        {"Retry-After": "60"},
        category=Cat.RATE_LIMITED, action=Act.RETRY_SAME_AFTER, retry_after=s(2.5),
    ),
    "antigravity 429 precedence: retryDelay over quotaResetDelay over Retry-After": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "reset after 50s",
            error_info("RATE_LIMIT_EXCEEDED", quotaResetDelay="20s"), retry_info("10s"),
        ),
        {"Retry-After": "40"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(10),
    ),
    "antigravity 429 precedence: quotaResetDelay over the message": Case(
        ANTIGRAVITY, 429,
        google_error(
            429, "RESOURCE_EXHAUSTED", "reset after 50s",
            error_info("RATE_LIMIT_EXCEEDED", quotaResetDelay="20s"),
        ),
        {"Retry-After": "40"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(20),
    ),
    "antigravity 429 Retry-After when nothing else": Case(
        ANTIGRAVITY, 429,
        google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        {"Retry-After": "40"},
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(40),
    ),
    "antigravity 429 'check quota' is a rate limit, not a quota": Case(
        ANTIGRAVITY, 429,
        google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        category=Cat.RATE_LIMITED, action=Act.ROTATE, cooldown=s(30),
    ),
    "antigravity 429 MODEL_CAPACITY_EXHAUSTED is capacity": Case(
        ANTIGRAVITY, 429,
        google_error(429, "RESOURCE_EXHAUSTED", "x", error_info("MODEL_CAPACITY_EXHAUSTED")),
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(15),
    ),
    "antigravity 503 MODEL_CAPACITY_EXHAUSTED: capacity, not quota": Case(
        ANTIGRAVITY, 503, AG_CAPACITY,
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(15), scope=Scope.MODEL,
        retry_after=s(15), code="MODEL_CAPACITY_EXHAUSTED",
    ),
    "antigravity 503 MODEL_CAPACITY_EXHAUSTED with RetryInfo": Case(
        ANTIGRAVITY, 503,
        google_error(
            503, "UNAVAILABLE", "No capacity available for model gemini-3-pro-low on the server",
            error_info("MODEL_CAPACITY_EXHAUSTED"), retry_info("39s"),
        ),
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(39),
    ),
    "antigravity 503 'no capacity' text alone is a server error": Case(
        ANTIGRAVITY, 503,
        dumps({"error": {"code": 503, "message": "No capacity available for model x",
                         "status": "UNAVAILABLE"}}),
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5), retry_after=None,
    ),
    "429 'overloaded' text: capacity, a shorter rest than a rate limit": Case(
        OPENAI, 429, dumps({"error": {"message": "The engine is currently overloaded"}}),
        failures=2,
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(60),
    ),
    "antigravity 403 VALIDATION_REQUIRED: disable": Case(
        ANTIGRAVITY, 403, AG_VALIDATION,
        category=Cat.ACCOUNT_DISABLED, action=Act.DISABLE_AND_ROTATE, code="VALIDATION_REQUIRED",
    ),
    "antigravity 403 TOS_VIOLATION: disable": Case(
        ANTIGRAVITY, 403, AG_TOS_CODED,
        category=Cat.ACCOUNT_DISABLED, action=Act.DISABLE_AND_ROTATE, code="TOS_VIOLATION",
    ),
    "antigravity 403 the documented suspension notice alone: disable": Case(
        ANTIGRAVITY, 403, AG_TOS,
        category=Cat.ACCOUNT_DISABLED, action=Act.DISABLE_AND_ROTATE, code="PERMISSION_DENIED",
    ),
    "antigravity 403 the older Gemini suspension notice: disable": Case(
        ANTIGRAVITY, 403, AG_TOS_GEMINI,
        category=Cat.ACCOUNT_DISABLED, action=Act.DISABLE_AND_ROTATE, code="PERMISSION_DENIED",
    ),
    "antigravity 403 the suspension notice after other text: rest, not disable": Case(
        ANTIGRAVITY, 403,
        google_error(
            403, "PERMISSION_DENIED",
            "Invalid value at 'contents[0]': This service has been disabled in this account "
            "for violation of Terms of Service.",
        ),
        category=Cat.PERMISSION, action=Act.ROTATE, cooldown=timedelta(minutes=30),
        scope=Scope.MODEL,
    ),
    "the suspension notice in another dialect: rest, not disable": Case(
        OPENAI, 403,
        google_error(
            403, "PERMISSION_DENIED",
            "This service has been disabled in this account for violation of Terms of Service.",
        ),
        category=Cat.PERMISSION, action=Act.ROTATE, cooldown=timedelta(minutes=30),
    ),
    "antigravity 403 SERVICE_DISABLED: the project is wrong, disable": Case(
        ANTIGRAVITY, 403, AG_SERVICE_DISABLED,
        category=Cat.ACCOUNT_DISABLED, action=Act.DISABLE_AND_ROTATE, code="SERVICE_DISABLED",
    ),
    "google 403 SERVICE_DISABLED elsewhere: whole account rests": Case(
        OPENAI, 403, AG_SERVICE_DISABLED,
        category=Cat.PERMISSION, action=Act.ROTATE, cooldown=timedelta(minutes=30),
        scope=Scope.ACCOUNT, code="SERVICE_DISABLED",
    ),
    "antigravity 401: refresh the token and retry": Case(
        ANTIGRAVITY, 401,
        google_error(
            401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        ),
        category=Cat.AUTH_INVALID, action=Act.REFRESH_AND_RETRY_SAME, cooldown=None,
        code="UNAUTHENTICATED",
    ),
    "antigravity 401 right after a refresh: rest the account": Case(
        ANTIGRAVITY, 401, google_error(401, "UNAUTHENTICATED", "bad token"), failures=1,
        category=Cat.AUTH_INVALID, action=Act.ROTATE, cooldown=timedelta(minutes=30),
        scope=Scope.ACCOUNT,
    ),
    "antigravity 404: back to the client, nothing rests": Case(
        ANTIGRAVITY, 404, AG_NOT_FOUND,
        category=Cat.NOT_FOUND, action=Act.RETURN_TO_CLIENT, cooldown=None, code="NOT_FOUND",
    ),
    "antigravity 404 for a model the account lists: the client version is refused": Case(
        ANTIGRAVITY, 404, AG_NOT_FOUND, model_known=True,
        category=Cat.CLIENT_OUTDATED, action=Act.RETURN_TO_CLIENT, cooldown=None,
        retry_after=None, code="NOT_FOUND",
    ),
    "404 for a listed model where no version gate exists: not found": Case(
        OPENAI, 404, AG_NOT_FOUND, model_known=True,
        category=Cat.NOT_FOUND, action=Act.RETURN_TO_CLIENT, cooldown=None,
    ),
    "antigravity 200 whose reply is the upgrade notice: client outdated": Case(
        ANTIGRAVITY, 200, AG_VERSION_NOTICE.encode(),
        category=Cat.CLIENT_OUTDATED, action=Act.RETURN_TO_CLIENT, cooldown=None,
        retry_after=None,
    ),
    "antigravity 200 'out of date' notice: client outdated": Case(
        ANTIGRAVITY, 200,
        b"Your current version of Antigravity is out of date. Please visit "
        b"https://antigravity.google/download to download and install the latest version.",
        category=Cat.CLIENT_OUTDATED, action=Act.RETURN_TO_CLIENT, cooldown=None,
    ),
    "a 200 upgrade notice where no version gate exists: an empty answer": Case(
        OPENAI, 200, AG_VERSION_NOTICE.encode(),
        category=Cat.EMPTY_RESPONSE, action=Act.RETRY_SAME_AFTER,
    ),
    "antigravity 400 INVALID_ARGUMENT: back to the client": Case(
        ANTIGRAVITY, 400,
        google_error(400, "INVALID_ARGUMENT", "Please ensure that function call turn comes..."),
        category=Cat.CLIENT_ERROR, action=Act.RETURN_TO_CLIENT, cooldown=None,
        code="INVALID_ARGUMENT",
    ),
    # --- auth -----------------------------------------------------------------------------
    "openai 401 invalid_api_key: disable the API-key account": Case(
        OPENAI, 401, OPENAI_BAD_KEY,
        category=Cat.AUTH_REVOKED, action=Act.DISABLE_AND_ROTATE, code="invalid_api_key",
    ),
    "401 without a known code: rest the whole account, do not disable": Case(
        OPENAI, 401, b'{"error": "Unauthorized"}',
        category=Cat.AUTH_INVALID, action=Act.ROTATE, cooldown=timedelta(minutes=30),
        scope=Scope.ACCOUNT, code=None,
    ),
    "openai 401 account_deactivated": Case(
        OPENAI, 401,
        openai_error("This account has been deactivated.", "invalid_request_error",
                     "account_deactivated"),
        category=Cat.ACCOUNT_DISABLED, action=Act.DISABLE_AND_ROTATE,
    ),
    "anthropic 401 authentication_error": Case(
        ANTHROPIC, 401, anthropic_error("authentication_error", "invalid x-api-key"),
        category=Cat.AUTH_REVOKED, action=Act.DISABLE_AND_ROTATE, code="authentication_error",
    ),
    "anthropic 401 on an OAuth account: refresh": Case(
        ANTHROPIC, 401, anthropic_error("authentication_error", "OAuth token has expired."),
        auth_type=AuthType.OAUTH,
        category=Cat.AUTH_INVALID, action=Act.REFRESH_AND_RETRY_SAME,
    ),
    "anthropic 403 OAuth token revoked: refresh": Case(
        ANTHROPIC, 403,
        anthropic_error(
            "permission_error", "OAuth token has been revoked. Please obtain a new token."
        ),
        auth_type=AuthType.OAUTH,
        category=Cat.AUTH_INVALID, action=Act.REFRESH_AND_RETRY_SAME,
    ),
    "anthropic 403 OAuth token revoked after a refresh: a 403 like any other": Case(
        ANTHROPIC, 403,
        anthropic_error(
            "permission_error", "OAuth token has been revoked. Please obtain a new token."
        ),
        auth_type=AuthType.OAUTH, failures=1,
        category=Cat.PERMISSION, action=Act.ROTATE, cooldown=timedelta(minutes=30),
        scope=Scope.MODEL,
    ),
    "anthropic 403 permission_error": Case(
        ANTHROPIC, 403,
        anthropic_error("permission_error",
                        "Your API key does not have permission to use the specified resource."),
        category=Cat.PERMISSION, action=Act.ROTATE, cooldown=timedelta(minutes=30),
        scope=Scope.MODEL, code="permission_error",
    ),
    "anthropic 404 not_found_error": Case(
        ANTHROPIC, 404, anthropic_error("not_found_error", "model: claude-x"),
        category=Cat.NOT_FOUND, action=Act.RETURN_TO_CLIENT, code="not_found_error",
    ),
    # --- client errors: never retried -----------------------------------------------------
    "openai 400 never retried": Case(
        OPENAI, 400, OPENAI_CONTEXT,
        category=Cat.CLIENT_ERROR, action=Act.RETURN_TO_CLIENT, cooldown=None,
        retry_after=None, code="context_length_exceeded",
    ),
    "400 even with a rate-limit code in the body": Case(
        ANTHROPIC, 400, ANTHROPIC_RATE, {"Retry-After": "1"},
        category=Cat.CLIENT_ERROR, action=Act.RETURN_TO_CLIENT, cooldown=None,
    ),
    "anthropic 413 request_too_large": Case(
        ANTHROPIC, 413,
        anthropic_error(
            "request_too_large", "Request exceeds the maximum allowed number of bytes."
        ),
        category=Cat.CLIENT_ERROR, action=Act.RETURN_TO_CLIENT, code="request_too_large",
    ),
    "422 unprocessable": Case(
        OPENAI, 422, dumps({"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}),
        category=Cat.CLIENT_ERROR, action=Act.RETURN_TO_CLIENT, cooldown=None,
    ),
    # --- server errors --------------------------------------------------------------------
    "openai 500": Case(
        OPENAI, 500, OPENAI_SERVER,
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5), scope=Scope.MODEL,
        retry_after=None,
    ),
    "502 html from a load balancer": Case(
        OPENAI, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5),
    ),
    "503 plain": Case(
        OPENAI, 503, b"Service Unavailable",
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5),
    ),
    "503 with Retry-After": Case(
        OPENAI, 503, b"", {"Retry-After": "20"},
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(20), retry_after=s(20),
    ),
    "504": Case(
        ANTHROPIC, 504, anthropic_error("timeout_error", "Request timed out"),
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5), code="timeout_error",
    ),
    "transient backoff grows with consecutive failures": Case(
        OPENAI, 500, b"", failures=3,
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(40),
    ),
    "408": Case(
        OPENAI, 408, b"", category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5),
    ),
    "anthropic 529 overloaded_error": Case(
        ANTHROPIC, 529, ANTHROPIC_OVERLOADED,
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(15), scope=Scope.MODEL,
        code="overloaded_error",
    ),
    "529 without a body": Case(
        OPENAI, 529, b"", category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(15),
    ),
    "anthropic 503 overloaded_error": Case(
        ANTHROPIC, 503, ANTHROPIC_OVERLOADED,
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(15),
    ),
    "capacity backoff is capped at 60 s": Case(
        ANTHROPIC, 529, ANTHROPIC_OVERLOADED, failures=5,
        category=Cat.CAPACITY, action=Act.ROTATE, cooldown=s(60),
    ),
    # --- network --------------------------------------------------------------------------
    "connect error: the whole account rests briefly": Case(
        OPENAI, None, error_kind=NetworkErrorKind.CONNECT,
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5), scope=Scope.ACCOUNT,
        retry_after=None,
    ),
    "connection reset": Case(
        ANTIGRAVITY, None, error_kind=NetworkErrorKind.RESET,
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5), scope=Scope.ACCOUNT,
    ),
    "timeout: the model rests briefly": Case(
        ANTHROPIC, None, error_kind=NetworkErrorKind.TIMEOUT,
        category=Cat.TRANSIENT, action=Act.ROTATE, cooldown=s(5), scope=Scope.MODEL,
    ),
    # --- errors hidden in a 200 -----------------------------------------------------------
    "error object in a 200: retry once": Case(
        OPENAI, 200, openai_error("upstream failed", "server_error", None),
        category=Cat.EMPTY_RESPONSE, action=Act.RETRY_SAME_AFTER, cooldown=None,
        retry_after=s(0),
    ),
    "error object in a 200 again: rotate": Case(
        OPENAI, 200, openai_error("upstream failed", "server_error", None), failures=1,
        category=Cat.EMPTY_RESPONSE, action=Act.ROTATE, cooldown=s(10), scope=Scope.MODEL,
    ),
    "empty stream": Case(
        ANTIGRAVITY, 200, b"",
        category=Cat.EMPTY_RESPONSE, action=Act.RETRY_SAME_AFTER,
    ),
    "anthropic error event in a 200 stream": Case(
        ANTHROPIC, 200,
        b"event: error\ndata: " + ANTHROPIC_OVERLOADED + b"\n\n",
        category=Cat.EMPTY_RESPONSE, action=Act.RETRY_SAME_AFTER, code="overloaded_error",
    ),
}
# fmt: on


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_classification_table(case: Case) -> None:
    failure = case.run()
    assert (failure.category, failure.action) == (case.category, case.action), failure.reason
    if case.action is Act.DISABLE_AND_ROTATE:
        assert failure.cooldown == DEFAULT_POLICY.disabled
        assert failure.cooldown_scope is Scope.ACCOUNT
    elif case.action in (Act.ROTATE,) or case.cooldown is not None:
        assert failure.cooldown == case.cooldown, failure.reason
    else:
        assert failure.cooldown is None
    if case.scope is not None:
        assert failure.cooldown_scope is case.scope
    if case.retry_after != "any":
        assert failure.retry_after == case.retry_after, failure.reason
    if case.code is not False:
        assert failure.code == case.code
    assert failure.status == case.status
    assert 0 < len(failure.reason) <= (1000 if "https://" in failure.reason else 200)
    assert CANARY not in failure.reason


def test_reason_is_short_operator_text_with_the_hint() -> None:
    failure = classify(OPENAI, 429, OPENAI_RATE_LIMIT, {"Retry-After": "30"}, NOW)
    assert (
        failure.reason == "openai 429: rate limited [rate_limit_exceeded]; wait 30s (Retry-After)"
    )
    quota = classify(ANTIGRAVITY, 429, AG_QUOTA, {}, NOW)
    assert quota.reason.startswith("antigravity 429: quota exhausted [QUOTA_EXHAUSTED]; wait 2h21m")


def test_disable_reasons_carry_only_the_owner_link_of_the_error_info() -> None:
    validation = classify(ANTIGRAVITY, 403, AG_VALIDATION, {}, NOW)
    assert validation.reason == (
        "antigravity 403: account must be verified: its owner signs in to the Google account "
        "and completes the verification, then re-enable it; disabled [VALIDATION_REQUIRED]; "
        f"verify at {VALIDATION_URL}"
    )
    tos = classify(ANTIGRAVITY, 403, AG_TOS_CODED, {}, NOW)
    assert tos.reason == (
        "antigravity 403: account suspended for a terms-of-service violation; disabled "
        f"[TOS_VIOLATION]; appeal at {APPEAL_URL}"
    )
    for body in (AG_TOS, AG_TOS_GEMINI, OPENAI_BAD_KEY, AG_SERVICE_DISABLED):
        failure = classify(ANTIGRAVITY, 403, body, {}, NOW)
        assert "http" not in failure.reason  # the message's links are never copied
        assert CANARY not in failure.reason
    project = classify(ANTIGRAVITY, 403, AG_SERVICE_DISABLED, {}, NOW)
    assert "auth_data.project_id" in project.reason
    assert "p-123" not in project.reason


@pytest.mark.parametrize(
    "link",
    [
        "http://accounts.google.com/signin",  # not https
        "https://accounts.google.com.evil.example/signin",  # not a Google host
        "https://evil.example/?accounts.google.com",
        "https://accounts.google.com/signin?token=ya29.a0AfH6SM",  # looks like a credential
        "https://accounts.google.com/signin\nInjected: line",
        "https://accounts.google.com/" + "a" * 800,  # too long
        "javascript:alert(1)",
    ],
)
def test_a_validation_link_that_may_not_be_shown_is_left_out(link: str) -> None:
    body = google_error(
        403, "PERMISSION_DENIED", "Verify your account to continue.",
        error_info("VALIDATION_REQUIRED", validation_url=link),
    )  # fmt: skip
    failure = classify(ANTIGRAVITY, 403, body, {}, NOW)
    assert failure.disables_account
    assert "http" not in failure.reason and "javascript" not in failure.reason
    assert failure.reason.endswith("disabled [VALIDATION_REQUIRED]")


def test_client_outdated_cools_nothing_and_names_the_setting() -> None:
    for status, body, known in (
        (200, AG_VERSION_NOTICE.encode(), False),
        (404, AG_NOT_FOUND, True),
    ):
        failure = classify(ANTIGRAVITY, status, body, {}, NOW, failures=5, model_known=known)
        assert failure.category is Cat.CLIENT_OUTDATED
        assert (failure.cooldown, failure.retry_after, failure.disables_account) == (
            None, None, False,
        )  # fmt: skip
        assert "config.client_version" in failure.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (AG_VERSION_NOTICE, True),
        ("Your current version of Antigravity is out of date. Please update.", True),
        ("  **This version of Antigravity is no longer supported.**\n", True),
        ("⚠️ This version of   Antigravity is no longer\nsupported.", True),
        ("The user asked: This version of Antigravity is no longer supported?", False),
        ("This version of Antigravity is no longer supported. " + "x" * 2000, False),
        ("Here is your answer.", False),
        ("", False),
    ],
)
def test_version_gate_notice(text: str, expected: bool) -> None:
    assert version_gate_notice(text) is expected


def test_headers_are_case_insensitive() -> None:
    for name in ("Retry-After", "retry-after", "RETRY-AFTER"):
        failure = classify(OPENAI, 429, b"", {name: "30"}, NOW)
        assert failure.cooldown == s(30)


def test_cooldown_until_and_header_value() -> None:
    failure = classify(OPENAI, 429, b"", {"Retry-After": "30"}, NOW)
    assert failure.cooldown_until(NOW) == NOW + s(30)
    assert retry_after_header(s(12.2)) == "13"
    assert retry_after_header(s(-3)) == "0"
    assert classify(OPENAI, 400, b"", {}, NOW).cooldown_until(NOW) is None


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        classify(OPENAI, 429, b"", {}, datetime(2026, 1, 1))  # noqa: DTZ001


def test_network_failure_matches_classify() -> None:
    for dialect in DIALECTS:
        for error_kind in NetworkErrorKind:
            assert network_failure(dialect, error_kind) == classify(
                dialect, None, b"", {}, NOW, error_kind=error_kind
            )


def test_a_stricter_policy_caps_every_delay() -> None:
    policy = CooldownPolicy(
        max_cooldown=timedelta(minutes=10), max_quota_cooldown=timedelta(minutes=20)
    )
    assert classify(ANTIGRAVITY, 429, AG_QUOTA, {}, NOW, policy).cooldown == timedelta(minutes=20)
    assert classify(OPENAI, 429, b"", {"Retry-After": "3600"}, NOW, policy).cooldown == timedelta(
        minutes=10
    )
    assert classify(OPENAI, 403, b"", {}, NOW, policy).cooldown == timedelta(minutes=10)
    disabled = classify(OPENAI, 401, OPENAI_BAD_KEY, {}, NOW, policy)
    assert disabled.cooldown == timedelta(minutes=10)


# --- error_in_success ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (openai_error("boom", "server_error", None), True),
        (ANTHROPIC_OVERLOADED, True),
        (AG_CAPACITY, True),
        (b'[{"error": {"code": 500, "message": "x"}}]', True),
        (b'{"error": "something went wrong"}', True),
        (b'{"id": "c1", "choices": [{"message": {"content": "hi"}}]}', False),
        (b'{"id": "c1", "choices": [], "error": {"message": "partial"}}', False),
        (b'{"type": "message", "content": [{"type": "text", "text": "hi"}]}', False),
        (b'{"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}', False),
        (b'{"response": {"candidates": []}, "traceId": "t"}', False),
        (b'{"error": null, "choices": []}', False),
        (b'{"error": null}', False),
        (b"", False),
        (b"not json", False),
        (b"\xff\xfe\x00garbage", False),
        (b"[" * 100_000, False),
        (b'{"error":' + b"[" * 500 + b"]" * 500 + b"}", True),
        (b'{"error":' + b"[" * 50_000 + b"]" * 50_000 + b"}", False),  # unreadable
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, False),
        (b'{"error": {"message": "' + b"x" * 200_000 + b'"}}', False),
        (b'{"error": {"code": Infinity}}', False),  # not JSON, so not an error object
    ],
)
def test_error_in_success(body: bytes, expected: bool) -> None:
    assert error_in_success(body) is expected


# --- body reading ----------------------------------------------------------------------------


def test_google_status_body_is_read() -> None:
    parsed = read_error_body(AG_QUOTA)
    assert parsed.reasons == ("QUOTA_EXHAUSTED",)
    assert parsed.status == "RESOURCE_EXHAUSTED"
    assert parsed.code == "429"
    assert parsed.retry_delay == pytest.approx(8510.160123456)
    assert parsed.quota_reset_delay == pytest.approx(8510.160123456)
    assert parsed.quota_reset_timestamp == "2026-04-27T08:21:50Z"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x01\x02",
        b"\xff" * 100,
        b'{"error": {"details": "not a list"}}',
        b'{"error": {"details": [1, "x", null, {"@type": 5, "retryDelay": [1]}]}}',
        b'{"error": {"code": {"nested": true}, "message": ["a"]}}',
        b'{"error": {"details": [{"retryDelay": {"seconds": "x"}}]}}',
        b'{"error": {"details": [{"retryDelay": "-5s"}, {"retryDelay": "NaNs"}]}}',
        b'{"error": {"message": "\\ud800"}}',
        b'{"error": 1e400}',
        b'{"error": {"code": 123456789012345678901234567890}}',
        b"[" * 50_000,
        b'{"error": {"message": "x"}' * 10_000,
        b'{"error": {"code": Infinity, "message": "x"}}',  # not JSON: Python's json.dumps(inf)
        b'{"error": {"code": 429, "details": [{"retryDelay": {"seconds": NaN}}]}}',
    ],
)
def test_hostile_bodies_classify_without_raising(body: bytes) -> None:
    for dialect in DIALECTS:
        for status in (200, 400, 401, 403, 404, 429, 500, 503, 529):
            failure = classify(dialect, status, body, {}, NOW)
            assert isinstance(failure.category, FailureCategory)


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("12.5s", 12.5),
        ("1.5ms", 0.0015),
        ("1h2m3.5s", 3723.5),
        ("250us", 0.00025),
        ("2h21m50.160123456s", 8510.160123456),
        ("", None),
        ("-5s", None),
        ("5", None),
        ("NaNs", None),
        ("infs", None),
        ("1x", None),
        ("1" * 100 + "s", None),
    ],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    result = go_duration_seconds(text)
    assert result == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Mon, 27 Apr 2026 06:00:30 GMT", 30.0),
        ("Monday, 27-Apr-26 06:01:00 GMT", 60.0),
        ("Mon Apr 27 06:00:10 2026", 10.0),
        ("Mon, 27 Apr 2026 05:00:00 GMT", 0.0),
        ("-1", None),
        ("soon", None),
        ("NaN", None),
        ("inf", None),
        ("", None),
    ],
)
def test_retry_after(text: str, seconds: float | None) -> None:
    assert retry_after_seconds(text, NOW) == seconds


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("your quota will reset after 35s.", 35.0),
        ("please retry in 2.5s.", 2.5),
        ("please try again in 6m0s. visit ...", 360.0),
        ("resets in 71h15m27s.", 256527.0),
        ("retry after 30 seconds", 30.0),
        ("try again in 2 minutes", 120.0),
        ("please try again in 20ms", 0.02),
        ("please check quota", None),
        ("retry in a while", None),
    ],
)
def test_durations_in_messages(message: str, seconds: float | None) -> None:
    result = message_delay_seconds(message)
    assert result == (pytest.approx(seconds) if seconds is not None else None)


def test_format_delay() -> None:
    assert format_delay(s(0.02)) == "20ms"
    assert format_delay(s(2.5)) == "2.5s"
    assert format_delay(s(30)) == "30s"
    assert format_delay(s(360)) == "6m0s"
    assert format_delay(s(8510.2)) == "2h21m50s"


# --- OAuth token endpoint --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "category", "action", "code"),
    [
        (
            400,
            dumps(
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            ),
            Cat.AUTH_REVOKED,
            Act.DISABLE_AND_ROTATE,
            "invalid_grant",
        ),
        (
            401,
            dumps({"error": "invalid_client", "error_description": "Unauthorized"}),
            Cat.AUTH_REVOKED,
            Act.DISABLE_AND_ROTATE,
            "invalid_client",
        ),
        (  # the description decides nothing: only codes disable
            400,
            dumps(
                {
                    "error": "invalid_request",
                    "error_description": "Token has been expired or revoked.",
                }
            ),
            Cat.AUTH_INVALID,
            Act.ROTATE,
            "invalid_request",
        ),
        (
            401,
            openai_error(
                "Your refresh token has already been used to generate a new access token.",
                "invalid_request_error",
                "refresh_token_reused",
            ),
            Cat.AUTH_REVOKED,
            Act.DISABLE_AND_ROTATE,
            "refresh_token_reused",
        ),
        (
            400,
            dumps({"error": "invalid_request", "error_description": "Missing parameter"}),
            Cat.AUTH_INVALID,
            Act.ROTATE,
            "invalid_request",
        ),
        (500, b"<html>oops</html>", Cat.TRANSIENT, Act.ROTATE, None),
        (503, dumps({"error": "invalid_grant"}), Cat.TRANSIENT, Act.ROTATE, "invalid_grant"),
        (429, b"", Cat.RATE_LIMITED, Act.ROTATE, None),
        (None, b"", Cat.TRANSIENT, Act.ROTATE, None),
        (200, b'{"token_type": "Bearer"}', Cat.EMPTY_RESPONSE, Act.ROTATE, None),
    ],
)
def test_token_refresh_errors(
    status: int | None,
    body: bytes,
    category: FailureCategory,
    action: FailureAction,
    code: str | None,
) -> None:
    failure = classify_token_refresh_error(status, body)
    assert (failure.category, failure.action, failure.code) == (category, action, code)
    assert failure.cooldown_scope is Scope.ACCOUNT
    assert failure.cooldown is not None  # a disabled account rests too, until it is stored
    assert len(failure.reason) <= 200


# --- a client cannot rest or disable accounts for everyone ----------------------------------

# What upstreams answer to a request that is itself the problem, per dialect.
REQUEST_ERRORS = {
    "openai 400": (
        OPENAI,
        400,
        openai_error(
            "Invalid 'messages[1].content': string too long.",
            "invalid_request_error",
            "string_above_max_length",
        ),
    ),
    "openai 404 model_not_found": (
        OPENAI,
        404,
        openai_error(
            "The model `gpt-9` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
    ),
    "openai 413": (OPENAI, 413, b"<html><body>413 Request Entity Too Large</body></html>"),
    "openai-compatible 422": (
        OPENAI,
        422,
        dumps({"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}),
    ),
    "openai-compatible 403 moderation (OpenRouter)": (
        OPENAI,
        403,
        dumps(
            {
                "error": {
                    "code": 403,
                    "message": "gpt-4o requires moderation on OpenAI. Your input was flagged "
                    'for "harassment". No credits were charged.',
                    "metadata": {"reasons": ["harassment"], "flagged_input": "..."},
                }
            }
        ),
    ),
    "anthropic 400": (
        ANTHROPIC,
        400,
        anthropic_error("invalid_request_error", "messages.1: tool_use ids were found ..."),
    ),
    "anthropic 404 not_found_error": (
        ANTHROPIC,
        404,
        anthropic_error("not_found_error", "model: claude-nine"),
    ),
    "anthropic 413 request_too_large": (
        ANTHROPIC,
        413,
        anthropic_error("request_too_large", "Request exceeds the maximum allowed size."),
    ),
    "anthropic 422": (ANTHROPIC, 422, anthropic_error("invalid_request_error", "bad")),
    "anthropic 403 usage policy": (
        ANTHROPIC,
        403,
        anthropic_error(
            "permission_error",
            "This request has been flagged for potentially violating our Usage Policy.",
        ),
    ),
    "antigravity 400 INVALID_ARGUMENT": (
        ANTIGRAVITY,
        400,
        google_error(400, "INVALID_ARGUMENT", 'Invalid JSON payload received. Unknown name "x"'),
    ),
    "antigravity 404 NOT_FOUND": (
        ANTIGRAVITY,
        404,
        google_error(404, "NOT_FOUND", "Requested entity was not found."),
    ),
    "antigravity 413": (ANTIGRAVITY, 413, b""),
    "antigravity 422": (ANTIGRAVITY, 422, google_error(422, "INVALID_ARGUMENT", "bad")),
    "antigravity 403 safety": (
        ANTIGRAVITY,
        403,
        google_error(403, "PERMISSION_DENIED", "The prompt was blocked for safety reasons."),
    ),
}

# Text an upstream may echo from the prompt into its error message.
ECHOED = (
    "Your API key has been revoked.",
    "This account has been deactivated. Verify your account to continue.",
    "This service has been disabled in this account for violation of Terms of Service.",
    "Token has been expired or revoked. OAuth token has been revoked.",
    "You exceeded your current quota; your quota will reset after 24h. No capacity.",
)


def echoing(body: bytes, echo: str) -> bytes:
    """The body with `echo` appended to its message (or as the body when it has none)."""
    try:
        document = json.loads(body)
    except ValueError:
        return body + b" " + echo.encode()
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = document["error"]
        error["message"] = f"{error.get('message', '')} {echo}"
    return dumps(document)


@pytest.mark.parametrize("echo", ["", *ECHOED])
@pytest.mark.parametrize(("dialect", "status", "body"), REQUEST_ERRORS.values(), ids=REQUEST_ERRORS)
def test_errors_of_the_request_go_back_to_the_client_and_cool_nothing(
    dialect: ErrorDialect, status: int, body: bytes, echo: str
) -> None:
    for auth_type in (None, AuthType.API_KEY, AuthType.OAUTH):
        for failures in (0, 1, 7):
            failure = classify(
                dialect,
                status,
                echoing(body, echo) if echo else body,
                {"Retry-After": "3600"},
                NOW,
                failures=failures,
                auth_type=auth_type,
            )
            assert failure.action is Act.RETURN_TO_CLIENT, failure.reason
            assert failure.cooldown is None
            assert cooldown_for(failure, "acct", "model", NOW) is None
            assert not failure.disables_account


# 401 and 403 bodies that carry no code meaning the credential is bad.
UNCODED_AUTH = {
    "openai 401": (OPENAI, 401, lambda m: openai_error(m, "invalid_request_error", None)),
    "openai 403": (OPENAI, 403, lambda m: openai_error(m, None, "unsupported_value")),
    "anthropic 401": (ANTHROPIC, 401, lambda m: anthropic_error("api_error", m)),
    "anthropic 403": (ANTHROPIC, 403, lambda m: anthropic_error("permission_error", m)),
    "google 401": (ANTIGRAVITY, 401, lambda m: dumps({"error": {"code": 401, "message": m}})),
    "google 403": (ANTIGRAVITY, 403, lambda m: google_error(403, "PERMISSION_DENIED", m)),
    "plain text 401": (OPENAI, 401, lambda m: m.encode()),
    "plain text 403": (ANTHROPIC, 403, lambda m: m.encode()),
}


@pytest.mark.parametrize("message", ECHOED)
@pytest.mark.parametrize(("dialect", "status", "make"), UNCODED_AUTH.values(), ids=UNCODED_AUTH)
def test_revocation_phrases_without_a_revocation_code_never_disable(
    dialect: ErrorDialect, status: int, make: Any, message: str
) -> None:
    documented = dialect.suspension_notices and message.lower().startswith(
        dialect.suspension_notices
    )
    # As the whole message of a Cloud Code 403, the suspension notice is the upstream's own
    # (the one text that disables, see the table); after the upstream's words, an echo.
    texts = [f"Invalid value at 'contents[0]': {message}"] + ([] if documented else [message])
    for text in texts:
        for auth_type in (AuthType.API_KEY, AuthType.OAUTH):
            for failures in (0, 1):
                failure = classify(
                    dialect, status, make(text), {}, NOW, failures=failures, auth_type=auth_type
                )
                assert not failure.disables_account, failure.reason
                assert failure.category not in (Cat.AUTH_REVOKED, Cat.ACCOUNT_DISABLED)


DISABLING = {
    "openai 401 invalid_api_key": (OPENAI, 401, OPENAI_BAD_KEY),
    "anthropic 401 authentication_error": (
        ANTHROPIC,
        401,
        anthropic_error("authentication_error", "invalid x-api-key"),
    ),
    "openai 403 account_deactivated": (
        OPENAI,
        403,
        openai_error("gone", "invalid_request_error", "account_deactivated"),
    ),
    "antigravity 403 VALIDATION_REQUIRED": (ANTIGRAVITY, 403, AG_VALIDATION),
}


@pytest.mark.parametrize(("dialect", "status", "body"), DISABLING.values(), ids=DISABLING)
def test_a_disabled_account_rests_account_wide_at_once(
    dialect: ErrorDialect, status: int, body: bytes
) -> None:
    """Every process stops picking it through the shared cooldowns, before the disable
    reaches the database and the catalogs reload."""
    failure = classify(dialect, status, body, {}, NOW, auth_type=AuthType.API_KEY)
    assert failure.disables_account
    assert failure.cooldown == timedelta(hours=1) == DEFAULT_POLICY.disabled
    assert cooldown_for(failure, "acct", "any-model", NOW) == Cooldown(
        account_id="acct", model=None, until=NOW + timedelta(hours=1), reason=failure.reason
    )


def test_a_revoked_refresh_token_rests_the_account_at_once() -> None:
    failure = classify_token_refresh_error(400, dumps({"error": "invalid_grant"}))
    assert failure.disables_account
    assert failure.cooldown == DEFAULT_POLICY.disabled
    assert failure.cooldown_scope is Scope.ACCOUNT


def test_an_error_inside_a_200_is_classified_as_the_status_it_stands_for() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    too_long = b'{"error":{"message":"prompt is too long","type":"invalid_request_error"}}'
    client = classify(OPENAI_DIALECT, 200, too_long, {}, now)
    assert (client.action, client.status, client.cooldown) == (Act.RETURN_TO_CLIENT, 400, None)
    limited = classify(OPENAI_DIALECT, 200, b'{"error":{"code":429,"message":"slow"}}', {}, now)
    assert (limited.action, limited.status) == (Act.ROTATE, 429)
    silent = classify(OPENAI_DIALECT, 200, b'{"error":{"message":"overloaded"}}', {}, now)
    assert silent.category is Cat.EMPTY_RESPONSE  # says nothing: retried as before
