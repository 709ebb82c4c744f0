"""One client chat request as the use case sees it: what came in, what goes back, and the record
of its attempts that becomes its single request-log row."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from datetime import datetime

import msgspec

from aigateway.application.errors import GatewayError
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.upstream import Usage
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.errors import Failure
from aigateway.domain.llm import Operation, WireFormat
from aigateway.domain.request_log import RequestLogEntry


class InboundChat(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    stream: bool
    body: bytes
    format: WireFormat
    operation: Operation = Operation.CHAT
    forward_headers: dict[str, str] = msgspec.field(default_factory=dict)
    query: str = ""


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    status: int
    content_type: str
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None  # set for a streamed success
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class FailedAttempt(msgspec.Struct):
    """An attempt that did not succeed: how it failed, and what the client gets if it is the
    last one (None: an `upstream_unavailable` error, or `error` when set).

    `secret`: the OAuth access token the attempt sent (a 401 refreshes past it); `account`:
    the account as its credential's refresh saw it (for disabling it)."""

    failure: Failure
    result: ChatResult | None
    summary: str
    secret: str | None = None
    account: Account | None = None
    error: GatewayError | None = None
    proxy_failed: bool = False  # the account's proxy could not be reached or used

    def __repr__(self) -> str:  # `secret` is never shown
        return f"FailedAttempt(failure={self.failure!r}, summary={self.summary!r})"


class RetryBudget(msgspec.Struct, frozen=True):
    max_attempts: int = 3  # accounts tried per request, the first included
    deadline_s: float = 60.0  # no new attempt starts later than this after the request came in


class RequestIds:
    """Unique request ids without a syscall per request: a random per-process prefix and a
    counter (32 hex characters, like a UUID without dashes)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


class RequestRecord:
    """What one client request has been through so far (for its single log row)."""

    __slots__ = (
        "account",
        "chat",
        "client",
        "first_account",
        "id",
        "logged",
        "proxy_id",
        "retries",
        "started",
    )

    def __init__(self, request_id: str, chat: InboundChat, client: ClientKey, started: float):
        self.id = request_id
        self.chat = chat
        self.client = client
        self.started = started
        self.retries = 0
        self.first_account: Account | None = None
        self.account: Account | None = None  # the latest one tried
        self.proxy_id: int | None = None  # the proxy of the latest attempt (None: direct)
        self.logged = False

    def entry(
        self,
        account: Account | None,
        status: int,
        *,
        now: datetime,
        latency_ms: int,
        provider_id: str | None = None,
        ttfb_ms: int | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        error: str | None = None,
    ) -> RequestLogEntry:
        """The request's row, answered by `account` (None: answered before any attempt)."""
        self.logged = True
        first = self.first_account
        switched = None
        if first is not None and account is not None and first.id != account.id:
            switched = first.id
        if error and account:
            error = account.credential.redact(error)
        return RequestLogEntry(
            request_id=self.id,
            created_at=now,
            api_key_id=self.client.id,
            provider_id=account.provider_id if account else provider_id,
            account_id=account.id if account else None,
            proxy_id=self.proxy_id if account else None,
            model=self.chat.model,
            stream=self.chat.stream,
            status_code=status,
            latency_ms=latency_ms,
            ttfb_ms=ttfb_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            retry_count=self.retries,
            switched_from_account_id=switched,
            error=error,
        )


class RequestLogger:
    """The request's single log row, queued (never awaited)."""

    def __init__(self, logs: RequestLogQueue, clock: Clock) -> None:
        self._logs = logs
        self._clock = clock

    def elapsed_ms(self, request: RequestRecord) -> int:
        return int((self._clock.monotonic() - request.started) * 1000)

    def usage(
        self,
        request: RequestRecord,
        account: Account,
        status: int,
        usage: Usage | None,
        *,
        ttfb_ms: int | None = None,
        error: str | None = None,
    ) -> None:
        self.log(
            request,
            account,
            status,
            ttfb_ms=ttfb_ms,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            error=error,
        )

    def log(
        self,
        request: RequestRecord,
        account: Account | None,
        status: int,
        *,
        provider_id: str | None = None,
        ttfb_ms: int | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        error: str | None = None,
    ) -> None:
        self._logs.enqueue(
            request.entry(
                account,
                status,
                now=self._clock.now(),
                latency_ms=self.elapsed_ms(request),
                provider_id=provider_id,
                ttfb_ms=ttfb_ms,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                error=error,
            )
        )
