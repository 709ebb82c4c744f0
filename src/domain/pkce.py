"""PKCE (RFC 7636) for the OAuth logins that onboard accounts: the verifier and its S256
challenge. Pure: the random bytes are a parameter."""

from __future__ import annotations

import base64
import hashlib

MIN_VERIFIER_BYTES = 32  # 43 characters, RFC 7636's minimum
MAX_VERIFIER_BYTES = 96  # 128 characters, its maximum


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def verifier_from(random_bytes: bytes) -> str:
    """A code verifier from 32..96 random bytes (base64url without padding: 43..128 characters
    of the unreserved set)."""
    if not MIN_VERIFIER_BYTES <= len(random_bytes) <= MAX_VERIFIER_BYTES:
        raise ValueError(
            f"a PKCE verifier needs {MIN_VERIFIER_BYTES} to {MAX_VERIFIER_BYTES} random bytes"
        )
    return _b64url(random_bytes)


def challenge_of(verifier: str) -> str:
    """The S256 challenge: base64url(SHA-256(verifier)) without padding."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
