"""`CloudCodeExecutor`: chat and token counting through Antigravity's Cloud Code backend.

`prepare` (once per client request) makes the inner Gemini request: a Gemini client's body is
relayed (`relayed_request`, the answers unwrapped by `relay.RelayExchange`), any other client's
is translated (`request.inner_request`, the answers by `exchange.CloudCodeExchange`). `open`
(once per attempt) wraps it in the envelope with the account's project and a fresh request id,
and posts it to the provider's endpoints in order, moving to the next on a network error, 404,
408, 429 or 5xx (the last endpoint's answer is the attempt's). Claude and thinking models are
always asked on the stream method. A translated Gemini request replaying calls without their
signatures is finished in its first attempt, once the signature store has answered
(`request.Replay`).

An Anthropic `count_tokens` call goes to `countTokens`, without the envelope (`counting`).
Embeddings are not served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from aigateway.adapters.codecs import anthropic_messages
from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.upstream.cloud_code.answers import AnswerView
from aigateway.adapters.upstream.cloud_code.counting import COUNT, CountExchange, count_request
from aigateway.adapters.upstream.cloud_code.envelope import new_request_id, wrap
from aigateway.adapters.upstream.cloud_code.exchange import CloudCodeExchange
from aigateway.adapters.upstream.cloud_code.relay import RelayExchange
from aigateway.adapters.upstream.cloud_code.relayed_request import relayed_request
from aigateway.adapters.upstream.cloud_code.request import (
    CLAUDE,
    Replay,
    family,
    inner_request,
    streams_upstream,
)
from aigateway.adapters.upstream.cloud_code.tools import ToolNames
from aigateway.adapters.upstream.cloud_code.unwrap import ClaudeCalls
from aigateway.adapters.upstream.executors import answer_codec, unserved
from aigateway.adapters.upstream.profiles.antigravity import AntigravityProfile
from aigateway.adapters.upstream.profiles.base import seconds
from aigateway.application.ports.signatures import ThoughtSignatures
from aigateway.application.ports.upstream import (
    ChatCall,
    ChatExchange,
    PreparedChat,
    Upstream,
    UpstreamRequest,
    UpstreamResponse,
    UpstreamUnavailable,
)
from aigateway.application.ports.upstream_models import ModelListing
from aigateway.domain.accounts import Account
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.llm import ChatRequest, Operation, WireFormat
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route

GENERATE = "/v1internal:generateContent"
STREAM = "/v1internal:streamGenerateContent?alt=sse"


def _moves_on(status: int) -> bool:
    """An endpoint's answer that sends the attempt to the next endpoint."""
    return status in (404, 408, 429) or status >= 500


class ProjectSource(Protocol):
    """The Cloud Code project an account's requests are billed to."""

    async def project_for(
        self, account: Account, provider: Provider, secret: str, route: Route
    ) -> str:
        """The project id; raises `UpstreamUnavailable` (a failed attempt, with a message for
        the operator) when there is none."""
        ...


class CloudCodePrepared(PreparedChat, frozen=True, kw_only=True):
    """`body` is the inner request (b"" while `replay` holds it; a countTokens body for a
    count); `translated` False: a Gemini client's request, relayed. The rest is what every
    attempt and answer needs."""

    upstream_model: str
    upstream_stream: bool
    names: ToolNames
    schemas: dict[str, Any]
    replay: Replay | None = None
    client: WireCodec | None = None  # renders the answers of a translated chat


class CloudCodeExecutor:
    def __init__(
        self,
        transport: Upstream,
        profile: AntigravityProfile,
        codecs: Mapping[WireFormat, WireCodec],
        *,
        projects: ProjectSource,
        signatures: ThoughtSignatures,
        listing: ModelListing,
        timeout_s: float = 600.0,
    ) -> None:
        self._transport = transport
        self.profile = profile
        self._codecs = codecs
        self._projects = projects
        self._signatures = signatures
        self._listing = listing
        self._timeout_s = timeout_s
        self.dialect = profile.dialect

    def prepare(self, call: ChatCall) -> CloudCodePrepared:
        if call.operation is Operation.COUNT_TOKENS:
            return self._prepare_count(call)
        if call.operation is not Operation.CHAT:
            raise unserved(call)
        profile = self.profile
        provider = call.provider
        upstream_model = profile.model_map(provider).get(call.model, call.model)
        cap = profile.max_output_tokens(provider, family(upstream_model))
        if call.client_format == profile.codec.format:
            relayed = relayed_request(call.body, upstream_model, max_output_tokens=cap)
            return CloudCodePrepared(
                call=call,
                body=relayed.body,
                translated=False,
                upstream_model=upstream_model,
                upstream_stream=call.stream
                or streams_upstream(upstream_model, thinking=relayed.thinking),
                names=relayed.names,
                schemas=relayed.schemas,
            )
        client = self._codecs[call.client_format]
        request = client.decode_request(call.body)
        inner = inner_request(profile.codec, request, upstream_model, max_output_tokens=cap)
        return CloudCodePrepared(
            call=call,
            body=inner.body,
            translated=True,
            include_usage=request.include_usage,
            upstream_model=upstream_model,
            upstream_stream=call.stream
            or streams_upstream(upstream_model, thinking=_thinks(request)),
            names=inner.names,
            schemas=inner.schemas,
            replay=inner.replay,
            client=answer_codec(client, request),
        )

    def _prepare_count(self, call: ChatCall) -> CloudCodePrepared:
        if call.client_format != anthropic_messages.FORMAT:
            raise unserved(call)
        upstream_model = self.profile.model_map(call.provider).get(call.model, call.model)
        client = self._codecs[call.client_format]
        return CloudCodePrepared(
            call=call,
            body=count_request(client, self.profile.codec, call.body, upstream_model),
            translated=True,
            upstream_model=upstream_model,
            upstream_stream=False,
            names=ToolNames(),
            schemas={},
        )

    async def open(
        self, prepared: PreparedChat, account: Account, secret: str, route: Route
    ) -> ChatExchange:
        assert isinstance(prepared, CloudCodePrepared)
        call = prepared.call
        provider = call.provider
        client = self._codecs[call.client_format]
        if call.operation is Operation.COUNT_TOKENS:
            response, _ = await self._send(prepared, account, secret, prepared.body, route)
            return CountExchange(response, self.profile.codec, client)
        project = await self._projects.project_for(account, provider, secret, route)
        inner = prepared.body
        if prepared.replay is not None:
            inner = await prepared.replay.body(self._signatures)
        body = wrap(
            inner,
            project=project,
            model=prepared.upstream_model,
            request_id=new_request_id(),
        )
        response, request = await self._send(prepared, account, secret, body, route)

        async def reopen() -> UpstreamResponse:
            return await self._transport.open(request)

        model = prepared.upstream_model
        claude = family(model) == CLAUDE
        known = model in self.profile.model_map(provider).values() or self._listing.lists(
            account.id, model
        )
        if not prepared.translated:
            return RelayExchange(
                response,
                calls=ClaudeCalls(prepared.names, prepared.schemas) if claude else None,
                upstream_stream=prepared.upstream_stream and not call.stream,
                model_known=known,
                reopen=reopen,
            )
        return CloudCodeExchange(
            response,
            self.profile.codec,
            AnswerView(prepared.names, prepared.schemas, claude=claude),
            prepared.client or client,
            signatures=self._signatures,
            client_model=call.requested_model,
            include_usage=prepared.include_usage,
            upstream_stream=prepared.upstream_stream and not call.stream,
            model_known=known,
            reopen=reopen,
        )

    async def _send(
        self,
        prepared: CloudCodePrepared,
        account: Account,
        secret: str,
        body: bytes,
        route: Route,
    ) -> tuple[UpstreamResponse, UpstreamRequest]:
        """The first endpoint's answer that does not move on, else the last one's."""
        provider = prepared.call.provider
        urls = self.profile.base_urls(provider)
        template = self._request(prepared, account, secret, body, route)
        method = STREAM if prepared.upstream_stream else GENERATE
        if prepared.call.operation is Operation.COUNT_TOKENS:
            method = COUNT
        for position, base in enumerate(urls):
            last = position == len(urls) - 1
            request = msgspec.structs.replace(template, url=base + method)
            try:
                response = await self._transport.open(request)
            except UpstreamUnavailable as exc:
                if last or exc.kind is NetworkErrorKind.PROXY:  # the next endpoint, same proxy
                    raise
                continue
            if last or not _moves_on(response.status):
                return response, request
            await response.close()
        raise UpstreamUnavailable("antigravity provider has no endpoint: set its base_url")

    def _request(
        self,
        prepared: CloudCodePrepared,
        account: Account,
        secret: str,
        body: bytes,
        route: Route,
    ) -> UpstreamRequest:
        provider = prepared.call.provider
        headers = self.profile.auth_headers(provider, account, secret)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = self.profile.user_agent(provider)
        if prepared.upstream_stream:
            headers["Accept"] = "text/event-stream"
        config = provider.config
        return UpstreamRequest(
            url="",
            headers=headers,
            body=body,
            route=route,
            timeout_s=seconds(config.get("read_timeout_s")) or self._timeout_s,
            connect_timeout_s=seconds(config.get("connect_timeout_s")),
            total_timeout_s=(
                None if prepared.upstream_stream else seconds(config.get("total_timeout_s"))
            ),
        )


def _thinks(request: ChatRequest) -> bool:
    return request.thinking is not None and request.thinking.enabled
