"""The hot path: authenticate, resolve, pick an account, relay the upstream answer, log it.

Per request: one rotation round trip (Redis or in-process) and no SQL; the log row is queued.
Before the first byte reaches the client, a failed attempt (429, 5xx, network error, an error
hidden in a 200, an empty stream) is classified, the account cools down (shared by every
process) and the request moves to the next eligible account, within a bounded budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from aigateway.application.errors import (
    GatewayError,
    authentication_failed,
    client_version_outdated,
    invalid_request,
    model_not_found,
    no_available_accounts,
    upstream_unavailable,
)
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import Rotation
from aigateway.application.ports.upstream import (
    Answer,
    ChatCall,
    ChatExchange,
    ChatExecutor,
    PreparedChat,
    Refusal,
    UpstreamUnavailable,
)
from aigateway.application.use_cases.access_tokens import AccessTokens, CredentialUnavailable
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.chat_request import (
    ChatResult,
    FailedAttempt,
    InboundChat,
    RequestIds,
    RequestLogger,
    RequestRecord,
    RetryBudget,
)
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.accounts import Account, AuthType
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.errors import (
    ErrorDialect,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    classify,
    network_failure,
    retry_after_header,
)
from aigateway.domain.llm import ErrorType, UnsupportedContent
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import Route
from aigateway.domain.routing.eligibility import Cooldown, cooldown_for, soonest_available
from aigateway.domain.routing.selection import choose_account

log = logging.getLogger(__name__)


MAX_MODEL_NAME = 256  # characters; longer names are refused before anything is keyed by them
MAX_FAILURE_MEMORY = 4096  # (account, model) pairs whose consecutive failures are remembered


AccountDisabler = Callable[[Account, str], None]


class ProxyFailures(Protocol):
    """Passive proxy health: what live calls through a proxy say about it."""

    def failed(self, proxy_id: int) -> None: ...
    def succeeded(self, proxy_id: int) -> None: ...


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
        access_tokens: AccessTokens | None = None,
        notices: OperatorNotices | None = None,
        proxy_health: ProxyFailures | None = None,
    ) -> None:
        self._tokens = access_tokens
        self._proxy_health = proxy_health
        self._catalog = catalog
        self._rotation = rotation
        self._executors = executors
        self._logger = RequestLogger(logs, clock)
        self._clock = clock
        self._budget = budget or RetryBudget()
        self._disable_account = disable_account
        self._notices = notices or OperatorNotices()
        self._request_ids = RequestIds()
        # consecutive failures per (account, model); bounded, forgotten on success
        self._failures: dict[tuple[str, str], int] = {}

    def authenticate(self, token: str | None) -> ClientKey:
        if not token:
            raise authentication_failed("missing API key")
        key = self._catalog.current.client_key(token)
        if key is None:
            raise authentication_failed()
        return key

    def refuse(self, chat: InboundChat, client: ClientKey, error: GatewayError) -> None:
        """Log a request refused before it was routed (its body could not be read)."""
        request = RequestRecord(self._request_ids.next(), chat, client, self._clock.monotonic())
        self._logger.log(request, None, error.status, error=error.message)

    async def start(self, chat: InboundChat, client: ClientKey) -> ChatResult:
        request = RequestRecord(self._request_ids.next(), chat, client, self._clock.monotonic())
        if len(chat.model) > MAX_MODEL_NAME:
            error = invalid_request(
                f"model name is longer than {MAX_MODEL_NAME} characters", param="model"
            )
            self._logger.log(request, None, 400, error=error.message)
            raise error
        catalog = self._catalog.current
        route = catalog.router.resolve(chat.model)
        if route is None:
            self._logger.log(request, None, 404, error="model not found")
            raise model_not_found(chat.model)
        provider = route.provider
        accounts = catalog.accounts_for(provider.id)
        if not accounts:
            reasons = catalog.unroutable.get(provider.id, ())
            error = no_available_accounts(provider.id, reasons)
            self._logger.log(request, None, 503, provider_id=provider.id, error=error.message)
            raise error
        executor = self._executors.get(provider.kind)
        if executor is None:
            error = GatewayError(
                501,
                f"provider kind {provider.kind.value} is not supported by this gateway version",
                type=ErrorType.API_ERROR,
                code="provider_kind_unsupported",
            )
            self._logger.log(request, None, 501, provider_id=provider.id, error=error.message)
            raise error
        call = ChatCall(
            provider=provider,
            model=route.model,
            requested_model=chat.model,
            body=chat.body,
            client_format=chat.format,
            stream=chat.stream,
            operation=chat.operation,
            forward_headers=chat.forward_headers,
            query=chat.query,
        )
        try:
            prepared = executor.prepare(call)
        except UnsupportedContent as exc:
            self._logger.log(request, None, 400, provider_id=provider.id, error=str(exc))
            raise GatewayError(400, str(exc), code="unsupported_content") from None
        except GatewayError as exc:
            self._logger.log(request, None, exc.status, provider_id=provider.id, error=exc.message)
            raise
        try:
            return await self._attempts(
                request, executor, prepared, accounts, catalog.routes, route.key
            )
        except asyncio.CancelledError:  # the client left between attempts (a turn, a wait)
            if not request.logged:
                self._logger.log(request, request.account, 499, error="client disconnected")
            raise

    async def _attempts(
        self,
        request: RequestRecord,
        executor: ChatExecutor,
        prepared: PreparedChat,
        accounts: tuple[Account, ...],
        routes: Mapping[str, Route],  # account id -> through which proxy its calls go
        model: str,  # the route's state key: rotation, cooldowns, failure counts
    ) -> ChatResult:
        provider = prepared.call.provider
        now = self._clock.now()
        turn = await self._rotation.turn(provider.id, model, now)
        cooling: list[Cooldown] = list(turn.cooling)
        tried: set[str] = set()
        last: FailedAttempt | None = None
        retry_same: Account | None = None
        refused: str | None = None  # the access token the same-account retry must not reuse
        refreshed: set[str] = set()  # accounts whose token this request refreshed after a 401
        deadline = request.started + self._budget.deadline_s
        for attempt in range(self._budget.max_attempts):
            if attempt and self._clock.monotonic() > deadline:
                break
            account = choose_account(
                accounts, cooling, model, now, turn.counter, tried=tried, retry_same=retry_same
            )
            retry_same = None
            if account is None:
                break
            if request.first_account is None:
                request.first_account = account
            request.account = account
            request.retries = attempt
            tried.add(account.id)
            egress = routes[account.id]
            request.proxy_id = egress.proxy_id
            outcome = await self._attempt(
                executor, prepared, account, egress, request, model, refused
            )
            refused = None
            key = (account.id, model)
            proxy_failed = isinstance(outcome, FailedAttempt) and outcome.proxy_failed
            if egress.proxy_id is not None and self._proxy_health is not None:
                if proxy_failed:
                    self._proxy_health.failed(egress.proxy_id)
                else:  # the proxy got the call through, whatever the upstream said
                    self._proxy_health.succeeded(egress.proxy_id)
            if isinstance(outcome, ChatResult):
                self._failures.pop(key, None)
                return outcome
            last = outcome
            failure = outcome.failure
            if proxy_failed:  # the proxy, not the account: skip every account behind it
                tried.update(a.id for a in accounts if routes[a.id].proxy_id == egress.proxy_id)
                continue
            self._count_failure(key)
            if failure.action is FailureAction.RETURN_TO_CLIENT:
                break
            now = self._clock.now()
            if (
                failure.action is FailureAction.REFRESH_AND_RETRY_SAME
                and outcome.secret is not None
                and account.id not in refreshed
            ):  # an OAuth token refused: one refresh, one retry on the same account
                refreshed.add(account.id)
                refused = outcome.secret
                tried.discard(account.id)
                retry_same = account
                continue
            if outcome.account is not None:  # its credential, as the refresh read it
                account = outcome.account
            elif self._tokens is not None:  # a renewal here is not a replaced credential
                account = self._tokens.current(account)
            if (
                failure.disables_account
                and outcome.account is None
                and not self._catalog.current.holds(account)
            ):
                # the operator replaced the credential while this attempt used the old one:
                # its refusal says nothing about the account as it is now
                log.debug("attempt on %s failed with a replaced credential", account.id)
                continue
            cooldown = cooldown_for(failure, account.id, model, now)
            if cooldown is not None:
                cooling.append(cooldown)
                await self._rotation.cool_down(provider.id, cooldown)
            if failure.disables_account and self._disable_account is not None:
                # the reason may carry the owner's link from the upstream: never the key
                self._disable_account(account, account.credential.redact(failure.reason))
            if failure.action is FailureAction.RETRY_SAME_AFTER:
                if failure.retry_after:
                    await asyncio.sleep(failure.retry_after.total_seconds())
                tried.discard(account.id)
                retry_same = account
            log.debug("attempt on %s failed: %s", account.id, failure.reason)
        return self._give_up(request, provider, accounts, cooling, model, last)

    def _count_failure(self, key: tuple[str, str]) -> None:
        failures = self._failures
        if key not in failures and len(failures) >= MAX_FAILURE_MEMORY:
            del failures[next(iter(failures))]  # the oldest entry
        failures[key] = failures.get(key, 0) + 1

    def _give_up(
        self,
        request: RequestRecord,
        provider: Provider,
        accounts: tuple[Account, ...],
        cooling: list[Cooldown],
        model: str,
        last: FailedAttempt | None,
    ) -> ChatResult:
        if last is not None and last.result is not None:
            self._logger.log(request, request.account, last.result.status, error=last.summary)
            return last.result
        if last is not None and last.failure.category is FailureCategory.CLIENT_OUTDATED:
            self._logger.log(request, request.account, 502, error=last.summary)
            raise client_version_outdated(provider.id)
        if last is not None and last.error is not None:
            self._logger.log(request, request.account, last.error.status, error=last.summary)
            raise last.error
        now = self._clock.now()
        free_at = soonest_available(accounts, cooling, model, now)
        if free_at is not None and last is None:  # nothing tried: every account is cooling
            retry_after = retry_after_header(free_at - now)
            self._logger.log(
                request, None, 429, provider_id=provider.id, error="all accounts cooling down"
            )
            raise GatewayError(
                429,
                f"every account of provider {provider.id} is cooling down; retry after "
                f"{retry_after} s",
                code="accounts_cooling_down",
                headers={"Retry-After": retry_after},
            )
        if last is None:
            self._logger.log(
                request, None, 503, provider_id=provider.id, error="no available accounts"
            )
            raise no_available_accounts(provider.id)
        self._logger.log(request, request.account, 502, error=last.summary)
        raise upstream_unavailable(provider.id)

    async def _attempt(
        self,
        executor: ChatExecutor,
        prepared: PreparedChat,
        account: Account,
        egress: Route,
        request: RequestRecord,
        model: str,
        refused: str | None = None,
    ) -> ChatResult | FailedAttempt:
        dialect = executor.dialect
        credential = account.credential
        oauth_secret: str | None = None
        if credential.auth_type is AuthType.API_KEY or self._tokens is None:
            secret = credential.secret
        else:
            try:
                secret = oauth_secret = await self._tokens.secret_for(
                    account, prepared.call.provider, refused=refused
                )
            except CredentialUnavailable as exc:
                error = None
                if exc.message is not None:
                    error = GatewayError(503, exc.message, code="oauth_credential_unavailable")
                return FailedAttempt(
                    exc.failure,
                    None,
                    exc.failure.reason,
                    account=exc.account,
                    error=error,
                    proxy_failed=exc.proxy_failed,
                )
            except asyncio.CancelledError:
                self._logger.log(request, account, 499, error="client disconnected")
                raise
        try:
            exchange = await executor.open(prepared, account, secret, egress)
        except UpstreamUnavailable as exc:
            return _network_failed(dialect, exc)
        except asyncio.CancelledError:
            self._logger.log(request, account, 499, error="client disconnected")
            raise
        outcome: Answer | Refusal | AsyncIterator[bytes]
        try:
            if prepared.call.stream:
                outcome = await exchange.open_stream()
            else:
                outcome = await exchange.answer()
        except UpstreamUnavailable as exc:
            await exchange.close()
            return _network_failed(dialect, exc)
        except asyncio.CancelledError:
            await exchange.close()
            self._logger.log(request, account, 499, error="client disconnected")
            raise
        if isinstance(outcome, Refusal):
            await exchange.close()
            failures = self._failures.get((account.id, model), 0)
            failed = self._refused(outcome, executor, account, request, failures)
            if oauth_secret is not None:
                failed.secret = oauth_secret
            return failed
        if not isinstance(outcome, Answer):  # a stream, its first event read
            return ChatResult(
                request_id=request.id,
                status=200,
                content_type="text/event-stream",
                chunks=self._relay(request, account, exchange, outcome),
            )
        await exchange.close()
        self._logger.usage(request, account, outcome.status, outcome.usage, error=outcome.error)
        return ChatResult(
            request_id=request.id,
            status=outcome.status,
            content_type=outcome.content_type,
            body=outcome.body,
        )

    def _refused(
        self,
        refusal: Refusal,
        executor: ChatExecutor,
        account: Account,
        request: RequestRecord,
        failures: int,
    ) -> FailedAttempt:
        failure = classify(
            executor.dialect,
            refusal.status,
            refusal.body,
            refusal.headers,
            self._clock.now(),
            failures=failures,
            auth_type=account.credential.auth_type,
            model_known=refusal.model_known,
        )
        if failure.category is FailureCategory.CLIENT_OUTDATED:
            # every account would be refused alike: only the operator can fix it
            provider = account.provider_id
            self._notices.note(
                f"client_version:{provider}",
                f"provider {provider}: the upstream refuses the gateway's Antigravity client "
                "version as outdated; raise config.client_version of the provider",
                self._clock.now(),
            )
            return FailedAttempt(failure, None, refusal.summary)
        result = None
        if refusal.client_body is not None:
            # upstream error texts may echo the account's key
            body = account.credential.redact(refusal.client_body.decode("utf-8", "replace"))
            # an error inside a 2xx reaches the client with the status it stands for
            status = refusal.status if refusal.status >= 400 else failure.status or 502
            headers = {}
            if failure.retry_after is not None and status == 429:
                headers["Retry-After"] = retry_after_header(failure.retry_after)
            result = ChatResult(
                request_id=request.id,
                status=status,
                content_type="application/json",
                body=body.encode(),
                headers=headers,
            )
        return FailedAttempt(failure, result, refusal.summary)

    async def _relay(
        self,
        request: RequestRecord,
        account: Account,
        exchange: ChatExchange,
        chunks: AsyncIterator[bytes],
    ) -> AsyncIterator[bytes]:
        ttfb = self._logger.elapsed_ms(request)
        error: str | None = None
        status = 200
        try:
            async for chunk in chunks:
                yield chunk
            if exchange.stream_error is not None:
                error, status = exchange.stream_error, 502
        except (asyncio.CancelledError, GeneratorExit):
            error, status = "client disconnected", 499
            raise
        except Exception as exc:
            error, status = f"stream relay failed: {type(exc).__name__}", 502
            raise
        finally:
            await exchange.close()
            self._logger.usage(request, account, status, exchange.usage, ttfb_ms=ttfb, error=error)


def _network_failed(dialect: ErrorDialect, exc: UpstreamUnavailable) -> FailedAttempt:
    proxy_failed = exc.kind is NetworkErrorKind.PROXY
    return FailedAttempt(
        network_failure(dialect, exc.kind), None, str(exc), proxy_failed=proxy_failed
    )
