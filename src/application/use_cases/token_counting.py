"""Counting a request's input tokens (Anthropic's `POST /v1/messages/count_tokens`).

A provider whose kind has a counter of its own is asked through the hot path like any request
(an account of its pool, rotation, failover). Any other provider's count is estimated here,
without an account: it works whatever state the pool is in, even with no account at all.
The answer says which it is: header `x-aigateway-token-count` is `upstream` or `estimate`.
Either way the request leaves one log row whose prompt tokens are the count.
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec

from aigateway.application.errors import GatewayError
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.token_estimate import TokenEstimator
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.chat_request import (
    ChatResult,
    InboundChat,
    RequestIds,
    RequestLogger,
    RequestRecord,
)
from aigateway.application.use_cases.proxy_chat import MAX_MODEL_NAME, ProxyChat
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.providers import ProviderKind

COUNT_HEADER = "x-aigateway-token-count"
_encode = msgspec.json.Encoder().encode


class _Count(msgspec.Struct):
    input_tokens: int


class TokenCounting:
    def __init__(
        self,
        catalog: CatalogCache,
        proxy: ProxyChat,
        estimator: TokenEstimator,
        logs: RequestLogQueue,
        clock: Clock,
        *,
        counted_upstream: Collection[ProviderKind],
    ) -> None:
        self._catalog = catalog
        self._proxy = proxy
        self._estimator = estimator
        self._logger = RequestLogger(logs, clock)
        self._clock = clock
        self._counted_upstream = frozenset(counted_upstream)
        self._request_ids = RequestIds()

    async def count(self, chat: InboundChat, client: ClientKey) -> ChatResult:
        route = None
        if len(chat.model) <= MAX_MODEL_NAME:
            route = self._catalog.current.router.resolve(chat.model)
        if route is None or route.provider.kind in self._counted_upstream:
            # an unknown or overlong model name is refused there, as for a chat
            result = await self._proxy.start(chat, client)
            if result.status >= 300:
                return result
            headers = {**result.headers, COUNT_HEADER: "upstream"}
            return msgspec.structs.replace(result, headers=headers)
        request = RequestRecord(self._request_ids.next(), chat, client, self._clock.monotonic())
        provider = route.provider.id
        try:
            tokens = self._estimator.estimate(chat.body, chat.format)
        except GatewayError as exc:
            self._logger.log(request, None, exc.status, provider_id=provider, error=exc.message)
            raise
        self._logger.log(request, None, 200, provider_id=provider, prompt_tokens=tokens)
        return ChatResult(
            request_id=request.id,
            status=200,
            content_type="application/json",
            body=_encode(_Count(tokens)),
            headers={COUNT_HEADER: "estimate"},
        )
