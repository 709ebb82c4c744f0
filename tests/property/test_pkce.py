"""PKCE: the challenge the authorize URL carries matches the verifier the token request sends."""

from __future__ import annotations

import base64
import hashlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.domain.pkce import challenge_of, verifier_from

VERIFIER_CHARS = frozenset(string.ascii_letters + string.digits + "-._~")  # RFC 7636 §4.1

random_bytes = st.binary(min_size=32, max_size=96)


@given(random_bytes)
def test_the_verifier_is_rfc_7636_shaped(data: bytes) -> None:
    verifier = verifier_from(data)
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= VERIFIER_CHARS
    # nothing of the randomness is lost: the verifier decodes back to the bytes
    assert base64.urlsafe_b64decode(verifier + "=" * (-len(verifier) % 4)) == data


@given(random_bytes)
def test_the_challenge_is_the_sha256_of_its_verifier(data: bytes) -> None:
    verifier = verifier_from(data)
    challenge = challenge_of(verifier)
    digest = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    assert digest == hashlib.sha256(verifier.encode()).digest()
    assert "=" not in challenge and "+" not in challenge and "/" not in challenge
    assert len(challenge) == 43


def test_rfc_7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_of(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("size", [0, 31, 97])
def test_too_little_or_too_much_randomness_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="32 to 96"):
        verifier_from(b"x" * size)
