"""Ports of account onboarding: the pending OAuth logins, the identity behind a token, and the
Cloud Code project of a Google account."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

import msgspec

from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route
from aigateway.domain.redaction import redacted


class FlowType(enum.StrEnum):
    AUTO = "auto"  # the browser comes back to the gateway's callback page
    MANUAL = "manual"  # the operator pastes the URL the browser ended on into /oauth/exchange


@redacted("verifier")
class PendingLogin(msgspec.Struct, frozen=True, kw_only=True):
    """A login between `init` and its callback: what finishing it needs."""

    provider_id: str  # the provider row the account is created on
    flow_type: FlowType
    verifier: str  # the PKCE code verifier (a secret until the code is exchanged)
    redirect_uri: str
    created_at: datetime
    expires_at: datetime
    initiator: str  # fingerprint of the admin credential that started it


class LoginStates(Protocol):
    """Pending logins by their `state`, each kept `ttl_s` and taken at most once."""

    async def put(self, state: str, login: PendingLogin, ttl_s: float) -> None: ...

    async def peek(self, state: str) -> PendingLogin | None:
        """The pending login, left in place (None: unknown or expired)."""
        ...

    async def take(self, state: str) -> PendingLogin | None:
        """The pending login, removed atomically: of two concurrent takes one gets it."""
        ...


class IdentityUnavailable(RuntimeError):
    """The identity provider did not say whose token this is (the message names why)."""


class Identity(Protocol):
    async def email_of(self, userinfo_url: str, access_token: str, route: Route) -> str:
        """The e-mail of the account the token belongs to; raises IdentityUnavailable."""
        ...


class DiscoveryFailed(RuntimeError):
    """No Cloud Code project could be found or created for the account (the message says why,
    never with a token)."""


class ProjectDiscovery(Protocol):
    async def discover(self, provider: Provider, access_token: str, route: Route) -> str:
        """The account's Cloud Code project id (found, else onboarded); raises DiscoveryFailed."""
        ...
