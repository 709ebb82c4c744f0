"""The onboarding use case on its production code, with in-memory repositories and login
store, a scripted token endpoint, identity and discovery: how a login stays bound to whoever
started it, expires, finishes once, and reads what an operator pastes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from aigateway.adapters.memory.coordination import InMemoryRotation
from aigateway.adapters.memory.login_states import InMemoryLoginStates
from aigateway.application.ports.oauth import OAuthClient, TokenEndpointError, TokenGrant
from aigateway.application.ports.onboarding import DiscoveryFailed, FlowType, IdentityUnavailable
from aigateway.application.ports.unit_of_work import UnitOfWork
from aigateway.application.use_cases.admin_failures import AdminActionFailed
from aigateway.application.use_cases.onboarding import Onboarding
from aigateway.domain.accounts import Account
from aigateway.domain.pkce import challenge_of
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import NoRoute, Proxy, Route
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
    InMemoryProxyRepository,
    InMemoryUnitsOfWork,
)
from tests.doubles.routes import VIA
from tests.unit.chat_world import FakeClock

GOOGLE_REDIRECT = "http://localhost:8080/api/v1/oauth/callback"
CLAUDE_REDIRECT = "https://console.anthropic.com/oauth/code/callback"
ME, OTHER = "sha256:me", "sha256:someone-else"


def client(name: str, redirect_uri: str, client_id: str | None = "cid") -> OAuthClient:
    return OAuthClient(
        name=name,  # type: ignore[arg-type]
        client_id=client_id,
        client_secret="secret" if name == "google_oauth" else None,
        token_url="https://token.test",
        auth_url="https://auth.test/authorize",
        userinfo_url="https://userinfo.test" if name == "google_oauth" else None,
        redirect_uri=redirect_uri,
        scopes="a b",
        json_body=name == "anthropic_oauth",
    )


class Tokens:
    def __init__(self) -> None:
        self.exchanged: list[dict[str, Any]] = []
        self.refusal: TokenEndpointError | None = None
        self.email: str | None = None
        self.issued = 0

    async def exchange_code(self, client: OAuthClient, **fields: Any) -> TokenGrant:
        self.exchanged.append(fields)
        if self.refusal is not None:
            raise self.refusal
        self.issued += 1
        return TokenGrant(
            access_token=f"access-{self.issued}",
            refresh_token=f"refresh-{self.issued}",
            expires_at=fields["now"] + timedelta(hours=1),
            email=self.email,
        )

    async def refresh(
        self, client: OAuthClient, refresh_token: str, now: datetime, route: Route
    ) -> TokenGrant:
        raise AssertionError("not used by onboarding")


class Egress:
    """New accounts get the pool's one proxy; `none` says no proxy can take one; a known
    account leaves through `known` (its own proxy)."""

    def __init__(self, proxies: InMemoryProxyRepository) -> None:
        self.none = False
        self.proxies = proxies
        self.route: Route | None = None
        self.known = Route(99, VIA.endpoint)

    async def for_new_account(self, provider_id: str) -> tuple[int | None, Route | NoRoute]:
        if self.none:
            return None, NoRoute("every proxy is full")
        if self.route is None:
            assert VIA.endpoint is not None
            proxy = await self.proxies.add(Proxy(id=0, endpoint=VIA.endpoint))
            self.route = Route(proxy.id, proxy.endpoint)
        return self.route.proxy_id, self.route

    async def place(self, tx: UnitOfWork, provider_id: str, account_id: str) -> int | None:
        return (await self.for_new_account(provider_id))[0]

    def route_of(self, account: Account) -> Route | NoRoute:
        return self.known


class Identity:
    def __init__(self) -> None:
        self.email = "user@example.com"
        self.down = False
        self.routes: list[Route] = []

    async def email_of(self, userinfo_url: str, access_token: str, route: Route) -> str:
        self.routes.append(route)
        if self.down:
            raise IdentityUnavailable("userinfo endpoint answered 503")
        return self.email


class Discovery:
    def __init__(self) -> None:
        self.failure: str | None = None
        self.routes: list[Route] = []

    async def discover(self, provider: Provider, access_token: str, route: Route) -> str:
        self.routes.append(route)
        if self.failure:
            raise DiscoveryFailed(self.failure)
        return "proj-1"


class World:
    def __init__(self, *providers: Provider, client_id: str | None = "cid") -> None:
        self.clock = FakeClock()
        self.providers = InMemoryProviderRepository(
            providers
            or (
                Provider(id="antigravity", name="A", kind=ProviderKind.ANTIGRAVITY, base_url="x"),
                Provider(id="anthropic", name="C", kind=ProviderKind.ANTHROPIC, base_url="y"),
            )
        )
        self.accounts = InMemoryAccountRepository(self.providers)
        self.tokens = Tokens()
        self.identity = Identity()
        self.discovery = Discovery()
        self.rotation = InMemoryRotation()
        self.egress = Egress(InMemoryProxyRepository.of(self.accounts))

        async def changed() -> None:
            return None

        uow = InMemoryUnitsOfWork(
            self.providers, self.accounts, InMemoryClientKeyRepository(), changed
        )
        self.onboarding = Onboarding(
            {
                ProviderKind.ANTIGRAVITY: client("google_oauth", GOOGLE_REDIRECT, client_id),
                ProviderKind.ANTHROPIC: client("anthropic_oauth", CLAUDE_REDIRECT),
            },
            InMemoryLoginStates(self.clock),
            self.tokens,
            self.identity,
            self.discovery,
            self.providers,
            uow,
            self.clock,
            self.egress,
            self.rotation,
            random_bytes=lambda n: bytes(range(n)),
        )

    async def start(
        self, flow: FlowType = FlowType.AUTO, kind: ProviderKind = ProviderKind.ANTIGRAVITY
    ) -> tuple[str, dict[str, str]]:
        started = await self.onboarding.start(kind, flow, None, ME)
        query = {k: v[0] for k, v in parse_qs(urlsplit(started.auth_url).query).items()}
        return started.state, query


def redirected(state: str, code: str = "the-code", base: str = GOOGLE_REDIRECT) -> str:
    return base + "?" + urlencode({"code": code, "state": state})


async def refused(awaitable: Any, status: int, fragment: str) -> AdminActionFailed:
    with pytest.raises(AdminActionFailed) as failure:
        await awaitable
    assert failure.value.status == status, failure.value.message
    assert fragment in failure.value.message
    return failure.value


async def test_the_authorize_url_carries_the_challenge_of_the_stored_verifier() -> None:
    world = World()
    state, query = await world.start()
    await world.onboarding.finish_redirect("c", state, None)
    (exchange,) = world.tokens.exchanged
    assert challenge_of(exchange["verifier"]) == query["code_challenge"]
    assert exchange["redirect_uri"] == GOOGLE_REDIRECT == query["redirect_uri"]


async def test_claude_logins_ask_for_the_code_and_carry_no_google_parameters() -> None:
    world = World()
    _, query = await world.start(kind=ProviderKind.ANTHROPIC)
    assert query["code"] == "true"
    assert "access_type" not in query and "prompt" not in query
    assert query["code_challenge_method"] == "S256"


async def test_a_missing_client_id_names_the_setting() -> None:
    world = World(client_id=None)
    await refused(world.start(), 409, "AIGATEWAY_GOOGLE_OAUTH_CLIENT_ID")


async def test_the_provider_row_is_chosen_by_kind() -> None:
    two = World(
        Provider(id="ag-1", name="A", kind=ProviderKind.ANTIGRAVITY, base_url="x"),
        Provider(id="ag-2", name="B", kind=ProviderKind.ANTIGRAVITY, base_url="x"),
    )
    await refused(two.start(), 400, "several providers are of kind antigravity (ag-1, ag-2)")
    started = await two.onboarding.start(ProviderKind.ANTIGRAVITY, FlowType.AUTO, "ag-2", ME)
    account = await two.onboarding.finish_redirect("c", started.state, None)
    assert account.provider_id == "ag-2"
    await refused(
        two.onboarding.start(ProviderKind.ANTIGRAVITY, FlowType.AUTO, "nope", ME), 400, "'nope'"
    )
    none = World(Provider(id="c", name="C", kind=ProviderKind.ANTHROPIC, base_url="y"))
    await refused(none.start(), 409, "no provider of kind antigravity")


async def test_a_manual_login_is_finished_only_by_the_credential_that_started_it() -> None:
    world = World()
    state, _ = await world.start(FlowType.MANUAL)
    await refused(
        world.onboarding.finish_pasted(redirected(state), OTHER), 403, "another admin credential"
    )
    # the callback page (no credential) does not finish it either, and leaves it pending
    await refused(world.onboarding.finish_redirect("c", state, None), 400, "manual")
    account = await world.onboarding.finish_pasted(redirected(state), ME)
    assert account.label == "user@example.com"
    assert account.credential.data["project_id"] == "proj-1"


async def test_a_login_finishes_once_and_expires_after_ten_minutes() -> None:
    world = World()
    state, _ = await world.start()
    await world.onboarding.finish_redirect("c", state, None)
    await refused(world.onboarding.finish_redirect("c", state, None), 400, "already finished")
    late, _ = await world.start()
    world.clock.t += 601
    await refused(world.onboarding.finish_redirect("c", late, None), 400, "expired")
    assert len(world.tokens.exchanged) == 1


async def test_a_refused_login_ends_it_and_says_why() -> None:
    world = World()
    state, _ = await world.start()
    await refused(world.onboarding.finish_redirect(None, state, "access_denied"), 400, "access_d")
    await refused(world.onboarding.finish_redirect("c", state, None), 400, "already finished")
    assert world.tokens.exchanged == []


@pytest.mark.parametrize(
    ("pasted", "fragment"),
    [
        ("https://elsewhere.test/api/v1/oauth/callback?code=c&state={state}", "redirect URI"),
        ("http://localhost:8080/other?code=c&state={state}", "redirect URI"),
        ("http://localhost:8080/api/v1/oauth/callback?state={state}", "no code"),
        ("c#{state}", "whole URL"),  # the bare form is Claude's only
        ("ftp://localhost:8080/api/v1/oauth/callback?code=c&state={state}", "http(s)"),
        ("http://localhost:8080/api/v1/oauth/callback?code=c&state=unknown", "unknown"),
        ("x" * 5000, "1 to 4096 characters"),
    ],
)
async def test_pasted_urls_must_be_on_the_configured_redirect_uri(
    pasted: str, fragment: str
) -> None:
    world = World()
    state, _ = await world.start(FlowType.MANUAL)
    await refused(world.onboarding.finish_pasted(pasted.format(state=state), ME), 400, fragment)
    assert world.tokens.exchanged == []


@pytest.mark.parametrize(
    "pasted",
    [
        "the-code#{state}",  # what Claude's page shows
        CLAUDE_REDIRECT + "?code=the-code%23{state}&state={state}",
        CLAUDE_REDIRECT + "?code=the-code#{state}",
    ],
)
async def test_claudes_code_and_state_are_split(pasted: str) -> None:
    world = World()
    world.tokens.email = "claude@example.com"
    state, _ = await world.start(FlowType.MANUAL, ProviderKind.ANTHROPIC)
    account = await world.onboarding.finish_pasted(pasted.format(state=state), ME)
    assert account.label == "claude@example.com"
    assert "project_id" not in account.credential.data
    (exchange,) = world.tokens.exchanged
    assert exchange["code"] == "the-code" and exchange["state"] == state


async def test_the_same_email_replaces_the_credential_and_clears_its_cooldowns() -> None:
    from aigateway.domain.routing.eligibility import Cooldown

    world = World()
    state, _ = await world.start()
    first = await world.onboarding.finish_redirect("c", state, None)
    await world.rotation.cool_down(
        "antigravity",
        Cooldown(
            account_id=first.id,
            model=None,
            until=datetime(2099, 1, 1, tzinfo=UTC),
            reason="revoked",
        ),
    )
    world.identity.email = "USER@example.com"  # e-mails compare without case
    state, _ = await world.start()
    second = await world.onboarding.finish_redirect("c", state, None)
    assert second.id == first.id
    assert second.credential.data["refresh_token"] == "refresh-2"
    assert await world.rotation.cooldowns("antigravity", first.id, world.clock.now()) == []
    assert len(await world.accounts.list()) == 1


@pytest.mark.parametrize(
    ("breakage", "status", "code"),
    [
        ("refused", 400, "code_refused"),
        ("token_down", 502, "token_endpoint_unavailable"),
        ("userinfo_down", 502, "userinfo_unavailable"),
        ("discovery", 502, "project_discovery_failed"),
    ],
)
async def test_failures_are_clear_and_create_nothing(breakage: str, status: int, code: str) -> None:
    world = World()
    if breakage == "refused":
        world.tokens.refusal = TokenEndpointError(
            "google_oauth token endpoint answered 400", status=400
        )
    elif breakage == "token_down":
        world.tokens.refusal = TokenEndpointError("google_oauth token endpoint: refused")
    elif breakage == "userinfo_down":
        world.identity.down = True
    else:
        world.discovery.failure = "project discovery failed (HTTP 403)"
    state, _ = await world.start()
    failure = await refused(world.onboarding.finish_redirect("c", state, None), status, "")
    assert failure.code == code
    assert "access-" not in failure.message and "refresh-" not in failure.message
    assert await world.accounts.list() == []


async def test_the_login_leaves_through_the_proxy_the_new_account_gets() -> None:
    world = World()
    state, _ = await world.start()
    account = await world.onboarding.finish_redirect("c", state, None)
    route = world.egress.route
    assert route is not None and route.endpoint is not None
    (exchange,) = world.tokens.exchanged
    assert exchange["route"] == route  # the code exchange
    assert world.identity.routes == [route]  # the e-mail
    assert world.discovery.routes == [route]  # the Cloud Code project
    assert account.proxy_id == route.proxy_id


async def test_no_proxy_for_a_new_account_refuses_the_login_before_any_call() -> None:
    world = World()
    world.egress.none = True
    state, _ = await world.start()
    await refused(world.onboarding.finish_redirect("c", state, None), 503, "every proxy is full")
    assert world.tokens.exchanged == [] and world.identity.routes == []
    assert await world.accounts.list() == []


async def test_a_login_again_looks_up_the_project_through_the_accounts_own_proxy() -> None:
    world = World()
    state, _ = await world.start()
    first = await world.onboarding.finish_redirect("c", state, None)
    state, _ = await world.start()
    again = await world.onboarding.finish_redirect("c", state, None)
    assert again.id == first.id and again.proxy_id == first.proxy_id
    # the code exchange went out before the e-mail was known; the project lookup did not
    assert world.discovery.routes == [world.egress.route, world.egress.known]
