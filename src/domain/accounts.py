"""Upstream accounts and their credentials."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Any

import msgspec


class AuthType(enum.StrEnum):
    API_KEY = "api_key"
    OAUTH = "oauth"


class InvalidCredential(ValueError):
    """The auth_data given for an account cannot be used."""


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """The secret part of an account. Never rendered in clear outside the upstream call.

    `data` keeps every field the operator supplied (e.g. `project_id` for Antigravity), so an
    update of auth_data replaces the credential as a whole.
    """

    auth_type: AuthType
    data: dict[str, Any]

    @property
    def secret(self) -> str:
        """The value sent upstream: the API key, or the OAuth access token."""
        key = "api_key" if self.auth_type is AuthType.API_KEY else "access_token"
        value = self.data.get(key)
        return value if isinstance(value, str) else ""

    @property
    def identifying_secret(self) -> str:
        """The long-lived secret that identifies the credential (API key or refresh token)."""
        if self.auth_type is AuthType.API_KEY:
            return self.secret
        refresh = self.data.get("refresh_token")
        return refresh if isinstance(refresh, str) and refresh else self.secret

    def masked(self) -> str:
        return mask_secret(self.identifying_secret)

    def fingerprint(self) -> str:
        return fingerprint_secret(self.identifying_secret)

    def redact(self, text: str) -> str:
        """`text` with every secret value of this credential replaced (upstreams echo keys)."""
        for name in ("api_key", "access_token", "refresh_token", "id_token", "client_secret"):
            value = self.data.get(name)
            if isinstance(value, str) and len(value) >= 6 and value in text:
                text = text.replace(value, "[redacted]")
        return text

    def __repr__(self) -> str:  # never leak the secret through repr()/logging
        return f"Credential(auth_type={self.auth_type.value!r}, masked={self.masked()!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:  # msgspec's own would show `data`
        return [("auth_type", self.auth_type.value), ("masked", self.masked())]


def credential_from_auth_data(auth_data: dict[str, Any]) -> Credential:
    """Validate operator-supplied auth_data: an `api_key`, or OAuth tokens."""
    api_key = auth_data.get("api_key")
    access = auth_data.get("access_token")
    refresh = auth_data.get("refresh_token")
    for name in ("api_key", "access_token", "refresh_token"):
        value = auth_data.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidCredential(f"auth_data.{name} must be a non-empty string")
    if isinstance(api_key, str):
        return Credential(auth_type=AuthType.API_KEY, data=dict(auth_data))
    if isinstance(access, str) or isinstance(refresh, str):
        return Credential(auth_type=AuthType.OAUTH, data=dict(auth_data))
    raise InvalidCredential("auth_data needs an api_key, or an access_token/refresh_token")


def mask_secret(secret: str) -> str:
    """`sk-proj-abcdef…9xQz` -> `sk-p…9xQz`; short secrets show only their last two characters."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "…" + secret[-2:]
    return f"{secret[:4]}…{secret[-4:]}"


def fingerprint_secret(secret: str) -> str:
    """A short stable identifier for a secret (SHA-256 prefix); safe to show and to query."""
    if not secret:
        return ""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:16]


class Account(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    provider_id: str
    label: str
    credential: Credential
    is_active: bool = True
    disabled_reason: str | None = None
    expires_at: datetime | None = None
    proxy_id: int | None = None
    last_used_at: datetime | None = None
    usage_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def usable(self) -> bool:
        return self.is_active and self.disabled_reason is None
