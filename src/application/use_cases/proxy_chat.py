"""The hot path: authenticate, resolve, pick an account, relay the upstream answer, log it.

Per request: one rotation round trip (Redis or in-process) and no SQL; the log row is queued.
Before the first byte reaches the client, a failed attempt (429, 5xx, network error, an error
hidden in a 200, an empty stream) is classified, the account cools down (shared by every
process) and the request moves to the next eligible account, within a bounded budget.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping

import msgspec

from aigateway.application.errors import (
    GatewayError,
    authentication_failed,
    model_not_found,
    no_available_accounts,
    upstream_unavailable,
)
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import Rotation
from aigateway.application.ports.upstream import (
    ChatCall,
    ChatExchange,
    ChatExecutor,
    UpstreamUnavailable,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.errors import (
    ANTHROPIC_DIALECT,
    CLOUD_CODE_DIALECT,
    OPENAI_DIALECT,
    Failure,
    FailureAction,
    classify,
    error_in_success,
    network_failure,
    retry_after_header,
)
from aigateway.domain.llm import UnsupportedContent, WireFormat
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import (
    Cooldown,
    cooldown_for,
    eligible_accounts,
    soonest_available,
)
from aigateway.domain.routing.round_robin import pick

log = logging.getLogger(__name__)

DIALECTS = {
    ProviderKind.OPENAI: OPENAI_DIALECT,
    ProviderKind.ANTHROPIC: ANTHROPIC_DIALECT,
    ProviderKind.ANTIGRAVITY: CLOUD_CODE_DIALECT,
}


class InboundChat(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    stream: bool
    body: bytes
    format: WireFormat = WireFormat.OPENAI_CHAT


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    status: int
    content_type: str
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None  # set for a streamed success
    headers: dict[str, str] = msgspec.field(default_factory=dict)


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


class _Request:
    """What one client request has been through so far (for its single log row)."""

    __slots__ = ("account", "chat", "client", "first_account", "id", "retries", "started")

    def __init__(self, request_id: str, chat: InboundChat, client: ClientKey, started: float):
        self.id = request_id
        self.chat = chat
        self.client = client
        self.started = started
        self.retries = 0
        self.first_account: Account | None = None
        self.account: Account | None = None  # the latest one tried


class _Failed(msgspec.Struct):
    """An attempt that did not succeed: how it failed, and what the client gets if it is the
    last one (None: an `upstream_unavailable` error)."""

    failure: Failure
    result: ChatResult | None
    summary: str


AccountDisabler = Callable[[Account, str], None]


class ProxyChat:
    def __init__(
        self,
        catalog: CatalogCache,
        rotation: Rotation,
        executors: Mapping[ProviderKind, ChatExecutor],
        logs: RequestLogQueue,
        clock: Clock,
        *,
        budget: RetryBudget | None = None,
        disable_account: AccountDisabler | None = None,
    ) -> None:
        self._catalog = catalog
        self._rotation = rotation
        self._executors = executors
        self._logs = logs
        self._clock = clock
        self._budget = budget or RetryBudget()
        self._disable_account = disable_account
        self._request_ids = RequestIds()
        self._failures: dict[tuple[str, str], int] = {}  # consecutive, per (account, model)

    def authenticate(self, token: str | None) -> ClientKey:
        if not token:
            raise authentication_failed("missing API key")
        key = self._catalog.current.client_key(token)
        if key is None:
            raise authentication_failed()
        return key

    async def start(self, chat: InboundChat, client: ClientKey) -> ChatResult:
        request = _Request(self._request_ids.next(), chat, client, self._clock.monotonic())
        catalog = self._catalog.current
        route = catalog.router.resolve(chat.model)
        if route is None:
            self._log(request, None, 404, error="model not found")
            raise model_not_found(chat.model)
        provider = route.provider
        accounts = catalog.accounts_for(provider.id)
        if not accounts:
            self._log(request, None, 503, provider_id=provider.id, error="no available accounts")
            raise no_available_accounts(provider.id)
        executor = self._executors.get(provider.kind)
        if executor is None:
            raise GatewayError(
                501,
                f"provider kind {provider.kind.value} is not supported by this gateway version",
                type="not_implemented",
                code="provider_kind_unsupported",
            )
        now = self._clock.now()
        turn = await self._rotation.turn(provider.id, route.model, now)
        cooling: list[Cooldown] = list(turn.cooling)
        tried: set[str] = set()
        last: _Failed | None = None
        retry_same: Account | None = None
        deadline = request.started + self._budget.deadline_s
        for attempt in range(self._budget.max_attempts):
            if attempt and self._clock.monotonic() > deadline:
                break
            # the snapshot holds only usable accounts, sorted: filter again only when needed
            candidates = (
                eligible_accounts(accounts, cooling, route.model, now) if cooling else accounts
            )
            if tried:
                candidates = tuple(a for a in candidates if a.id not in tried)
            account = retry_same or pick(candidates, turn.counter)
            retry_same = None
            if account is None:
                break
            if request.first_account is None:
                request.first_account = account
            request.account = account
            request.retries = attempt
            tried.add(account.id)
            call = ChatCall(
                provider=provider,
                account=account,
                model=route.model,
                requested_model=chat.model,
                body=chat.body,
                client_format=chat.format,
                stream=chat.stream,
            )
            outcome = await self._attempt(executor, call, request)
            if isinstance(outcome, ChatResult):
                self._failures.pop((account.id, route.model), None)
                return outcome
            last = outcome
            failure = outcome.failure
            key = (account.id, route.model)
            self._failures[key] = self._failures.get(key, 0) + 1
            if failure.action is FailureAction.RETURN_TO_CLIENT:
                break
            now = self._clock.now()
            cooldown = cooldown_for(failure, account.id, route.model, now)
            if cooldown is not None:
                cooling.append(cooldown)
                await self._rotation.cool_down(provider.id, cooldown)
            if failure.disables_account and self._disable_account is not None:
                self._disable_account(account, failure.reason)
            if failure.action is FailureAction.RETRY_SAME_AFTER:
                if failure.retry_after:
                    await asyncio.sleep(failure.retry_after.total_seconds())
                tried.discard(account.id)
                retry_same = account
            log.debug("attempt on %s failed: %s", account.id, failure.reason)
        return self._give_up(request, provider, accounts, cooling, route.model, last)

    def _give_up(
        self,
        request: _Request,
        provider: Provider,
        accounts: tuple[Account, ...],
        cooling: list[Cooldown],
        model: str,
        last: _Failed | None,
    ) -> ChatResult:
        if last is not None and last.result is not None:
            self._log(request, request.account, last.result.status, error=last.summary)
            return last.result
        now = self._clock.now()
        free_at = soonest_available(accounts, cooling, model, now)
        if free_at is not None and last is None:  # nothing tried: every account is cooling
            retry_after = retry_after_header(free_at - now)
            self._log(
                request, None, 429, provider_id=provider.id, error="all accounts cooling down"
            )
            raise GatewayError(
                429,
                f"every account of provider {provider.id} is cooling down; retry after "
                f"{retry_after} s",
                type="rate_limit_error",
                code="accounts_cooling_down",
                headers={"Retry-After": retry_after},
            )
        if last is None:
            self._log(request, None, 503, provider_id=provider.id, error="no available accounts")
            raise no_available_accounts(provider.id)
        self._log(request, request.account, 502, error=last.summary)
        raise upstream_unavailable(provider.id)

    async def _attempt(
        self, executor: ChatExecutor, call: ChatCall, request: _Request
    ) -> ChatResult | _Failed:
        account = call.account
        dialect = DIALECTS[call.provider.kind]
        try:
            exchange = await executor.open(call)
        except UnsupportedContent as exc:
            self._log(request, account, 400, error=str(exc))
            raise GatewayError(400, str(exc), code="unsupported_content") from None
        except UpstreamUnavailable as exc:
            return _Failed(network_failure(dialect), None, str(exc))
        except asyncio.CancelledError:
            self._log(request, account, 499, error="client disconnected")
            raise
        try:
            if exchange.status >= 400:
                raw, rendered = await exchange.read_error()
                failure = classify(
                    dialect,
                    exchange.status,
                    raw,
                    exchange.headers,
                    self._clock.now(),
                    failures=self._failures.get((account.id, call.model), 0),
                    auth_type=account.credential.auth_type,
                )
                # upstream error texts may echo the account's key
                body = account.credential.redact(rendered.decode("utf-8", "replace")).encode()
                headers = {}
                if failure.retry_after is not None and exchange.status == 429:
                    headers["Retry-After"] = retry_after_header(failure.retry_after)
                result = ChatResult(
                    request_id=request.id,
                    status=exchange.status,
                    content_type="application/json",
                    body=body,
                    headers=headers,
                )
                return _Failed(failure, result, _error_summary(body))
            if call.stream:
                return await self._open_stream(exchange, call, request)
            body = await exchange.read()
        except UpstreamUnavailable as exc:
            await exchange.close()
            return _Failed(network_failure(dialect), None, str(exc))
        except asyncio.CancelledError:
            await exchange.close()
            self._log(request, account, 499, error="client disconnected")
            raise
        except UnsupportedContent as exc:  # the upstream answered what the client cannot read
            await exchange.close()
            self._log(request, account, 502, error=str(exc))
            raise GatewayError(
                502, str(exc), type="api_error", code="unsupported_content"
            ) from None
        if exchange.status < 300 and error_in_success(body):
            await exchange.close()
            failure = classify(
                dialect,
                exchange.status,
                body,
                exchange.headers,
                self._clock.now(),
                failures=self._failures.get((account.id, call.model), 0),
            )
            return _Failed(failure, None, "error object inside a 200 answer")
        await exchange.close()
        usage = exchange.usage
        self._log(
            request,
            account,
            exchange.status,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
        )
        return ChatResult(
            request_id=request.id,
            status=exchange.status,
            content_type=exchange.content_type,
            body=body,
        )

    async def _open_stream(
        self, exchange: ChatExchange, call: ChatCall, request: _Request
    ) -> ChatResult | _Failed:
        """Pull the first chunk before answering, so an immediate failure (an empty stream,
        a connection that breaks at once) can still move to another account."""
        chunks = exchange.iter_chunks()
        first = await anext(chunks, None)
        if first is None or exchange.stream_error is not None:
            await exchange.close()
            failure = classify(
                DIALECTS[call.provider.kind],
                200,
                b"",
                exchange.headers,
                self._clock.now(),
                failures=self._failures.get((call.account.id, call.model), 0),
            )
            return _Failed(failure, None, exchange.stream_error or "empty stream")
        return ChatResult(
            request_id=request.id,
            status=exchange.status,
            content_type=exchange.content_type,
            chunks=self._relay(request, call.account, exchange, first, chunks),
        )

    async def _relay(
        self,
        request: _Request,
        account: Account,
        exchange: ChatExchange,
        first: bytes,
        rest: AsyncIterator[bytes],
    ) -> AsyncIterator[bytes]:
        ttfb = self._elapsed_ms(request)
        error: str | None = None
        status = exchange.status
        try:
            yield first
            async for chunk in rest:
                yield chunk
            if exchange.stream_error is not None:
                error, status = exchange.stream_error, 502
        except BaseException:
            error, status = "client disconnected", 499
            raise
        finally:
            await exchange.close()
            usage = exchange.usage
            self._log(
                request,
                account,
                status,
                ttfb_ms=ttfb,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
                error=error,
            )

    def _elapsed_ms(self, request: _Request) -> int:
        return int((self._clock.monotonic() - request.started) * 1000)

    def _log(
        self,
        request: _Request,
        account: Account | None,
        status: int,
        *,
        provider_id: str | None = None,
        ttfb_ms: int | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        error: str | None = None,
    ) -> None:
        first = request.first_account
        switched = None
        if first is not None and account is not None and first.id != account.id:
            switched = first.id
        if error and account:
            error = account.credential.redact(error)
        self._logs.enqueue(
            RequestLogEntry(
                request_id=request.id,
                created_at=self._clock.now(),
                api_key_id=request.client.id,
                provider_id=account.provider_id if account else provider_id,
                account_id=account.id if account else None,
                proxy_id=account.proxy_id if account else None,
                model=request.chat.model,
                stream=request.chat.stream,
                status_code=status,
                latency_ms=self._elapsed_ms(request),
                ttfb_ms=ttfb_ms,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                retry_count=request.retries,
                switched_from_account_id=switched,
                error=error,
            )
        )


def _error_summary(body: bytes) -> str:
    """The upstream's error message for the log (bounded; bodies are not stored whole)."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body[:500].decode("utf-8", "replace")
    if isinstance(decoded, dict):
        err = decoded.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:500]
        if isinstance(err, str):
            return err[:500]
    return body[:500].decode("utf-8", "replace")
