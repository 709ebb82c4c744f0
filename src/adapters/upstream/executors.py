"""The chat executor: one provider profile's upstream, reached over the shared transport.

A client speaking the upstream's own format gets a byte passthrough (only the model name is
spliced in when it differs; the client's query string and the profile's forwarded headers go
along); any other client format is translated through the canonical model. Either way the
body is prepared once per client request, not once per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.codecs.json_splice import splice_model
from aigateway.adapters.upstream.exchange import PassthroughExchange, TranslatedExchange
from aigateway.adapters.upstream.profiles.base import ProviderProfile, seconds
from aigateway.application.ports.upstream import (
    ChatCall,
    ChatExchange,
    PreparedChat,
    Upstream,
    UpstreamRequest,
)
from aigateway.domain.accounts import Account
from aigateway.domain.llm import WireFormat
from aigateway.domain.proxies import Route

USER_AGENT = "aigateway/0.1"


class HttpChatExecutor:
    def __init__(
        self,
        transport: Upstream,
        profile: ProviderProfile,
        codecs: Mapping[WireFormat, WireCodec],
        *,
        timeout_s: float = 600.0,
    ) -> None:
        self._transport = transport
        self.profile = profile
        self._codecs = codecs
        self._upstream = profile.codec
        self._timeout_s = timeout_s
        self.dialect = profile.dialect

    def prepare(self, call: ChatCall) -> PreparedChat:
        if call.client_format == self._upstream.format:
            body = call.body
            if call.model != call.requested_model:
                body = splice_model(body, call.model)
            return PreparedChat(call=call, body=body, translated=False)
        request = self._codecs[call.client_format].decode_request(call.body)
        wants_usage = request.include_usage
        request = msgspec.structs.replace(request, model=call.model, include_usage=request.stream)
        return PreparedChat(
            call=call,
            body=self._upstream.encode_request(request),  # raises UnsupportedContent
            translated=True,
            include_usage=wants_usage,
        )

    async def open(
        self, prepared: PreparedChat, account: Account, secret: str, route: Route
    ) -> ChatExchange:
        call = prepared.call
        client = self._codecs[call.client_format]
        response = await self._transport.open(self._request(prepared, account, secret, route))
        if not prepared.translated:
            return PassthroughExchange(
                response, client, self.profile.read_answer, self.profile.usage_scanner
            )
        return TranslatedExchange(
            response,
            self._upstream,
            client,
            client_model=call.requested_model,
            include_usage=prepared.include_usage,
        )

    def _request(
        self, prepared: PreparedChat, account: Account, secret: str, route: Route
    ) -> UpstreamRequest:
        call = prepared.call
        profile = self.profile
        headers = profile.auth_headers(call.provider, account, secret)
        url = profile.url(call.provider)
        if not prepared.translated:
            for name in profile.forwarded_headers:
                value = profile.client_header(name, call.forward_headers.get(name, ""))
                if value:
                    own = headers.get(name)
                    headers[name] = f"{own},{value}" if own else value
            query = profile.client_query(call.query)
            if query:
                url = f"{url}?{query}"
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        if call.stream:
            headers["Accept"] = "text/event-stream"
        config = call.provider.config
        return UpstreamRequest(
            url=url,
            headers=headers,
            body=prepared.body,
            route=route,
            timeout_s=seconds(config.get("read_timeout_s")) or self._timeout_s,
            connect_timeout_s=seconds(config.get("connect_timeout_s")),
            total_timeout_s=None if call.stream else seconds(config.get("total_timeout_s")),
        )
