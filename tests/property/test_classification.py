"""Properties of upstream error classification: total, bounded, never retries client errors,
never leaks a secret planted in the upstream answer, and the message text (which an upstream may
echo from the prompt) never makes an outcome more severe: the one exception, the Cloud Code
suspension notice as the whole start of a 403 PERMISSION_DENIED message, is pinned down
here too (anything before it, and it decides nothing)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors import (
    ANTHROPIC_DIALECT,
    CLOUD_CODE_DIALECT,
    DEFAULT_POLICY,
    OPENAI_DIALECT,
    Backoff,
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
)
from aigateway.domain.errors.bodies import MAX_LINK
from aigateway.domain.errors.durations import (
    go_duration_seconds,
    message_delay_seconds,
    retry_after_seconds,
    timestamp_delay,
)
from aigateway.domain.errors.failure import MAX_LINK_REASON, MAX_REASON

CANARIES = ("sk-canary-123456", "ya29.canary-access-token-7890", "sk-ant-api03-canary-abcdef")

KNOWN_CODES = (
    "insufficient_quota",
    "rate_limit_exceeded",
    "rate_limit_error",
    "invalid_api_key",
    "overloaded_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "invalid_request_error",
    "context_length_exceeded",
    "account_deactivated",
    "RATE_LIMIT_EXCEEDED",
    "QUOTA_EXHAUSTED",
    "MODEL_CAPACITY_EXHAUSTED",
    "VALIDATION_REQUIRED",
    "SERVICE_DISABLED",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "invalid_grant",
    "invalid_client",
    "requests",
    "tokens",
)
MESSAGES = (
    "You have exhausted your capacity on this model. Your quota will reset after 2h21m50s.",
    "No capacity available for model gemini-3-pro-high on the server",
    "Resource has been exhausted (e.g. check quota).",
    "Please try again in 20ms.",
    "This service has been disabled in this account for violation of Terms of Service.",
    "Verify your account to continue.",
    "Token has been expired or revoked.",
    "OAuth token has been revoked.",
    "Overloaded",
    "You exceeded your current quota, please check your plan and billing details.",
    "This version of Antigravity is no longer supported. Please update.",
    "Your current version of Antigravity is out of date.",
)
HINTS = (
    "0",
    "1",
    "2.9",
    "30",
    "-5",
    "NaN",
    "inf",
    "1e9",
    "99999999999999999999",
    "12.5s",
    "1.5ms",
    "6m0s",
    "20ms",
    "71h15m27.791609974s",
    "-1s",
    "NaNs",
    "2026-04-27T09:00:00Z",
    "1999-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "Mon, 27 Apr 2026 06:00:30 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "",
)
HEADER_NAMES = (
    "Retry-After",
    "retry-after",
    "RETRY-AFTER",
    "retry-after-ms",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-unified-status",
    "anthropic-ratelimit-unified-reset",
    "Authorization",
    "x-api-key",
)

dialects = st.sampled_from((OPENAI_DIALECT, ANTHROPIC_DIALECT, CLOUD_CODE_DIALECT))
statuses = st.one_of(
    st.none(),
    st.sampled_from((200, 400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529)),
    st.integers(min_value=100, max_value=599),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
NOW = datetime(2026, 4, 27, 6, 0, 0, tzinfo=UTC)
failure_counts = st.integers(min_value=-3, max_value=10**9)
auth_types = st.none() | st.sampled_from(AuthType)
error_kinds = st.sampled_from(NetworkErrorKind)
canaries = st.sampled_from(CANARIES)


@cache
def planted(secret: str) -> st.SearchStrategy[str]:
    """Text with the secret somewhere in it, as upstreams echo keys and signed URLs."""
    return st.tuples(st.text(max_size=30), st.text(max_size=30)).map(
        lambda parts: f"{parts[0]}{secret}{parts[1]}"
    )


@cache
def texts(secret: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(KNOWN_CODES),
        st.sampled_from(MESSAGES),
        st.sampled_from(HINTS),
        st.text(max_size=40),
        planted(secret),
        st.sampled_from(KNOWN_CODES).map(lambda c: f"{c} {secret}"),
        st.sampled_from(MESSAGES).map(lambda m: f"{m} {secret}"),
    )


@cache
def scalars(secret: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        texts(secret),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),  # these documents are valid JSON
        st.booleans(),
        st.none(),
    )


@cache
def json_values(secret: str) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(secret),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


@cache
def details(secret: str) -> st.SearchStrategy[dict[str, Any]]:
    durations = texts(secret) | st.fixed_dictionaries(
        {}, optional={"seconds": scalars(secret), "nanos": scalars(secret)}
    )
    metadata = st.fixed_dictionaries(
        {},
        optional={
            "quotaResetDelay": durations,
            "quotaResetTimeStamp": texts(secret),
            "validation_url": planted(secret).map(lambda t: f"https://accounts.google.com/{t}"),
            "model": texts(secret),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "@type": st.sampled_from(
                (
                    "type.googleapis.com/google.rpc.ErrorInfo",
                    "type.googleapis.com/google.rpc.RetryInfo",
                    "type.googleapis.com/google.rpc.Help",
                )
            ),
            "reason": texts(secret),
            "metadata": metadata,
            "retryDelay": durations,
        },
    )


@cache
def error_objects(secret: str) -> st.SearchStrategy[Any]:
    fields = st.fixed_dictionaries(
        {},
        optional={
            "code": scalars(secret),
            "type": texts(secret),
            "status": texts(secret),
            "reason": texts(secret),
            "message": texts(secret),
            "param": scalars(secret),
            "details": st.lists(details(secret), max_size=3) | scalars(secret),
        },
    )
    return fields | texts(secret) | json_values(secret)


@cache
def json_bodies(secret: str) -> st.SearchStrategy[bytes]:
    top = st.fixed_dictionaries(
        {"error": error_objects(secret)},
        optional={
            "type": st.just("error"),
            "error_description": texts(secret),
            "message": texts(secret),
            "choices": json_values(secret),
        },
    )
    documents = top | top.map(lambda d: [d]) | json_values(secret)
    encoded = documents.map(lambda d: json.dumps(d, allow_nan=False).encode())
    return encoded | encoded.map(lambda b: b"event: error\ndata: " + b + b"\n\n")


@cache
def non_finite_bodies(secret: str) -> st.SearchStrategy[bytes]:
    """Not JSON: what Python's json.dumps makes of inf and nan (`Infinity`, `NaN`)."""
    return st.builds(
        lambda error, number: json.dumps({"error": error, "retryDelay": number}).encode(),
        error_objects(secret),
        st.sampled_from((math.inf, -math.inf, math.nan)),
    )


@cache
def bodies(secret: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        json_bodies(secret),
        json_bodies(secret).map(lambda b: b[: len(b) // 2]),  # truncated
        non_finite_bodies(secret),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    )


@cache
def header_maps(secret: str) -> st.SearchStrategy[dict[str, str]]:
    names = st.sampled_from(HEADER_NAMES) | st.text(max_size=20)
    values = st.one_of(
        st.sampled_from(HINTS),
        st.text(max_size=40),
        st.just(f"Bearer {secret}"),
        st.just(secret),
        planted(secret),
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
    )
    return st.dictionaries(names, values, max_size=8)


Answer = tuple[str, ErrorDialect, int | None, bytes, dict[str, str]]  # secret planted, call


@st.composite
def upstream_answers(draw: st.DrawFn) -> Answer:
    secret = draw(canaries)
    return (
        secret,
        draw(dialects),
        draw(statuses),
        draw(bodies(secret)),
        draw(header_maps(secret)),
    )


def durations_within(delay: timedelta | None, limit: timedelta) -> bool:
    return delay is None or timedelta(0) <= delay <= max(limit, timedelta(0))


def check_invariants(failure: Failure, policy: CooldownPolicy, failures: int) -> None:
    assert isinstance(failure.category, FailureCategory)
    assert isinstance(failure.action, FailureAction)
    # an announced quota reset may go past max_cooldown, up to max_quota_cooldown; the
    # gateway's own default for a quota stays within max_cooldown
    quota = failure.category is FailureCategory.QUOTA_EXHAUSTED
    limit = max(policy.max_cooldown, policy.max_quota_cooldown) if quota else policy.max_cooldown
    assert durations_within(failure.cooldown, limit)
    assert durations_within(failure.retry_after, limit)
    if "https://" in failure.reason:  # a disable with the owner's link
        assert failure.disables_account
        assert 0 < len(failure.reason) <= MAX_LINK_REASON
    else:
        assert 0 < len(failure.reason) <= MAX_REASON
    if failure.category is FailureCategory.CLIENT_OUTDATED:  # nobody's account is at fault
        assert failure.action is FailureAction.RETURN_TO_CLIENT
        assert failure.retry_after is None
    if failure.action in (FailureAction.ROTATE, FailureAction.DISABLE_AND_ROTATE):
        # only the account's proxy failing rests no account
        assert (failure.cooldown is None) == ("proxy unreachable" in failure.reason)
    else:
        assert failure.cooldown is None
    if failure.action is FailureAction.RETRY_SAME_AFTER:
        assert failure.retry_after is not None
        assert failure.retry_after < max(policy.short_wait, timedelta(microseconds=1))
    if failure.action in (FailureAction.RETRY_SAME_AFTER, FailureAction.REFRESH_AND_RETRY_SAME):
        assert max(failures, 0) < policy.same_account_retries  # same-account retries are bounded
    if failure.category in (FailureCategory.CLIENT_ERROR, FailureCategory.NOT_FOUND):
        assert failure.action is FailureAction.RETURN_TO_CLIENT
    if failure.action is FailureAction.DISABLE_AND_ROTATE:
        assert failure.category in (
            FailureCategory.AUTH_REVOKED,
            FailureCategory.ACCOUNT_DISABLED,
        )
        # every process stops picking the account at once, before the disable is stored
        assert failure.cooldown_scope is CooldownScope.ACCOUNT
        assert failure.cooldown == policy.cap(policy.disabled)


@given(
    upstream_answers(),
    moments,
    failure_counts,
    auth_types,
    error_kinds,
    st.booleans(),
)
def test_every_upstream_answer_gets_one_bounded_classification(
    answer: Answer,
    now: datetime,
    failures: int,
    auth_type: AuthType | None,
    error_kind: NetworkErrorKind,
    model_known: bool,
) -> None:
    _, dialect, status, body, headers = answer
    failure = classify(
        dialect,
        status,
        body,
        headers,
        now,
        failures=failures,
        auth_type=auth_type,
        error_kind=error_kind,
        model_known=model_known,
    )
    check_invariants(failure, DEFAULT_POLICY, failures)
    assert failure.status == status
    again = classify(
        dialect,
        status,
        body,
        headers,
        now,
        failures=failures,
        auth_type=auth_type,
        error_kind=error_kind,
        model_known=model_known,
    )
    assert again == failure  # pure: same input, same answer


@given(
    dialects,
    st.sampled_from((400, 404, 410, 413, 422)),
    st.binary(max_size=300) | json_bodies(CANARIES[0]),
    header_maps(CANARIES[0]),
    moments,
    failure_counts,
    auth_types,
)
def test_client_errors_are_never_retried(
    dialect: ErrorDialect,
    status: int,
    body: bytes,
    headers: dict[str, str],
    now: datetime,
    failures: int,
    auth_type: AuthType | None,
) -> None:
    failure = classify(dialect, status, body, headers, now, failures=failures, auth_type=auth_type)
    assert failure.category in (FailureCategory.CLIENT_ERROR, FailureCategory.NOT_FOUND)
    assert failure.action is FailureAction.RETURN_TO_CLIENT
    assert failure.cooldown is None
    assert failure.retry_after is None


@given(upstream_answers(), moments, failure_counts, auth_types)
def test_reasons_never_carry_a_secret_from_the_upstream_answer(
    answer: Answer,
    now: datetime,
    failures: int,
    auth_type: AuthType | None,
) -> None:
    secret, dialect, status, body, headers = answer
    failure = classify(dialect, status, body, headers, now, failures=failures, auth_type=auth_type)
    for text in (failure.reason, failure.code or "", repr(failure)):
        assert secret not in text
        assert secret.lower() not in text.lower()
        assert "Bearer" not in text


timedeltas = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=48))
policies = st.builds(
    CooldownPolicy,
    max_cooldown=timedeltas,
    max_quota_cooldown=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    short_wait=st.timedeltas(min_value=timedelta(0), max_value=timedelta(seconds=10)),
    same_account_retries=st.integers(min_value=0, max_value=3),
    rate_limited=st.builds(Backoff, base=timedeltas, cap=timedeltas),
    capacity=st.builds(Backoff, base=timedeltas, cap=timedeltas),
    transient=st.builds(Backoff, base=timedeltas, cap=timedeltas),
    empty_response=st.builds(Backoff, base=timedeltas, cap=timedeltas),
    quota_exhausted=timedeltas,
    permission=timedeltas,
    auth_invalid=timedeltas,
    disabled=timedeltas,
)


@given(upstream_answers(), moments, failure_counts, policies)
def test_delays_stay_within_any_policy(
    answer: Answer,
    now: datetime,
    failures: int,
    policy: CooldownPolicy,
) -> None:
    _, dialect, status, body, headers = answer
    failure = classify(dialect, status, body, headers, now, policy, failures=failures)
    check_invariants(failure, policy, failures)


@given(
    dialects,
    st.integers(min_value=0, max_value=10**12),
    st.booleans(),
    moments.map(lambda m: m.replace(microsecond=0)),
)
def test_retry_after_on_a_429_is_honoured_exactly(
    dialect: ErrorDialect, seconds: int, as_date: bool, now: datetime
) -> None:
    """Scenario 3: the account rests for the Retry-After (seconds or HTTP-date), capped."""
    if as_date:
        try:
            value = format_datetime(now + timedelta(seconds=seconds), usegmt=True)
        except OverflowError:
            return
    else:
        value = str(seconds)
    failure = classify(dialect, 429, b"", {"Retry-After": value}, now)
    expected = min(timedelta(seconds=seconds), DEFAULT_POLICY.max_cooldown)
    if expected < DEFAULT_POLICY.short_wait:
        assert failure.action is FailureAction.RETRY_SAME_AFTER
        assert failure.retry_after == expected
    else:
        assert failure.action is FailureAction.ROTATE
        assert failure.cooldown == expected
        assert failure.retry_after == expected


@given(
    st.none() | st.integers(min_value=100, max_value=599),
    bodies(CANARIES[1]),
    failure_counts,
    error_kinds,
)
def test_token_refresh_errors_are_classified_without_leaks(
    status: int | None, body: bytes, failures: int, error_kind: NetworkErrorKind
) -> None:
    failure = classify_token_refresh_error(status, body, failures=failures, error_kind=error_kind)
    check_invariants(failure, DEFAULT_POLICY, failures)
    assert failure.action in (FailureAction.ROTATE, FailureAction.DISABLE_AND_ROTATE)
    assert CANARIES[1] not in repr(failure)


@given(st.binary(max_size=500) | json_bodies(CANARIES[0]))
def test_error_in_success_never_raises(body: bytes) -> None:
    assert isinstance(error_in_success(body), bool)


@given(
    error_objects(CANARIES[0]).filter(lambda e: e is not None),
    st.sets(st.sampled_from(("choices", "content", "candidates", "id", "usage"))),
)
def test_error_in_success_spots_error_objects_without_answer_fields(
    error: Any, keys: set[str]
) -> None:
    document: dict[str, Any] = {"error": error, **{key: [] for key in keys}}
    expected = not keys & {"choices", "content", "candidates"}
    assert error_in_success(json.dumps(document, allow_nan=False).encode()) is expected


@given(st.text(max_size=100), moments)
def test_duration_parsers_are_total_and_non_negative(text: str, now: datetime) -> None:
    for value in (
        go_duration_seconds(text),
        message_delay_seconds(text),
        retry_after_seconds(text, now),
        timestamp_delay(text, now),
    ):
        assert value is None or (math.isfinite(value) and value >= 0)


# --- what the message text can do: only ever less ------------------------------------------

ECHOES = (
    *MESSAGES,
    "Your API key has been revoked.",
    "This account has been deactivated. Verify your account to continue.",
    "account has been suspended; organization has been disabled; not eligible",
    "Invalid refresh token: expired or revoked.",
    "Your input was flagged by our content policy (safety, moderation).",
    "Please try again in 1.5s.",
    "Your quota will reset after 99h.",
    "retry after 30 seconds",
    "try again in 2 minutes",
    "This version of Antigravity is no longer supported.",
)
messages = st.one_of(
    st.text(max_size=60),
    st.sampled_from(ECHOES),
    st.lists(st.sampled_from(ECHOES), min_size=2, max_size=4).map(" ".join),
    st.tuples(st.text(max_size=20), st.sampled_from(ECHOES)).map(" ".join),
)
unknown_codes = st.none() | st.from_regex(r"x_[a-z_]{0,12}", fullmatch=True)  # never known
any_codes = unknown_codes | st.sampled_from(KNOWN_CODES)
auth_statuses = st.sampled_from((401, 403)) | statuses.filter(lambda s: s is not None)


def error_body(shape: int, message: str, first: str | None, second: str | None) -> bytes:
    """`message` in the error body of one upstream family, with codes `first` and `second`."""
    error: dict[str, Any]
    if shape == 0:  # OpenAI
        error = {"error": {"message": message, "type": first, "param": None, "code": second}}
    elif shape == 1:  # Anthropic
        error = {"type": "error", "error": {"type": first, "message": message}}
    elif shape == 2:  # google.rpc.Status
        details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": second}]
        error = {"error": {"code": 403, "message": message, "status": first, "details": details}}
    elif shape == 3:  # OAuth
        error = {"error": first, "error_description": message}
    else:
        return message.encode("utf-8", "surrogatepass")
    return json.dumps(error).encode()


@given(
    dialects,
    auth_statuses,
    st.integers(min_value=0, max_value=4),
    messages,
    unknown_codes,
    unknown_codes,
    header_maps(CANARIES[0]),
    failure_counts,
    auth_types,
)
def test_a_body_without_a_known_code_never_disables(
    dialect: ErrorDialect,
    status: int,
    shape: int,
    message: str,
    first: str | None,
    second: str | None,
    headers: dict[str, str],
    failures: int,
    auth_type: AuthType | None,
) -> None:
    body = error_body(shape, message, first, second)
    failure = classify(dialect, status, body, headers, NOW, failures=failures, auth_type=auth_type)
    assert not failure.disables_account, failure.reason
    assert failure.category not in (FailureCategory.AUTH_REVOKED, FailureCategory.ACCOUNT_DISABLED)
    refresh = classify_token_refresh_error(status, body, failures=failures)
    assert not refresh.disables_account, refresh.reason


def no_more_severe(failure: Failure, than: Failure) -> bool:
    """`failure` disables, rests and rests account-wide no more than `than` does."""
    rest = failure.cooldown or timedelta(0)
    other = than.cooldown or timedelta(0)
    account_wide = failure.cooldown is not None and failure.cooldown_scope is CooldownScope.ACCOUNT
    other_wide = than.cooldown is not None and than.cooldown_scope is CooldownScope.ACCOUNT
    return (
        (than.disables_account or not failure.disables_account)
        and rest <= other
        and (other_wide or not account_wide)
    )


@given(
    dialects,
    auth_statuses,
    st.integers(min_value=0, max_value=4),
    messages,
    any_codes,
    any_codes,
    header_maps(CANARIES[0]),
    failure_counts,
    auth_types,
)
def test_the_message_text_never_makes_an_outcome_more_severe(
    dialect: ErrorDialect,
    status: int,
    shape: int,
    message: str,
    first: str | None,
    second: str | None,
    headers: dict[str, str],
    failures: int,
    auth_type: AuthType | None,
) -> None:
    """What the codes, status and headers alone decide is the most a message can do."""

    def run(text: str) -> Failure:
        body = error_body(shape, text, first, second)
        return classify(dialect, status, body, headers, NOW, failures=failures, auth_type=auth_type)

    if documented_suspension(dialect, status, shape, message, first, second):
        return  # the one exception: pinned down by the two properties below
    with_text, without = run(message), run("")
    assert no_more_severe(with_text, without), (with_text.reason, without.reason)


def documented_suspension(
    dialect: ErrorDialect,
    status: int,
    shape: int,
    message: str,
    first: str | None,
    second: str | None,
) -> bool:
    """The Cloud Code suspension notice as the start of a 403 PERMISSION_DENIED message of a
    body without an ErrorInfo reason: the only text that decides (it disables)."""
    words = " ".join(message.split()).lower()
    return (
        bool(dialect.suspension_notices)
        and status == 403
        and shape == 2
        and (first or "").lower() == "permission_denied"
        and not second
        and words.startswith(dialect.suspension_notices)
    )


SUSPENSION = "This service has been disabled in this account for violation of Terms of Service."


@given(
    dialects | st.just(CLOUD_CODE_DIALECT),
    st.just(403) | auth_statuses,
    st.just(2) | st.integers(min_value=0, max_value=4),
    st.text(min_size=1, max_size=40).filter(lambda t: any(c.isalnum() for c in t)),
    st.text(max_size=40),
    st.just("PERMISSION_DENIED") | any_codes,
    unknown_codes | any_codes,
    failure_counts,
    auth_types,
)
def test_the_suspension_notice_after_any_other_text_never_disables(
    dialect: ErrorDialect,
    status: int,
    shape: int,
    before: str,
    after: str,
    first: str | None,
    second: str | None,
    failures: int,
    auth_type: AuthType | None,
) -> None:
    """An echo comes after the upstream's own words: the notice anywhere but first decides
    nothing (what the codes decide without it, they decide with it)."""

    def run(text: str) -> Failure:
        body = error_body(shape, text, first, second)
        return classify(dialect, status, body, {}, NOW, failures=failures, auth_type=auth_type)

    with_text = run(f"{before} {SUSPENSION} {after}")
    if documented_suspension(dialect, status, shape, f"{before} {SUSPENSION}", first, second):
        return  # `before` itself spelled the start of the notice
    assert no_more_severe(with_text, run("")), with_text.reason


@given(st.text(max_size=60), st.sampled_from((OPENAI_DIALECT, ANTHROPIC_DIALECT)), any_codes)
def test_only_the_cloud_code_dialect_reads_the_suspension_notice(
    after: str, dialect: ErrorDialect, second: str | None
) -> None:
    body = error_body(2, f"{SUSPENSION} {after}", "PERMISSION_DENIED", second)
    without = error_body(2, "", "PERMISSION_DENIED", second)
    assert no_more_severe(
        classify(dialect, 403, body, {}, NOW), classify(dialect, 403, without, {}, NOW)
    )


@given(
    st.sampled_from((200, 404)),
    st.binary(max_size=300) | json_bodies(CANARIES[0]) | st.sampled_from(MESSAGES).map(str.encode),
    dialects,
    st.booleans(),
    failure_counts,
)
def test_a_client_version_refusal_never_rests_nor_disables(
    status: int, body: bytes, dialect: ErrorDialect, model_known: bool, failures: int
) -> None:
    failure = classify(dialect, status, body, {}, NOW, failures=failures, model_known=model_known)
    if failure.category is FailureCategory.CLIENT_OUTDATED:
        assert dialect.version_gate
        assert failure.cooldown is None and not failure.disables_account
        assert failure.action is FailureAction.RETURN_TO_CLIENT


@given(
    st.text(
        st.characters(codec="ascii", categories=("L", "N", "P", "S")), min_size=1, max_size=900
    ),
    canaries,
)
def test_a_shown_link_is_a_google_https_link_without_a_secret(path: str, secret: str) -> None:
    for link in (f"https://accounts.google.com/{path}", f"https://{path}", path):
        for planted_link in (link, f"{link}{secret}"):
            body = json.dumps(
                {
                    "error": {
                        "code": 403,
                        "status": "PERMISSION_DENIED",
                        "message": "Verify your account to continue.",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "VALIDATION_REQUIRED",
                                "metadata": {"validation_url": planted_link},
                            }
                        ],
                    }
                }
            ).encode()
            failure = classify(CLOUD_CODE_DIALECT, 403, body, {}, NOW)
            assert failure.disables_account
            assert secret not in failure.reason
            shown = failure.reason.partition("; verify at ")[2]
            if shown:
                assert shown == planted_link and len(shown) <= MAX_LINK
                host = re.match(r"https://([^/?#:]*)", shown)
                assert host is not None
                assert host[1] == "google.com" or host[1].endswith(".google.com")
                assert not any(c.isspace() for c in shown)
