"""Validation of operator input for the admin use cases: bounded text, URLs, JSON values
(depth and size: they are stored, and MariaDB refuses deep JSON), credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec

from aigateway.application.errors import ValidationFailed
from aigateway.domain.accounts import Credential, InvalidCredential, credential_from_auth_data


def check_text(name: str, value: str, max_len: int, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValidationFailed(f"{name} is longer than {max_len} characters")
    return value


def check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("base_url must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValidationFailed("base_url must not carry credentials; put them in an account")
    return check_text("base_url", value, 255).rstrip("/")


MAX_JSON_DEPTH = 16  # MariaDB's JSON columns refuse 32 levels
MAX_CONFIG_BYTES = 64 * 1024
MAX_AUTH_DATA_BYTES = 32 * 1024  # sealed, it must fit a MariaDB TEXT column (64 KiB)


def _json_depth(value: Any) -> int:
    """How deeply `value` nests objects and arrays (`{}` is 1), up to MAX_JSON_DEPTH + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_JSON_DEPTH:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in _children(item))
    return deepest


def _children(item: dict[str, Any] | list[Any]) -> Any:
    return item.values() if isinstance(item, dict) else item


def _check_json(name: str, value: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    if _json_depth(value) > MAX_JSON_DEPTH:
        raise ValidationFailed(f"{name} is nested deeper than {MAX_JSON_DEPTH} levels")
    if len(msgspec.json.encode(value)) > max_bytes:
        raise ValidationFailed(f"{name} is larger than {max_bytes} bytes of JSON")
    return value


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Bounded JSON (what the keys mean is the provider kind's business)."""
    return _check_json("config", config, MAX_CONFIG_BYTES)


def check_models(models: list[str]) -> tuple[str, ...]:
    cleaned = tuple(check_text("models[]", m, 191) for m in models)
    return tuple(dict.fromkeys(cleaned))


def credential_of(auth_data: dict[str, Any] | str) -> Credential:
    if isinstance(auth_data, str):  # the original API took auth_data as a JSON string
        try:
            auth_data = msgspec.json.decode(auth_data)
        except (msgspec.DecodeError, RecursionError):
            raise ValidationFailed("auth_data must be a JSON object") from None
        if not isinstance(auth_data, dict):
            raise ValidationFailed("auth_data must be a JSON object")
    _check_json("auth_data", auth_data, MAX_AUTH_DATA_BYTES)
    try:
        return credential_from_auth_data(auth_data)
    except InvalidCredential as exc:
        raise ValidationFailed(str(exc)) from None


def expiry_of(credential: Credential) -> datetime | None:
    raw = credential.data.get("expires_at")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationFailed("auth_data.expires_at must be an RFC 3339 timestamp (a string)")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("auth_data.expires_at must be an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise ValidationFailed("auth_data.expires_at must carry a time zone")
    return parsed
