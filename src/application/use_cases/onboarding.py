"""Adding an OAuth account by logging in: Google for `antigravity` providers, Claude for
`anthropic` ones (PKCE S256 both).

`start` stores a pending login under a fresh `state` (10 minutes, taken once) bound to the
fingerprint of the admin credential that started it, and answers the authorize URL. The login
is finished by the redirect back to the gateway (`finish_redirect`, the `auto` flow) or by the
operator pasting the URL the browser ended on (`finish_pasted`, the `manual` flow):

- The callback page is reached by a browser without the admin key, so for an `auto` login
  the state itself is the bearer secret: 256 random bits, handed only to the initiator (in the
  authorize URL) and to the provider, valid 10 minutes, usable once.
- A `manual` login is finished only with the admin credential that started it; the callback
  page does not finish it (it says where to paste the URL) and leaves it pending.
- Only the configured redirect URI is used: the client cannot choose it, and a pasted URL must
  be on it.

Finishing exchanges the code, finds the account's e-mail (Google's userinfo; Anthropic's token
answer), discovers the Cloud Code project (antigravity), then in one unit of work creates the
account (label = e-mail) or, when the provider already has an account with that e-mail,
replaces its credential (same id; cooldowns of the old credential cleared).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import Rotation
from aigateway.application.ports.oauth import (
    OAuthClient,
    TokenEndpoint,
    TokenEndpointError,
    TokenGrant,
)
from aigateway.application.ports.onboarding import (
    DiscoveryFailed,
    FlowType,
    Identity,
    IdentityUnavailable,
    LoginStates,
    PendingLogin,
    ProjectDiscovery,
)
from aigateway.application.ports.repositories import ProviderRepository
from aigateway.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from aigateway.application.ports.upstream import UpstreamUnavailable
from aigateway.application.use_cases.admin_failures import AdminActionFailed
from aigateway.domain.accounts import Account, AuthType, Credential
from aigateway.domain.pkce import challenge_of, verifier_from
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import NoRoute, Route

LOGIN_TTL = timedelta(minutes=10)
MAX_PASTED_URL = 4096
MAX_STATE = 128
MAX_CODE = 2048
ONBOARDED_KINDS = (ProviderKind.ANTIGRAVITY, ProviderKind.ANTHROPIC)
# what each client's authorize URL carries beyond the OAuth/PKCE parameters
_AUTHORIZE_EXTRAS: dict[str, dict[str, str]] = {
    "google_oauth": {"access_type": "offline", "prompt": "consent"},
    "anthropic_oauth": {"code": "true"},
}


def _bad(message: str, code: str = "invalid_request") -> AdminActionFailed:
    return AdminActionFailed(400, code, message)


class Started(msgspec.Struct, frozen=True):
    auth_url: str
    state: str
    flow_type: FlowType
    expires_at: datetime


class NewAccountEgress(Protocol):
    async def for_new_account(self, provider_id: str) -> tuple[int | None, Route | NoRoute]:
        """The proxy a new account of the provider would get now, and the route through it."""
        ...

    async def place(self, tx: UnitOfWork, provider_id: str, account_id: str) -> int | None:
        """Inside the transaction that adds the account: the proxy it gets."""
        ...

    def route_of(self, account: Account) -> Route | NoRoute:
        """The route of an account that exists."""
        ...


class Onboarding:
    def __init__(
        self,
        clients: Mapping[ProviderKind, OAuthClient],
        states: LoginStates,
        tokens: TokenEndpoint,
        identity: Identity,
        discovery: ProjectDiscovery,
        providers: ProviderRepository,
        uow: UnitOfWorkFactory,
        clock: Clock,
        egress: NewAccountEgress,
        rotation: Rotation | None = None,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._egress = egress
        self._clients = clients
        self._states = states
        self._tokens = tokens
        self._identity = identity
        self._discovery = discovery
        self._providers = providers
        self._uow = uow
        self._clock = clock
        self._rotation = rotation
        self._random_bytes = random_bytes

    # --- start --------------------------------------------------------------------------------

    async def start(
        self, kind: ProviderKind, flow_type: FlowType, provider_id: str | None, initiator: str
    ) -> Started:
        client = self._client(kind)
        missing = client.missing_setting()
        if missing is not None:
            raise AdminActionFailed(
                409, "oauth_not_configured", f"{kind.value} logins need the setting {missing}"
            )
        provider = await self._provider(kind, provider_id)
        now = self._clock.now()
        state = secrets.token_urlsafe(32)
        verifier = verifier_from(self._random_bytes(64))
        login = PendingLogin(
            provider_id=provider.id,
            flow_type=flow_type,
            verifier=verifier,
            redirect_uri=client.redirect_uri,
            created_at=now,
            expires_at=now + LOGIN_TTL,
            initiator=initiator,
        )
        await self._states.put(state, login, LOGIN_TTL.total_seconds())
        query = {
            "client_id": client.client_id or "",
            "redirect_uri": client.redirect_uri,
            "response_type": "code",
            "scope": client.scopes,
            "state": state,
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
            **_AUTHORIZE_EXTRAS.get(client.name, {}),
        }
        separator = "&" if "?" in client.auth_url else "?"
        auth_url = client.auth_url + separator + urlencode(query)
        return Started(auth_url, state, flow_type, login.expires_at)

    def _client(self, kind: ProviderKind) -> OAuthClient:
        client = self._clients.get(kind)
        if client is None:
            kinds = ", ".join(k.value for k in ONBOARDED_KINDS)
            raise _bad(f"provider must be one of {kinds}")
        return client

    async def _provider(self, kind: ProviderKind, provider_id: str | None) -> Provider:
        rows = [p for p in await self._providers.list() if p.kind is kind]
        if provider_id is not None:
            chosen = next((p for p in rows if p.id == provider_id), None)
            if chosen is None:
                raise _bad(f"provider_id {provider_id!r} is not a provider of kind {kind.value}")
            return chosen
        if not rows:
            raise AdminActionFailed(
                409, "no_provider", f"there is no provider of kind {kind.value}: create one first"
            )
        if len(rows) > 1:
            ids = ", ".join(p.id for p in rows)
            raise _bad(f"several providers are of kind {kind.value} ({ids}): give provider_id")
        return rows[0]

    # --- finish -------------------------------------------------------------------------------

    async def pending(self, state: str) -> PendingLogin | None:
        """The pending login of `state`, left in place (for the callback page)."""
        return await self._states.peek(state[:MAX_STATE])

    async def finish_redirect(self, code: str | None, state: str, error: str | None) -> Account:
        """The browser's redirect to the callback page (an `auto` login)."""
        login = await self._states.peek(state[:MAX_STATE])
        if login is None:
            raise _unknown_login()
        if login.flow_type is not FlowType.AUTO:
            raise _bad(
                "this login was started as a manual one: paste this page's address into "
                "POST /api/v1/oauth/exchange",
                "manual_login",
            )
        taken = await self._states.take(state)
        if taken is None:
            raise _unknown_login()
        if error:
            raise _bad(f"the login was not completed: {error[:200]}", "login_refused")
        if not code:
            raise _bad("the callback carries no code")
        return await self._finish(taken, code[:MAX_CODE], state)

    async def finish_pasted(self, callback_url: str, initiator: str) -> Account:
        """The URL (or, for Claude, the `code#state` text) the operator pasted."""
        text = callback_url.strip()
        if not text or len(text) > MAX_PASTED_URL:
            raise _bad(f"callback_url must be 1 to {MAX_PASTED_URL} characters")
        code, state, on = _read_pasted(text)
        login = await self._states.peek(state)
        if login is None:
            raise _unknown_login()
        if login.initiator != initiator:
            raise AdminActionFailed(
                403, "forbidden", "this login was started with another admin credential"
            )
        if on is not None and on != _origin_and_path(login.redirect_uri):
            raise _bad("callback_url is not on the configured redirect URI", "wrong_redirect_uri")
        if on is None and self._kind_of(login) is not ProviderKind.ANTHROPIC:
            raise _bad("callback_url must be the whole URL the browser ended on")
        taken = await self._states.take(state)
        if taken is None:
            raise _unknown_login()
        return await self._finish(taken, code, state)

    def _kind_of(self, login: PendingLogin) -> ProviderKind | None:
        return next(
            (k for k, c in self._clients.items() if c.redirect_uri == login.redirect_uri), None
        )

    async def _finish(self, login: PendingLogin, code: str, state: str) -> Account:
        try:
            provider = await self._providers.get(login.provider_id)
        except LookupError:
            raise AdminActionFailed(
                409, "no_provider", f"provider {login.provider_id} was deleted during the login"
            ) from None
        client = self._client(provider.kind)
        # the code is exchanged, and the account's project found, from the address the new
        # account will use (a login again of a known account keeps that account's proxy)
        _, route = await self._egress.for_new_account(provider.id)
        if isinstance(route, NoRoute):
            raise AdminActionFailed(
                503, "no_usable_proxy", f"no proxy can take a new account now: {route.reason}"
            )
        now = self._clock.now()
        try:
            grant = await self._tokens.exchange_code(
                client,
                code=code,
                verifier=login.verifier,
                redirect_uri=login.redirect_uri,
                state=state,
                now=now,
                route=route,
            )
        except TokenEndpointError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                raise _bad(
                    f"the authorization code was refused ({exc}); start the login again",
                    "code_refused",
                ) from None
            raise AdminActionFailed(502, "token_endpoint_unavailable", str(exc)) from None
        if not grant.refresh_token:
            raise AdminActionFailed(
                502, "no_refresh_token", f"{client.name} answered no refresh token for the login"
            )
        email = await self._email(client, grant, route)
        known = await self._known(provider, email)
        if known is not None:  # a login again: the account's own proxy from here on
            route = self._egress.route_of(known)
            if isinstance(route, NoRoute):
                raise AdminActionFailed(
                    503, "no_usable_proxy", f"account {known.id} cannot be reached: {route.reason}"
                )
        auth_data: dict[str, Any] = {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": grant.expires_at.isoformat(),
        }
        if provider.kind is ProviderKind.ANTIGRAVITY:
            try:
                auth_data["project_id"] = await self._discovery.discover(
                    provider, grant.access_token, route
                )
            except (DiscoveryFailed, UpstreamUnavailable) as exc:
                raise AdminActionFailed(502, "project_discovery_failed", str(exc)) from None
        return await self._save(provider, email, auth_data, grant)

    async def _email(self, client: OAuthClient, grant: TokenGrant, route: Route) -> str:
        email = grant.email
        if email is None and client.userinfo_url:
            try:
                email = await self._identity.email_of(
                    client.userinfo_url, grant.access_token, route
                )
            except IdentityUnavailable as exc:
                raise AdminActionFailed(502, "userinfo_unavailable", str(exc)) from None
        if not email or len(email) > 100:
            raise AdminActionFailed(
                502, "no_email", f"{client.name} did not say which account logged in"
            )
        return email

    async def _known(self, provider: Provider, email: str) -> Account | None:
        """The account of this provider already labelled with the e-mail, if any."""
        async with self._uow() as tx:
            same = _labelled(await tx.accounts.list(provider_id=provider.id), email)
        return same[0] if same else None

    async def _save(
        self,
        provider: Provider,
        email: str,
        auth_data: dict[str, Any],
        grant: TokenGrant,
    ) -> Account:
        credential = Credential(auth_type=AuthType.OAUTH, data=auth_data)
        now = self._clock.now()
        async with self._uow() as tx:
            same = _labelled(await tx.accounts.list(provider_id=provider.id), email)
            if same:
                current = same[0]
                saved = await tx.accounts.update(
                    msgspec.structs.replace(
                        current,
                        credential=credential,
                        expires_at=grant.expires_at,
                        disabled_reason=None,
                        updated_at=now,
                    )
                )
            else:
                account_id = str(uuid.uuid4())
                proxy_id = await self._egress.place(tx, provider.id, account_id)
                saved = await tx.accounts.add(
                    Account(
                        id=account_id,
                        provider_id=provider.id,
                        label=email,
                        credential=credential,
                        expires_at=grant.expires_at,
                        proxy_id=proxy_id,
                        created_at=now,
                        updated_at=now,
                    )
                )
        if same and self._rotation is not None:
            # the cooldowns were earned by the old credential
            await self._rotation.clear(saved.provider_id, saved.id)
        return saved


def _labelled(accounts: Sequence[Account], email: str) -> list[Account]:
    return [a for a in accounts if a.label.casefold() == email.casefold()]


def _unknown_login() -> AdminActionFailed:
    return _bad(
        "unknown, expired or already finished login: start again with POST /api/v1/oauth/init",
        "unknown_login",
    )


def _origin_and_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"


def _read_pasted(text: str) -> tuple[str, str, str | None]:
    """(code, state, origin+path of the URL; None for Claude's bare `code#state`)."""
    if "://" not in text:
        code, sep, state = text.partition("#")
        if not sep or not code or not state:
            raise _bad("callback_url must be the URL the browser ended on, or Claude's code#state")
        return (*_bounded(code, state), None)
    try:
        parts = urlsplit(text)
        query = parse_qs(parts.query, max_num_fields=20)
    except ValueError:
        raise _bad("callback_url is not a readable URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _bad("callback_url is not an http(s) URL")
    if query.get("error"):
        raise _bad(f"the login was not completed: {query['error'][0][:200]}", "login_refused")
    code = (query.get("code") or [""])[0]
    state = (query.get("state") or [""])[0]
    if "#" in code:  # Claude's `code#state` inside the URL
        code, _, from_code = code.partition("#")
        state = state or from_code
    state = state or parts.fragment
    if not code or not state:
        raise _bad("callback_url carries no code and state")
    return (*_bounded(code, state), _origin_and_path(text))


def _bounded(code: str, state: str) -> tuple[str, str]:
    if len(code) > MAX_CODE or len(state) > MAX_STATE:
        raise _bad("callback_url carries an oversized code or state")
    return code, state
