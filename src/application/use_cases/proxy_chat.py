"""The hot path: authenticate, resolve, pick an account, relay the upstream answer, log it.

Per request: one round-robin INCR (Redis or in-process), no SQL; the log row is queued.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import AsyncIterator, Mapping

import msgspec

from aigateway.application.errors import (
    GatewayError,
    authentication_failed,
    model_not_found,
    no_available_accounts,
    upstream_unavailable,
)
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import RoundRobinCursor
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
from aigateway.domain.llm import UnsupportedContent, WireFormat
from aigateway.domain.providers import ProviderKind
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.round_robin import pick

log = logging.getLogger(__name__)


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


class RequestIds:
    """Unique request ids without a syscall per request: a random per-process prefix and a
    counter (32 hex characters, like a UUID without dashes)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


class ProxyChat:
    def __init__(
        self,
        catalog: CatalogCache,
        cursor: RoundRobinCursor,
        executors: Mapping[ProviderKind, ChatExecutor],
        logs: RequestLogQueue,
        clock: Clock,
    ) -> None:
        self._catalog = catalog
        self._cursor = cursor
        self._executors = executors
        self._logs = logs
        self._clock = clock
        self._request_ids = RequestIds()

    def authenticate(self, token: str | None) -> ClientKey:
        if not token:
            raise authentication_failed("missing API key")
        key = self._catalog.current.client_key(token)
        if key is None:
            raise authentication_failed()
        return key

    async def start(self, chat: InboundChat, client: ClientKey) -> ChatResult:
        started = self._clock.monotonic()
        request_id = self._request_ids.next()
        catalog = self._catalog.current
        route = catalog.router.resolve(chat.model)
        if route is None:
            self._log(request_id, client, None, chat, started, 404, error="model not found")
            raise model_not_found(chat.model)
        provider = route.provider
        accounts = catalog.accounts_for(provider.id)
        account = (
            pick(accounts, await self._cursor.next(provider.id, route.model)) if accounts else None
        )
        if account is None:
            self._log(
                request_id,
                client,
                None,
                chat,
                started,
                503,
                provider_id=provider.id,
                error="no available accounts",
            )
            raise no_available_accounts(provider.id)
        executor = self._executors.get(provider.kind)
        if executor is None:
            raise GatewayError(
                501,
                f"provider kind {provider.kind.value} is not supported by this gateway version",
                type="not_implemented",
                code="provider_kind_unsupported",
            )
        call = ChatCall(
            provider=provider,
            account=account,
            model=route.model,
            requested_model=chat.model,
            body=chat.body,
            client_format=chat.format,
            stream=chat.stream,
        )
        try:
            exchange = await executor.open(call)
        except UnsupportedContent as exc:
            self._log(request_id, client, account, chat, started, 400, error=str(exc))
            raise GatewayError(400, str(exc), code="unsupported_content") from None
        except UpstreamUnavailable as exc:
            self._log(request_id, client, account, chat, started, 502, error=str(exc))
            raise upstream_unavailable(provider.id) from exc

        if chat.stream and exchange.status < 400:
            return ChatResult(
                request_id=request_id,
                status=exchange.status,
                content_type=exchange.content_type,
                chunks=self._relay(request_id, client, account, chat, started, exchange),
            )
        try:
            body = await exchange.read()
        except UpstreamUnavailable as exc:
            self._log(request_id, client, account, chat, started, 502, error=str(exc))
            raise upstream_unavailable(provider.id) from exc
        finally:
            await exchange.close()
        if exchange.status >= 400:  # upstream error texts may echo the account's key
            body = account.credential.redact(body.decode("utf-8", "replace")).encode()
        usage = exchange.usage
        self._log(
            request_id,
            client,
            account,
            chat,
            started,
            exchange.status,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            error=None if exchange.status < 400 else _error_summary(body),
        )
        return ChatResult(
            request_id=request_id,
            status=exchange.status,
            content_type=exchange.content_type,
            body=body,
        )

    async def _relay(
        self,
        request_id: str,
        client: ClientKey,
        account: Account,
        chat: InboundChat,
        started: float,
        exchange: ChatExchange,
    ) -> AsyncIterator[bytes]:
        ttfb: int | None = None
        error: str | None = None
        status = exchange.status
        try:
            async for chunk in exchange.iter_chunks():
                if ttfb is None:
                    ttfb = self._elapsed_ms(started)
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
                request_id,
                client,
                account,
                chat,
                started,
                status,
                ttfb_ms=ttfb,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
                error=error,
            )

    def _elapsed_ms(self, started: float) -> int:
        return int((self._clock.monotonic() - started) * 1000)

    def _log(
        self,
        request_id: str,
        client: ClientKey,
        account: Account | None,
        chat: InboundChat,
        started: float,
        status: int,
        *,
        provider_id: str | None = None,
        ttfb_ms: int | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        error: str | None = None,
    ) -> None:
        self._logs.enqueue(
            RequestLogEntry(
                request_id=request_id,
                created_at=self._clock.now(),
                api_key_id=client.id,
                provider_id=account.provider_id if account else provider_id,
                account_id=account.id if account else None,
                proxy_id=account.proxy_id if account else None,
                model=chat.model,
                stream=chat.stream,
                status_code=status,
                latency_ms=self._elapsed_ms(started),
                ttfb_ms=ttfb_ms,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                error=account.credential.redact(error) if error and account else error,
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
