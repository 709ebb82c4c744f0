"""dishka providers of OAuth accounts: the OAuth client of each provider kind, access tokens
(cache, refresh lock, token endpoint, refresher, operator actions), and logins that add
accounts, with the Cloud Code projects and model reports of Antigravity accounts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from dishka import Provider, Scope, provide
from redis.asyncio import Redis

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.memory.login_states import InMemoryLoginStates
from aigateway.adapters.memory.tokens import InMemoryRefreshLock, InMemoryTokenCache
from aigateway.adapters.oauth.token_endpoint import HttpTokenEndpoint
from aigateway.adapters.oauth.userinfo import HttpUserInfo
from aigateway.adapters.redis.login_states import RedisLoginStates
from aigateway.adapters.redis.tokens import RedisRefreshLock, RedisTokenCache
from aigateway.adapters.upstream.cloud_code.available_models import CloudCodeModels
from aigateway.adapters.upstream.cloud_code.discovery import CloudCodeDiscovery
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import (
    Rotation,
)
from aigateway.application.ports.oauth import (
    OAuthClient,
    OAuthClientName,
    RefreshLock,
    TokenCache,
    TokenEndpoint,
)
from aigateway.application.ports.onboarding import LoginStates, ProjectDiscovery
from aigateway.application.ports.repositories import (
    AccountRepository,
    ProviderRepository,
)
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.ports.upstream import Upstream
from aigateway.application.use_cases.access_tokens import AccessTokens, RefreshTimings
from aigateway.application.use_cases.admin import (
    AccountDisabler,
)
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.egress import NewAccountRoutes
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.onboarding import Onboarding
from aigateway.application.use_cases.projects import AccountProjects
from aigateway.application.use_cases.token_upkeep import TokenAdmin, TokenRefresher
from aigateway.application.use_cases.upstream_models import AccountModels
from aigateway.domain.providers import ProviderKind
from aigateway.entrypoints.ioc.settings import (
    OAuthClientSettings,
    Settings,
)

OAuthClients = Mapping[ProviderKind, OAuthClient]


def oauth_clients(settings: Settings) -> OAuthClients:
    """The OAuth client that refreshes the tokens of each provider kind's OAuth accounts
    (OpenAI-kind accounts hold API keys only)."""

    def client(
        name: OAuthClientName, section: OAuthClientSettings, *, json_body: bool
    ) -> OAuthClient:
        return OAuthClient(
            name=name,
            client_id=section.client_id or None,
            client_secret=section.client_secret or None,
            token_url=section.token_url,
            auth_url=section.auth_url,
            userinfo_url=section.userinfo_url or None,
            redirect_uri=section.redirect_uri,
            scopes=section.scopes,
            json_body=json_body,
        )

    return {
        ProviderKind.ANTIGRAVITY: client("google_oauth", settings.google_oauth, json_body=False),
        ProviderKind.ANTHROPIC: client("anthropic_oauth", settings.anthropic_oauth, json_body=True),
    }


class OAuthProvider(Provider):
    """What an OAuth account's access token takes."""

    scope = Scope.APP

    @provide
    def token_cache(
        self, redis: Redis | None, cipher: CredentialCipher, clock: Clock
    ) -> TokenCache:
        if redis is None:
            return InMemoryTokenCache(clock)
        return RedisTokenCache(redis, cipher)

    @provide
    def refresh_lock(self, redis: Redis | None, clock: Clock) -> RefreshLock:
        if redis is None:
            return InMemoryRefreshLock(clock)
        return RedisRefreshLock(redis)

    @provide
    def oauth_clients(self, settings: Settings) -> OAuthClients:
        return oauth_clients(settings)

    @provide
    def token_endpoint(self, upstream: Upstream) -> TokenEndpoint:
        return HttpTokenEndpoint(upstream)

    @provide
    def access_tokens(
        self,
        clients: OAuthClients,
        endpoint: TokenEndpoint,
        cache: TokenCache,
        lock: RefreshLock,
        accounts: AccountRepository,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notices: OperatorNotices,
        catalog: CatalogCache,
        settings: Settings,
    ) -> AccessTokens:
        timings = RefreshTimings(
            skew=timedelta(seconds=settings.oauth.refresh_skew_s),
            lock=timedelta(seconds=settings.oauth.refresh_lock_s),
        )
        return AccessTokens(
            clients,
            endpoint,
            cache,
            lock,
            accounts,
            uow,
            clock,
            notices,
            catalog.route_for,
            timings,
        )

    @provide
    def token_refresher(
        self,
        tokens: AccessTokens,
        catalog: CatalogCache,
        clock: Clock,
        disabler: AccountDisabler,
        settings: Settings,
    ) -> TokenRefresher:
        return TokenRefresher(
            tokens,
            catalog,
            clock,
            disabler,
            ahead=timedelta(seconds=settings.oauth.refresh_ahead_s),
            interval_s=settings.oauth.refresh_interval_s,
        )

    @provide
    def token_admin(
        self,
        tokens: AccessTokens,
        accounts: AccountRepository,
        providers: ProviderRepository,
        disabler: AccountDisabler,
    ) -> TokenAdmin:
        return TokenAdmin(tokens, accounts, providers, disabler)


class OnboardingProvider(Provider):
    """OAuth logins that add accounts, Cloud Code projects, the models accounts report."""

    scope = Scope.APP

    @provide
    def login_states(self, redis: Redis | None, clock: Clock) -> LoginStates:
        return InMemoryLoginStates(clock) if redis is None else RedisLoginStates(redis)

    @provide
    def discovery(self, upstream: Upstream) -> ProjectDiscovery:
        return CloudCodeDiscovery(upstream)

    @provide
    def projects(self, discovery: ProjectDiscovery, uow: UnitOfWorkFactory) -> AccountProjects:
        return AccountProjects(discovery, uow)

    @provide
    def onboarding(
        self,
        clients: OAuthClients,
        states: LoginStates,
        tokens: TokenEndpoint,
        discovery: ProjectDiscovery,
        providers: ProviderRepository,
        uow: UnitOfWorkFactory,
        clock: Clock,
        rotation: Rotation,
        upstream: Upstream,
        egress: NewAccountRoutes,
    ) -> Onboarding:
        return Onboarding(
            clients,
            states,
            tokens,
            HttpUserInfo(upstream),
            discovery,
            providers,
            uow,
            clock,
            egress,
            rotation,
        )

    @provide
    def upstream_models(
        self,
        upstream: Upstream,
        projects: AccountProjects,
        tokens: AccessTokens,
        catalog: CatalogCache,
        accounts: AccountRepository,
        providers: ProviderRepository,
        clock: Clock,
    ) -> AccountModels:
        return AccountModels(
            CloudCodeModels(upstream),
            projects,
            tokens,
            catalog,
            accounts,
            providers,
            clock,
        )
