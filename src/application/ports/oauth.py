"""OAuth ports: the token endpoint of an OAuth client, the shared access-token cache, the
refresh lock that keeps one refresh per account at a time across every gateway process."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Protocol

import msgspec

from aigateway.domain.credentials.tokens import OAuthToken
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.proxies import Route

OAuthClientName = Literal["google_oauth", "anthropic_oauth"]


class OAuthClient(msgspec.Struct, frozen=True, kw_only=True):
    """One configured OAuth client. `name` is its settings section (messages about a missing
    setting name it, e.g. `google_oauth.client_id`)."""

    name: OAuthClientName
    client_id: str | None
    client_secret: str | None
    token_url: str
    auth_url: str
    userinfo_url: str | None
    redirect_uri: str
    scopes: str
    json_body: bool  # the token endpoint takes JSON (Anthropic), else a form (Google)

    def missing_setting(self) -> str | None:
        """The first setting a token request needs that is not configured, as
        `section.key (AIGATEWAY_SECTION_KEY)`; None when nothing is missing. Google's client
        needs its secret, Anthropic's public client does not."""
        needed = ["client_id"] + (["client_secret"] if self.name == "google_oauth" else [])
        for key in needed:
            if not getattr(self, key):
                return f"{self.name}.{key} (AIGATEWAY_{self.name.upper()}_{key.upper()})"
        return None

    def __repr__(self) -> str:  # the secret is never shown
        secret = None if self.client_secret is None else "***"
        return (
            f"OAuthClient(name={self.name!r}, client_id={self.client_id!r}, "
            f"client_secret={secret!r}, token_url={self.token_url!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, object]]:
        secret = None if self.client_secret is None else "***"
        return [
            ("name", self.name),
            ("client_id", self.client_id),
            ("client_secret", secret),
            ("token_url", self.token_url),
        ]


class TokenGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A token endpoint's answer: the access token, a rotated refresh token if it sent one,
    and the account's e-mail when the answer carries it (Anthropic's does)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    email: str | None = None

    @property
    def token(self) -> OAuthToken:
        return OAuthToken(self.access_token, self.expires_at)

    def __repr__(self) -> str:  # tokens are never shown
        rotated = self.refresh_token is not None
        return (
            f"TokenGrant(expires_at={self.expires_at.isoformat()!r}, "
            f"refresh_token_rotated={rotated}, email={self.email!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, object]]:
        return [
            ("expires_at", self.expires_at.isoformat()),
            ("refresh_token_rotated", self.refresh_token is not None),
            ("email", self.email),
        ]


class TokenEndpointError(Exception):
    """The token endpoint refused or could not be reached.

    status: the HTTP status, None for a network error (`kind` says which); body: the answer's
    first bytes (for classification, never shown). The message holds no token.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: bytes = b"",
        kind: NetworkErrorKind = NetworkErrorKind.OTHER,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.kind = kind


class TokenEndpoint(Protocol):
    async def refresh(
        self, client: OAuthClient, refresh_token: str, now: datetime, route: Route
    ) -> TokenGrant:
        """The refresh_token grant, sent through the account's `route`; raises
        TokenEndpointError."""
        ...

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
        """The authorization_code grant with the PKCE verifier (Anthropic's body also carries
        `state`), through the route the new account will use; raises TokenEndpointError."""
        ...


class TokenCache(Protocol):
    """Access tokens shared by every process, per (provider id, account id)."""

    async def get(self, provider_id: str, account_id: str) -> OAuthToken | None: ...

    async def put(
        self, provider_id: str, account_id: str, token: OAuthToken, ttl: timedelta
    ) -> None:
        """Keep `token` for `ttl` (nothing is kept for a ttl of zero or less)."""
        ...

    async def delete(self, provider_id: str, account_id: str) -> bool:
        """Forget the token; True when there was one."""
        ...

    async def ttl(self, provider_id: str, account_id: str) -> timedelta | None:
        """How much longer the cached token is handed out; None when nothing is cached."""
        ...


class RefreshLock(Protocol):
    """One refresh per account at a time, across processes; an expiry frees a lost holder's."""

    async def acquire(
        self, provider_id: str, account_id: str, holder: str, expiry: timedelta
    ) -> bool:
        """Take the lock for `holder` unless someone holds it (never waits)."""
        ...

    async def release(self, provider_id: str, account_id: str, holder: str) -> bool:
        """Free the lock only if `holder` still holds it; True when it did."""
        ...
