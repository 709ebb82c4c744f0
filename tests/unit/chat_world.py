"""A gateway hot path on in-memory adapters, the real executors and codecs, and a scripted
transport in place of the network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.anthropic_messages import AnthropicMessagesCodec
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.memory.coordination import (
    InMemoryConfigVersion,
    InMemoryRotation,
    NoStatsCounters,
)
from aigateway.adapters.memory.tokens import InMemoryRefreshLock, InMemoryTokenCache
from aigateway.adapters.upstream.executors import HttpChatExecutor
from aigateway.adapters.upstream.profiles.anthropic import AnthropicProfile
from aigateway.adapters.upstream.profiles.openai import OpenAIProfile
from aigateway.application.ports.oauth import OAuthClient, TokenEndpointError, TokenGrant
from aigateway.application.ports.upstream import ChatExecutor, UpstreamRequest, UpstreamUnavailable
from aigateway.application.use_cases.access_tokens import AccessTokens
from aigateway.application.use_cases.admin import (
    AccountsAdmin,
    CatalogAnnouncer,
    ClientKeysAdmin,
    NewAccount,
    NewClientKey,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.chat_request import InboundChat
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.proxy_chat import ProxyChat
from aigateway.application.use_cases.proxy_health import ProxyMonitor
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.accounts import Account
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.llm import WireFormat
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import HealthPolicy, Route
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
    InMemoryProxyRepository,
    InMemoryRequestLogSink,
    InMemoryUnitsOfWork,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def monotonic(self) -> float:
        return self.t


OK_BODY = (
    b'{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}'
)
STREAM = [
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"hi"}}]}\n\n',
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":5,"completion_tokens":6}}\n\n',
    b"data: [DONE]\n\n",
]


ANTHROPIC_OK = (
    b'{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":'
    b'[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"input_tokens":7,"output_tokens":8}}'
)
ANTHROPIC_STREAM = [
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":'
    b'"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,'
    b'"usage":{"input_tokens":7,"output_tokens":1}}}\n\n',
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"hello"}}\n\n',
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":8}}\n\n',
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
ANTHROPIC_OVERLOADED = (
    b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
)


class ScriptedResponse:
    """An upstream answer as the transport hands it over."""

    def __init__(self, status: int, body: bytes, chunks: list[bytes], headers: dict[str, str]):
        self.status = status
        self.content_type = "application/json"
        self.headers = headers
        self._body = body
        self._chunks = chunks
        self.fail_mid_stream = False
        self.closed = False

    async def read(self) -> bytes:
        return self._body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self.fail_mid_stream:
            raise UpstreamUnavailable("connection reset")

    async def close(self) -> None:
        self.closed = True


class ScriptedTransport:
    """Answers per account key: a status (with body and headers), "unreachable", "empty"
    (a stream with no chunk), or "error-in-200"; unscripted keys succeed."""

    def __init__(self) -> None:
        self.requests: list[UpstreamRequest] = []
        self.keys: list[str] = []
        self.status = 200
        self.unreachable = False
        self.fail_mid_stream = False
        self.responses: list[ScriptedResponse] = []
        self.dead_proxies: set[int] = set()  # calls through these proxies cannot connect
        self.probes: list[Route] = []
        self.kept: list[list[Route]] = []  # the routes of each `retire`
        self.script: dict[str, str | list[bytes] | tuple[int, bytes, dict[str, str]]] = {}
        # runs while a request is with the upstream, before its answer (e.g. an admin write)
        self.before_answer: Callable[[UpstreamRequest], Awaitable[None]] | None = None

    async def open(self, request: UpstreamRequest) -> ScriptedResponse:
        self.requests.append(request)
        if self.before_answer is not None:
            await self.before_answer(request)
        key = request.headers.get("x-api-key") or request.headers["Authorization"][7:]
        self.keys.append(key)
        if request.route.proxy_id in self.dead_proxies:
            raise UpstreamUnavailable("cannot reach proxy", NetworkErrorKind.PROXY)
        plan = self.script.get(key)
        if self.unreachable or plan == "unreachable":
            raise UpstreamUnavailable("cannot connect", NetworkErrorKind.CONNECT)
        if plan == "timeout":
            raise UpstreamUnavailable("upstream timed out", NetworkErrorKind.TIMEOUT)
        anthropic = request.url.startswith("http://claude/")
        status, headers = self.status, dict[str, str]()
        body = b'{"error":{"message":"bad key %s"}}' % key.encode()
        if status < 400:
            body = ANTHROPIC_OK if anthropic else OK_BODY
        chunks = list(ANTHROPIC_STREAM if anthropic else STREAM)
        if isinstance(plan, tuple):
            status, body, headers = plan
        elif isinstance(plan, list):
            chunks = plan
        elif plan == "empty":
            chunks = []
        elif plan == "error-in-200" and anthropic:
            body = ANTHROPIC_OVERLOADED
            chunks = [b"event: error\ndata: %s\n\n" % ANTHROPIC_OVERLOADED]
        elif plan == "error-in-200":
            body = b'{"error":{"message":"overloaded"}}'
            chunks = [b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n']
        response = ScriptedResponse(status, body, chunks, headers)
        response.fail_mid_stream = self.fail_mid_stream
        self.responses.append(response)
        return response

    async def probe(self, route: Route, url: str, timeout_s: float) -> int:
        self.probes.append(route)
        if route.proxy_id in self.dead_proxies:
            raise UpstreamUnavailable("cannot reach proxy", NetworkErrorKind.PROXY)
        return 204

    async def retire(self, keep: Collection[Route]) -> None:
        self.kept.append(list(keep))

    async def aclose(self) -> None:
        pass


class ScriptedTokenEndpoint:
    """A token endpoint that answers `at-fresh-<n>` valid for `expires_in` seconds; `error`
    makes every call fail; `gate`, when set, holds each call until it is set; `rotate` answers
    a new refresh token each time."""

    def __init__(self) -> None:
        self.calls: list[str] = []  # the refresh tokens used
        self.routes: list[Route] = []  # the route of each call
        self.error: TokenEndpointError | None = None
        self.gate: asyncio.Event | None = None
        self.rotate = False
        self.expires_in = 3600.0

    async def refresh(
        self, client: OAuthClient, refresh_token: str, now: datetime, route: Route
    ) -> TokenGrant:
        self.calls.append(refresh_token)
        self.routes.append(route)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        n = len(self.calls)
        return TokenGrant(
            access_token=f"at-fresh-{n}",
            refresh_token=f"rt-rotated-{n}" if self.rotate else None,
            expires_at=now + timedelta(seconds=self.expires_in),
        )

    async def exchange_code(
        self,
        client: OAuthClient,
        *,
        code: str,
        verifier: str,
        redirect_uri: str,
        state: str | None,
        now: datetime,
        route: Route,
    ) -> TokenGrant:
        raise TokenEndpointError("not scripted", status=400)


ANTHROPIC_CLIENT = OAuthClient(
    name="anthropic_oauth",
    client_id="client-1",
    client_secret=None,
    token_url="http://oauth/token",
    auth_url="http://oauth/authorize",
    userinfo_url=None,
    redirect_uri="http://localhost/cb",
    scopes="user:inference",
    json_body=True,
)


class World:
    def __init__(self, oauth_client: OAuthClient | None = ANTHROPIC_CLIENT) -> None:
        self.clock = FakeClock()
        self.providers = InMemoryProviderRepository(
            [
                Provider(
                    id="openai",
                    name="OpenAI",
                    kind=ProviderKind.OPENAI,
                    base_url="http://up/v1",
                    models=("gpt-*",),
                ),
                Provider(
                    id="anthropic",
                    name="Anthropic",
                    kind=ProviderKind.ANTHROPIC,
                    base_url="http://claude",
                    models=("claude-*",),
                ),
            ]
        )
        self.accounts = InMemoryAccountRepository(self.providers)
        self.proxies = InMemoryProxyRepository(self.accounts)
        self.keys = InMemoryClientKeyRepository()
        self.sink = InMemoryRequestLogSink()
        self.catalog = CatalogCache(
            self.providers,
            self.accounts,
            self.keys,
            InMemoryConfigVersion(),
            self.clock,
            proxies=self.proxies,
        )
        self.uow = InMemoryUnitsOfWork(
            self.providers, self.accounts, self.keys, CatalogAnnouncer(self.catalog)
        )
        self.logs = RequestLogQueue(self.sink, NoStatsCounters(), self.accounts, self.keys)
        self.upstream = ScriptedTransport()
        codecs = {c.format: c for c in (OpenAIChatCodec(), AnthropicMessagesCodec())}
        executors: dict[ProviderKind, ChatExecutor] = {
            profile.kind: HttpChatExecutor(self.upstream, profile, codecs)
            for profile in (OpenAIProfile(), AnthropicProfile())
        }
        self.rotation = InMemoryRotation()
        self.notices = OperatorNotices()
        self.token_endpoint = ScriptedTokenEndpoint()
        self.token_cache = InMemoryTokenCache(self.clock)
        clients = {} if oauth_client is None else {ProviderKind.ANTHROPIC: oauth_client}
        self.tokens = AccessTokens(
            clients,
            self.token_endpoint,
            self.token_cache,
            InMemoryRefreshLock(self.clock),
            self.accounts,
            self.uow,
            self.clock,
            self.notices,
            self.catalog.route_for,
        )
        self.disabled: list[tuple[Account, str]] = []
        self.monitor = ProxyMonitor(
            self.catalog,
            self.uow,
            self.upstream,
            self.clock,
            self.notices,
            policy=HealthPolicy(failure_threshold=3, recovery=timedelta(minutes=5)),
            check_url="http://check.example/204",
            check_timeout_s=5,
            interval_s=60,
        )
        self.proxy = ProxyChat(
            self.catalog,
            self.rotation,
            executors,
            self.logs,
            self.clock,
            disable_account=lambda account, reason: self.disabled.append((account, reason)),
            access_tokens=self.tokens,
            proxy_health=self.monitor,
        )

    async def add_accounts(self, *keys: str, provider_id: str = "openai") -> None:
        admin = AccountsAdmin(self.accounts, self.uow, self.clock)
        for key in keys:
            await admin.create(NewAccount(provider_id=provider_id, auth_data={"api_key": key}))

    async def add_oauth_account(
        self, access: str, refresh: str | None, expires_at: datetime, label: str = ""
    ) -> Account:
        admin = AccountsAdmin(self.accounts, self.uow, self.clock)
        auth_data = {"access_token": access, "expires_at": expires_at.isoformat()}
        if refresh is not None:
            auth_data["refresh_token"] = refresh
        return await admin.create(
            NewAccount(provider_id="anthropic", auth_data=auth_data, label=label)
        )

    async def client(self) -> str:
        issued = await ClientKeysAdmin(self.keys, self.uow, self.clock).create(NewClientKey())
        return issued.plaintext


def chat(
    model: str = "gpt-4o",
    stream: bool = False,
    *,
    format: WireFormat = openai_chat.FORMAT,
    content: str = '"hi"',
    **fields: Any,
) -> InboundChat:
    """A client request in `format`, with one user message whose content is `content` (JSON)."""
    head = b'"max_tokens":64,' if format == anthropic_messages.FORMAT else b""
    body = b'{"model":"%s","stream":%s,%s"messages":[{"role":"user","content":%s}]}' % (
        model.encode(),
        b"true" if stream else b"false",
        head,
        content.encode(),
    )
    return InboundChat(model=model, stream=stream, body=body, format=format, **fields)


def used_keys(world: World) -> list[str]:
    return world.upstream.keys
