"""Client API keys: only their hash is stored."""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec

CLIENT_KEY_PREFIX = "ak_"


class ClientKey(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    prefix: str  # the first characters of the key, shown to operators
    key_hash: str
    is_active: bool = True
    last_used_at: datetime | None = None
    created_at: datetime | None = None


def hash_key(key: str) -> str:
    """Keys are 192-bit random tokens, so a plain SHA-256 is the right (fast) hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    return key[:10]
