"""Credential encryption at rest: AES-256-GCM, the account id bound as associated data."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE_BYTES = 12
_KEY_CHECK_PLAINTEXT = b"aigateway-secret-key-check"
_KEY_CHECK_AAD = b"key-check"


class DecryptionFailed(ValueError):
    """The ciphertext was not made with this key (or was altered)."""


def derive_key(secret: str) -> bytes:
    """Any operator-chosen secret string -> a 256-bit AES key."""
    if not secret:
        raise ValueError("the secret key must not be empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aigateway credentials v1")
    return hkdf.derive(secret.encode())


def generate_secret() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class CredentialCipher:
    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(derive_key(secret))

    def encrypt(self, plaintext: bytes, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return base64.b64encode(_VERSION + nonce + sealed).decode("ascii")

    def decrypt(self, token: str, *, context: str) -> bytes:
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError) as exc:
            raise DecryptionFailed("stored credential is not valid ciphertext") from exc
        if len(raw) < 1 + _NONCE_BYTES + 16 or raw[:1] != _VERSION:
            raise DecryptionFailed("stored credential has an unknown format")
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode())
        except InvalidTag as exc:
            raise DecryptionFailed("stored credential does not decrypt with this key") from exc

    def key_check(self) -> str:
        """A value stored once; later boots verify the configured key against it."""
        return self.encrypt(_KEY_CHECK_PLAINTEXT, context=_KEY_CHECK_AAD.decode())

    def verify_key_check(self, token: str) -> bool:
        try:
            return self.decrypt(token, context=_KEY_CHECK_AAD.decode()) == _KEY_CHECK_PLAINTEXT
        except DecryptionFailed:
            return False
