"""The chat executor: one provider profile's upstream, reached over the shared transport.

The operation asked (a chat, counting tokens, embeddings) picks the profile's `Endpoint`; a
provider without one for it refuses the request (400). A client speaking the endpoint's own
format gets a byte passthrough (only the model name is spliced in when it differs; the client's
query string and the profile's forwarded headers go along); any other client format is
translated through the canonical model (chats only). Either way the body is prepared once per
client request, not once per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.codecs.json_splice import splice_model
from aigateway.adapters.upstream.exchange import PassthroughExchange, TranslatedExchange
from aigateway.adapters.upstream.profiles.base import Endpoint, ProviderProfile, seconds
from aigateway.application.errors import GatewayError, invalid_request
from aigateway.application.ports.upstream import (
    ChatCall,
    ChatExchange,
    PreparedChat,
    Upstream,
    UpstreamRequest,
)
from aigateway.domain.accounts import Account
from aigateway.domain.llm import ChatRequest, Operation, WireFormat
from aigateway.domain.proxies import Route

USER_AGENT = "aigateway/0.1"

_OPERATIONS = {
    Operation.CHAT: "chat",
    Operation.COUNT_TOKENS: "token counting",
    Operation.EMBEDDINGS: "embeddings",
}


def unserved(call: ChatCall) -> GatewayError:
    """The 400 for an operation the call's provider does not serve (for this client)."""
    return invalid_request(
        f"model {call.requested_model} is served by provider {call.provider.id} "
        f"(kind {call.provider.kind.value}), which has no {_OPERATIONS[call.operation]} API",
        param="model",
    )


def answer_codec(client: WireCodec, request: ChatRequest) -> WireCodec:
    """The client codec that renders the answers to `request`: a codec whose answers depend on
    what the request offered (`for_request`, e.g. Responses namespaces) is bound to it."""
    bind = getattr(client, "for_request", None)
    return client if bind is None else bind(request)


class EndpointPrepared(PreparedChat, frozen=True, kw_only=True):
    endpoint: Endpoint
    client: WireCodec | None = None  # renders the answers of a translated request


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
        self._timeout_s = timeout_s
        self.dialect = profile.dialect

    def prepare(self, call: ChatCall) -> PreparedChat:
        endpoint = self.profile.endpoint(call.provider, call.operation)
        if endpoint is None:
            raise unserved(call)
        upstream = endpoint.codec
        if call.client_format == upstream.format:
            body = call.body
            if call.model != call.requested_model:
                body = splice_model(body, call.model)
            return EndpointPrepared(call=call, body=body, translated=False, endpoint=endpoint)
        if call.operation is not Operation.CHAT:
            raise invalid_request(
                f"{_OPERATIONS[call.operation]} is not translated between formats",
                param="model",
            )
        client = self._codecs[call.client_format]
        request = client.decode_request(call.body)
        wants_usage = request.include_usage
        # the method or the body said whether to stream: the request streams as asked
        request = msgspec.structs.replace(
            request, model=call.model, stream=call.stream, include_usage=call.stream
        )
        return EndpointPrepared(
            call=call,
            body=upstream.encode_request(request),  # raises UnsupportedContent
            translated=True,
            include_usage=wants_usage,
            endpoint=endpoint,
            client=answer_codec(client, request),
        )

    async def open(
        self, prepared: PreparedChat, account: Account, secret: str, route: Route
    ) -> ChatExchange:
        assert isinstance(prepared, EndpointPrepared)
        call = prepared.call
        endpoint = prepared.endpoint
        client = self._codecs[call.client_format]
        response = await self._transport.open(self._request(prepared, account, secret, route))
        if not prepared.translated:
            return PassthroughExchange(
                response, client, endpoint.read_answer, endpoint.usage_scanner
            )
        return TranslatedExchange(
            response,
            endpoint.codec,
            prepared.client or client,
            client_model=call.requested_model,
            include_usage=prepared.include_usage,
        )

    def _request(
        self, prepared: EndpointPrepared, account: Account, secret: str, route: Route
    ) -> UpstreamRequest:
        call = prepared.call
        profile = self.profile
        headers = profile.auth_headers(call.provider, account, secret)
        url = prepared.endpoint.url
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
