"""No secret in any repr(): what a log line, a traceback or a debugger would show."""

from __future__ import annotations

import msgspec
import pytest
from msgspec import UNSET
from rich.pretty import pretty_repr

from aigateway.application.ports.upstream import UpstreamRequest
from aigateway.application.use_cases.admin import AccountPatch, IssuedClientKey, NewAccount
from aigateway.domain.accounts import credential_from_auth_data
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.proxies import Route, parse_proxy_url
from aigateway.domain.redaction import mask_url
from aigateway.entrypoints.http.admin import IssuedKeyView

SECRET = "sk-test-0123456789abcdefSECRET"
REFRESH = "rt-test-9876543210fedcbaSECRET"


def assert_hidden(obj: object) -> None:
    for text in (repr(obj), str(obj), f"{obj}", pretty_repr(obj)):
        assert "SECRET" not in text, text


def test_an_upstream_request_shows_neither_credential_headers_nor_body() -> None:
    request = UpstreamRequest(
        url="https://api.example.com/v1/messages",
        headers={
            "Authorization": f"Bearer {SECRET}",
            "x-api-key": SECRET,
            "x-goog-api-key": SECRET,
            "Content-Type": "application/json",
        },
        body=b'{"refresh_token": "' + REFRESH.encode() + b'"}',
        route=Route(3, parse_proxy_url("http://user:SECRET@proxy.example:3128")),
    )
    assert_hidden(request)
    assert "Content-Type" in repr(request) and "application/json" in repr(request)
    assert "proxy.example:3128" in repr(request)
    # the struct itself is unchanged: equality and encoding see the real values
    assert msgspec.structs.replace(request) == request
    assert msgspec.to_builtins(request)["headers"]["x-api-key"] == SECRET


@pytest.mark.parametrize("auth_data", [{"api_key": SECRET}, f'{{"api_key": "{SECRET}"}}'])
def test_account_create_and_update_hide_auth_data(auth_data: dict[str, str] | str) -> None:
    new = NewAccount(provider_id="p", auth_data=auth_data, label="main")
    assert_hidden(new)
    assert "label='main'" in repr(new)
    patch = AccountPatch(auth_data=auth_data)
    assert_hidden(patch)
    assert "label=UNSET" in repr(patch)


def test_admin_bodies_still_decode_with_their_secrets() -> None:
    body = msgspec.json.encode({"provider_id": "p", "auth_data": {"api_key": SECRET}})
    assert msgspec.json.decode(body, type=NewAccount).auth_data == {"api_key": SECRET}
    assert msgspec.json.decode(b"{}", type=AccountPatch).auth_data is UNSET


def test_an_issued_client_key_hides_its_plaintext() -> None:
    key = ClientKey(id="k1", label="ci", prefix="sk-gw-12", key_hash="h" * 64)
    assert_hidden(IssuedClientKey(key, SECRET))
    view = IssuedKeyView("k1", SECRET, "sk-gw-12", "ci")
    assert_hidden(view)
    assert msgspec.json.decode(msgspec.json.encode(view))["key"] == SECRET


def test_a_credential_hides_every_token_in_rich_output_too() -> None:
    credential = credential_from_auth_data({"access_token": SECRET, "refresh_token": REFRESH})
    assert_hidden(credential)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql+asyncmy://root:SECRET@db:3306/aigw", "mysql+asyncmy://root:***@db:3306/aigw"),
        ("redis://:SECRET@cache:6379/2", "redis://:***@cache:6379/2"),
        ("rediss://cache:6380/0?password=SECRET&ssl=1", "rediss://cache:6380/0?password=***&ssl=1"),
        ("http://proxy:3128", "http://proxy:3128"),
        ("sqlite+aiosqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("http://[::1:SECRET", "<redacted>"),
    ],
)
def test_mask_url_hides_passwords(url: str, shown: str) -> None:
    assert mask_url(url) == shown
