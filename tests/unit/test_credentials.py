from __future__ import annotations

import pytest

from aigateway.adapters.crypto import CredentialCipher, DecryptionFailed
from aigateway.domain.accounts import AuthType, InvalidCredential, credential_from_auth_data


def test_api_key_credential_is_masked_and_fingerprinted() -> None:
    credential = credential_from_auth_data({"api_key": "sk-proj-abcdefghijkl9xQz"})
    assert credential.auth_type is AuthType.API_KEY
    assert credential.masked() == "sk-p…9xQz"
    assert credential.fingerprint().startswith("sha256:")
    assert "abcdefgh" not in repr(credential) and "abcdefgh" not in str(credential)


def test_oauth_credential_is_identified_by_its_refresh_token() -> None:
    credential = credential_from_auth_data(
        {"access_token": "ya29.short-lived-token", "refresh_token": "1//refresh-token-value"}
    )
    assert credential.auth_type is AuthType.OAUTH
    assert credential.secret == "ya29.short-lived-token"
    assert credential.masked() == "1//r…alue"


@pytest.mark.parametrize(
    "auth_data", [{}, {"api_key": ""}, {"api_key": 5}, {"project_id": "p"}, {"access_token": "  "}]
)
def test_unusable_auth_data_is_refused(auth_data: dict[str, object]) -> None:
    with pytest.raises(InvalidCredential):
        credential_from_auth_data(auth_data)


def test_redact_removes_every_secret_of_the_credential() -> None:
    credential = credential_from_auth_data(
        {
            "access_token": "ya29.access-value",
            "refresh_token": "1//refresh-value",
            "project_id": "p",
        }
    )
    echoed = "bad token ya29.access-value (refresh 1//refresh-value) for project p"
    assert credential.redact(echoed) == "bad token [redacted] (refresh [redacted]) for project p"


def test_cipher_round_trip_is_bound_to_its_context() -> None:
    cipher = CredentialCipher("operator secret")
    token = cipher.encrypt(b'{"api_key": "sk-secret"}', context="account-1")
    assert "sk-secret" not in token
    assert cipher.decrypt(token, context="account-1") == b'{"api_key": "sk-secret"}'
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token, context="account-2")
    with pytest.raises(DecryptionFailed):
        CredentialCipher("another secret").decrypt(token, context="account-1")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt("not base64 !!", context="account-1")


def test_key_check_detects_a_different_secret() -> None:
    check = CredentialCipher("one").key_check()
    assert CredentialCipher("one").verify_key_check(check)
    assert not CredentialCipher("two").verify_key_check(check)
