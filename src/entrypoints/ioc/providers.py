"""dishka providers: the one place where ports meet their adapters.

Everything the hot path uses is APP-scoped and resolved once at start-up (a per-request DI
scope costs measurable throughput, see docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from functools import partial

from dishka import Provider, Scope, from_context, provide
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.clock import SystemClock
from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.memory.coordination import (
    InMemoryConfigVersion,
    InMemoryRotation,
    NoStatsCounters,
    StaticPinger,
)
from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.persistence.engine import SqlPinger, create_engine
from aigateway.adapters.persistence.proxies import SqlProxyRepository
from aigateway.adapters.persistence.repositories import (
    SqlAccountRepository,
    SqlClientKeyRepository,
    SqlProviderRepository,
    SqlSettingsStore,
)
from aigateway.adapters.persistence.request_logs import SqlRequestLogSink
from aigateway.adapters.persistence.unit_of_work import SqlUnitOfWork
from aigateway.adapters.redis.client import RedisPinger, create_redis
from aigateway.adapters.redis.coordination import (
    RedisConfigVersion,
    RedisRotation,
    RedisStatsCounters,
)
from aigateway.adapters.redis.fallback import (
    CircuitBreaker,
    FallbackConfigVersion,
    FallbackRotation,
    FallbackSignatures,
    FallbackStatsCounters,
)
from aigateway.adapters.redis.pipelined import PipelinedRedis
from aigateway.adapters.redis.signatures import RedisSignatures
from aigateway.adapters.token_estimate import CharacterEstimator
from aigateway.adapters.upstream.aiohttp_transport import AiohttpUpstream
from aigateway.adapters.upstream.cloud_code.executor import CloudCodeExecutor
from aigateway.adapters.upstream.executors import HttpChatExecutor
from aigateway.adapters.upstream.profiles.anthropic import AnthropicProfile
from aigateway.adapters.upstream.profiles.antigravity import AntigravityProfile
from aigateway.adapters.upstream.profiles.base import ProfileConfigRules, ProviderProfile
from aigateway.adapters.upstream.profiles.openai import OpenAIProfile
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import (
    ConfigVersion,
    Pinger,
    RequestLogSink,
    Rotation,
    StatsCounters,
)
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    ProviderRepository,
    ProxyRepository,
    SettingsStore,
)
from aigateway.application.ports.signatures import ThoughtSignatures
from aigateway.application.ports.token_estimate import TokenEstimator
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.ports.upstream import ChatExecutor, Upstream
from aigateway.application.use_cases.access_tokens import AccessTokens
from aigateway.application.use_cases.admin import (
    AccountDisabler,
    AccountsAdmin,
    CatalogAnnouncer,
    ClientKeysAdmin,
    ProvidersAdmin,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.chat_request import RetryBudget
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.projects import AccountProjects
from aigateway.application.use_cases.proxy_chat import ProxyChat
from aigateway.application.use_cases.proxy_health import ProxyMonitor
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.application.use_cases.token_counting import TokenCounting
from aigateway.application.use_cases.upstream_models import AccountModels
from aigateway.domain.llm import WireFormat
from aigateway.domain.providers import ProviderKind
from aigateway.entrypoints.http.formats import anthropic_count_tokens, openai_embeddings
from aigateway.entrypoints.http.formats import anthropic_messages as anthropic_format
from aigateway.entrypoints.http.formats import gemini as gemini_format
from aigateway.entrypoints.http.formats import openai_chat as openai_chat_format
from aigateway.entrypoints.http.formats.spec import ClientFormat
from aigateway.entrypoints.ioc.oauth import OAuthProvider, OnboardingProvider
from aigateway.entrypoints.ioc.proxies import ProxiesProvider
from aigateway.entrypoints.ioc.settings import (
    Settings,
    resolve_secret_key,
)

Executors = Mapping[ProviderKind, ChatExecutor]
Codecs = Mapping[WireFormat, WireCodec]

# The provider kinds this gateway speaks to, and the wire formats clients may speak to it:
# one line each. Every codec either side needs comes from these two lists.
ANTIGRAVITY = AntigravityProfile()
PROFILES: tuple[ProviderProfile, ...] = (OpenAIProfile(), AnthropicProfile(), ANTIGRAVITY)
CLIENT_FORMATS: tuple[ClientFormat, ...] = (
    openai_chat_format.SPEC,
    anthropic_format.SPEC,
    *gemini_format.SPECS,
    anthropic_count_tokens.SPEC,
    openai_embeddings.SPEC,
)
# the kinds whose API counts a request's tokens; any other provider's count is estimated
COUNTED_UPSTREAM = frozenset({ProviderKind.ANTHROPIC, ProviderKind.ANTIGRAVITY})
CODECS: tuple[WireCodec, ...] = tuple(
    {
        c.format: c for c in (*(f.codec for f in CLIENT_FORMATS), *(p.codec for p in PROFILES))
    }.values()
)


class HealthChecks:
    """The dependencies /health reports on."""

    def __init__(self, *pingers: Pinger) -> None:
        self.pingers = pingers


class InfrastructureProvider(Provider):
    scope = Scope.APP
    settings = from_context(provides=Settings)

    @provide
    async def engine(self, settings: Settings) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(settings.database.url)
        yield engine
        await engine.dispose()

    @provide
    async def redis(self, settings: Settings) -> AsyncIterator[Redis | None]:
        if settings.redis.url is None:
            yield None
            return
        client = create_redis(settings.redis.url)
        yield client
        await client.aclose()

    @provide
    def cipher(self, settings: Settings) -> CredentialCipher:
        secret, _ = resolve_secret_key(settings)
        return CredentialCipher(secret)

    @provide
    def clock(self) -> Clock:
        return SystemClock()

    @provide
    async def upstream(self, settings: Settings) -> AsyncIterator[Upstream]:
        upstream = AiohttpUpstream(
            connect_timeout_s=settings.upstream.connect_timeout_s,
            proxy_pool_size=settings.proxy.pool_size,
        )
        yield upstream
        await upstream.aclose()


class PersistenceProvider(Provider):
    scope = Scope.APP

    @provide
    def providers(self, engine: AsyncEngine) -> ProviderRepository:
        return SqlProviderRepository(engine)

    @provide
    def accounts(self, engine: AsyncEngine, cipher: CredentialCipher) -> AccountRepository:
        return SqlAccountRepository(engine, cipher)

    @provide
    def keys(self, engine: AsyncEngine) -> ClientKeyRepository:
        return SqlClientKeyRepository(engine)

    @provide
    def proxies(self, engine: AsyncEngine, cipher: CredentialCipher) -> ProxyRepository:
        return SqlProxyRepository(engine, cipher)

    @provide
    def settings_store(self, engine: AsyncEngine) -> SettingsStore:
        return SqlSettingsStore(engine)

    @provide
    def log_sink(self, engine: AsyncEngine) -> RequestLogSink:
        return SqlRequestLogSink(engine)


class CoordinationProvider(Provider):
    """Redis when configured; otherwise in-process stores (valid for a single process)."""

    scope = Scope.APP

    @provide
    def breaker(self) -> CircuitBreaker:
        return CircuitBreaker()

    @provide
    async def hot_path_redis(self, settings: Settings) -> AsyncIterator[PipelinedRedis | None]:
        if settings.redis.url is None:
            yield None
            return
        connection = PipelinedRedis(settings.redis.url)
        yield connection
        connection.close()

    @provide
    def rotation(
        self, hot: PipelinedRedis | None, redis: Redis | None, breaker: CircuitBreaker
    ) -> Rotation:
        if hot is None or redis is None:
            return InMemoryRotation()
        return FallbackRotation(RedisRotation(hot, redis), breaker)

    @provide
    def version(self, redis: Redis | None, breaker: CircuitBreaker) -> ConfigVersion:
        if redis is None:
            return InMemoryConfigVersion()
        return FallbackConfigVersion(RedisConfigVersion(redis), breaker)

    @provide
    def stats(self, redis: Redis | None, breaker: CircuitBreaker) -> StatsCounters:
        if redis is None:
            return NoStatsCounters()
        return FallbackStatsCounters(RedisStatsCounters(redis), breaker)

    @provide
    def signatures(self, hot: PipelinedRedis | None, breaker: CircuitBreaker) -> ThoughtSignatures:
        if hot is None:
            return InMemorySignatures()
        return FallbackSignatures(RedisSignatures(hot), breaker)

    @provide
    def health_checks(self, engine: AsyncEngine, redis: Redis | None) -> HealthChecks:
        redis_check = RedisPinger(redis) if redis is not None else StaticPinger("redis", ok=True)
        return HealthChecks(SqlPinger(engine), redis_check)


class ApplicationProvider(Provider):
    scope = Scope.APP

    @provide
    def codecs(self) -> Codecs:
        return {codec.format: codec for codec in CODECS}

    @provide
    def executors(
        self,
        upstream: Upstream,
        codecs: Codecs,
        settings: Settings,
        projects: AccountProjects,
        signatures: ThoughtSignatures,
        models: AccountModels,
    ) -> Executors:
        timeout = settings.upstream.timeout_s
        executors: dict[ProviderKind, ChatExecutor] = {
            profile.kind: HttpChatExecutor(upstream, profile, codecs, timeout_s=timeout)
            for profile in PROFILES
            if profile is not ANTIGRAVITY
        }
        executors[ANTIGRAVITY.kind] = CloudCodeExecutor(
            upstream,
            ANTIGRAVITY,
            codecs,
            projects=projects,
            signatures=signatures,
            listing=models,
            timeout_s=timeout,
        )
        return executors

    @provide
    def catalog(
        self,
        providers: ProviderRepository,
        accounts: AccountRepository,
        keys: ClientKeyRepository,
        proxies: ProxyRepository,
        version: ConfigVersion,
        clock: Clock,
        settings: Settings,
    ) -> CatalogCache:
        return CatalogCache(
            providers,
            accounts,
            keys,
            version,
            clock,
            ttl_s=settings.catalog.ttl_s,
            watch_interval_s=settings.catalog.watch_interval_s,
            proxies=proxies,
            egress=settings.proxy.direct_egress,
        )

    @provide
    def log_queue(
        self,
        sink: RequestLogSink,
        stats: StatsCounters,
        accounts: AccountRepository,
        keys: ClientKeyRepository,
        settings: Settings,
    ) -> RequestLogQueue:
        return RequestLogQueue(
            sink,
            stats,
            accounts,
            keys,
            max_pending=settings.request_log.max_pending,
            batch_size=settings.request_log.batch_size,
            flush_interval_s=settings.request_log.flush_interval_s,
        )

    @provide
    def notices(self) -> OperatorNotices:
        return OperatorNotices()

    @provide
    def disabler(self, accounts: AccountsAdmin) -> AccountDisabler:
        return AccountDisabler(accounts)

    @provide
    def proxy_chat(
        self,
        catalog: CatalogCache,
        rotation: Rotation,
        executors: Executors,
        logs: RequestLogQueue,
        clock: Clock,
        disabler: AccountDisabler,
        tokens: AccessTokens,
        notices: OperatorNotices,
        monitor: ProxyMonitor,
        settings: Settings,
    ) -> ProxyChat:
        return ProxyChat(
            catalog,
            rotation,
            executors,
            logs,
            clock,
            budget=RetryBudget(settings.retry.max_attempts, settings.retry.deadline_s),
            disable_account=disabler,
            access_tokens=tokens,
            notices=notices,
            proxy_health=monitor,
        )

    @provide
    def token_estimator(self, codecs: Codecs) -> TokenEstimator:
        return CharacterEstimator(codecs)

    @provide
    def token_counting(
        self,
        catalog: CatalogCache,
        proxy: ProxyChat,
        estimator: TokenEstimator,
        logs: RequestLogQueue,
        clock: Clock,
    ) -> TokenCounting:
        return TokenCounting(
            catalog, proxy, estimator, logs, clock, counted_upstream=COUNTED_UPSTREAM
        )

    @provide
    def unit_of_work(
        self, engine: AsyncEngine, cipher: CredentialCipher, catalog: CatalogCache
    ) -> UnitOfWorkFactory:
        return partial(SqlUnitOfWork, engine, cipher, CatalogAnnouncer(catalog))

    @provide
    def providers_admin(
        self, repo: ProviderRepository, uow: UnitOfWorkFactory, clock: Clock
    ) -> ProvidersAdmin:
        return ProvidersAdmin(repo, uow, clock, ProfileConfigRules(PROFILES))

    @provide
    def accounts_admin(
        self, repo: AccountRepository, uow: UnitOfWorkFactory, clock: Clock, rotation: Rotation
    ) -> AccountsAdmin:
        return AccountsAdmin(repo, uow, clock, rotation)

    @provide
    def keys_admin(
        self, repo: ClientKeyRepository, uow: UnitOfWorkFactory, clock: Clock
    ) -> ClientKeysAdmin:
        return ClientKeysAdmin(repo, uow, clock)


def production_providers() -> list[Provider]:
    return [
        InfrastructureProvider(),
        PersistenceProvider(),
        CoordinationProvider(),
        ApplicationProvider(),
        OAuthProvider(),
        OnboardingProvider(),
        ProxiesProvider(),
    ]
