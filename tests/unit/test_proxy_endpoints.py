"""An operator's proxy URL: what is accepted, the message naming what is wrong, and a
password that never shows (masked URL, repr, str, rich, error messages)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.pretty import pretty_repr

from aigateway.domain.proxies import (
    InvalidProxyUrl,
    Proxy,
    ProxyEndpoint,
    ProxyProtocol,
    Route,
    parse_proxy_url,
)

SECRET = "pw-SECRET-0123"


def assert_hidden(obj: object) -> None:
    for text in (repr(obj), str(obj), f"{obj}", pretty_repr(obj)):
        assert "SECRET" not in text, text


@pytest.mark.parametrize(
    ("url", "protocol", "host", "port"),
    [
        ("http://proxy.example:3128", ProxyProtocol.HTTP, "proxy.example", 3128),
        ("https://proxy.example:443/", ProxyProtocol.HTTPS, "proxy.example", 443),
        ("socks5://10.1.2.3:1080", ProxyProtocol.SOCKS5, "10.1.2.3", 1080),
        ("SOCKS5H://Proxy.Example.:1080", ProxyProtocol.SOCKS5H, "proxy.example.", 1080),
        ("socks5://[2001:db8::1]:1080", ProxyProtocol.SOCKS5, "2001:db8::1", 1080),
        (
            "  http://xn--bcher-kva.example:8080  ",
            ProxyProtocol.HTTP,
            "xn--bcher-kva.example",
            8080,
        ),
    ],
)
def test_a_valid_url_gives_its_protocol_host_and_port(
    url: str, protocol: ProxyProtocol, host: str, port: int
) -> None:
    endpoint = parse_proxy_url(url)
    assert (endpoint.protocol, endpoint.host, endpoint.port) == (protocol, host, port)
    assert (endpoint.username, endpoint.password) == (None, None)


def test_an_ipv6_host_is_bracketed_again_in_the_url() -> None:
    assert parse_proxy_url("socks5://[::1]:1080").url == "socks5://[::1]:1080"


def test_credentials_are_decoded_and_encoded_again_for_the_transport() -> None:
    endpoint = parse_proxy_url("http://us%40er:p%3As%2Fs@proxy.example:3128")
    assert (endpoint.username, endpoint.password) == ("us@er", "p:s/s")
    assert endpoint.username is not None
    assert endpoint.url == "http://us%40er:p%3As%2Fs@proxy.example:3128"


def test_an_at_sign_in_the_password_needs_no_encoding() -> None:
    endpoint = parse_proxy_url("http://user:p@ss@proxy.example:3128")
    assert (endpoint.username, endpoint.password) == ("user", "p@ss")


def test_a_user_without_password_is_kept_as_such() -> None:
    endpoint = parse_proxy_url("socks5://user@proxy.example:1080")
    assert (endpoint.username, endpoint.password) == ("user", None)
    assert endpoint.masked() == "socks5://user@proxy.example:1080"


@given(
    username=st.text(min_size=1, max_size=20),
    password=st.none() | st.text(max_size=20),
    protocol=st.sampled_from(ProxyProtocol),
)
def test_any_credentials_survive_the_url_round_trip(
    username: str, password: str | None, protocol: ProxyProtocol
) -> None:
    endpoint = ProxyEndpoint(
        protocol=protocol, host="proxy.example", port=8080, username=username, password=password
    )
    assert parse_proxy_url(endpoint.url) == endpoint


def test_the_protocol_field_stands_in_for_a_missing_scheme() -> None:
    assert parse_proxy_url("proxy.example:1080", "socks5").protocol is ProxyProtocol.SOCKS5
    assert parse_proxy_url("socks5://proxy.example:1080", "socks5").port == 1080


@pytest.mark.parametrize(
    ("url", "protocol", "problem"),
    [
        ("", None, "non-empty"),
        ("   ", None, "non-empty"),
        ("proxy.example:3128", None, "needs a scheme"),
        ("ftp://proxy.example:21", None, "url scheme 'ftp' is not one of"),
        ("proxy.example:3128", "gopher", "protocol 'gopher' is not one of"),
        ("http://proxy.example:3128", "socks5", "does not match the url's scheme http"),
        ("http://:3128", None, "no host"),
        ("http://proxy.example", None, "needs a port"),
        ("http://proxy.example:0", None, "between 1 and 65535"),
        ("http://proxy.example:65536", None, "invalid port"),
        ("http://proxy.example:http", None, "invalid port"),
        ("http://proxy.example:3128/path", None, "no path"),
        ("http://proxy.example:3128?x=1", None, "no path"),
        ("http://proxy.example:3128#top", None, "no path"),
        ("http://proxy .example:3128", None, "spaces or control characters"),
        ("http://proxy.example\t:3128", None, "spaces or control characters"),
        ("http://pro_xy.example:3128", None, "invalid host"),
        ("http://-proxy.example:3128", None, "invalid host"),
        ("http://proxy..example:3128", None, "invalid host"),
        ("http://prøxy.example:3128", None, "invalid host"),
        ("http://256.1.2.3:3128", None, "invalid host"),
        ("http://[::1:3128", None, "invalid syntax"),
        ("http://" + "a" * 2050 + ":1", None, "longer than 2048"),
    ],
)
def test_a_bad_url_is_rejected_with_a_message_naming_the_problem(
    url: str, protocol: str | None, problem: str
) -> None:
    with pytest.raises(InvalidProxyUrl, match=problem.replace("?", r"\?")):
        parse_proxy_url(url, protocol)


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{SECRET}@proxy.example",  # no port
        f"http://user:{SECRET}@proxy.example:99999",
        f"http://user:{SECRET}@pro_xy.example:3128",
        f"http://user:{SECRET}@proxy.example:3128/path",
        f"http://user:{SECRET}/x@proxy.example:3128",  # an unencoded slash cuts it short
        f"http://user:{SECRET}#x@proxy.example:3128",
        f"http://user:{SECRET}@[::1:3128",
        f"user:{SECRET}@proxy.example:3128",  # no scheme
        f"ftp://user:{SECRET}@proxy.example:21",
        f"http://user:{SECRET} @proxy.example:3128",
    ],
)
def test_a_rejected_url_never_echoes_its_password(url: str) -> None:
    with pytest.raises(InvalidProxyUrl) as caught:
        parse_proxy_url(url)
    assert "SECRET" not in str(caught.value)
    # nor does a traceback, through the parser's own error it replaces
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_an_unencoded_slash_in_the_password_is_explained() -> None:
    with pytest.raises(InvalidProxyUrl, match="percent-encode"):
        parse_proxy_url("http://user:pa/ss@proxy.example:3128")


def test_the_masked_url_shows_the_user_but_not_the_password() -> None:
    endpoint = parse_proxy_url(f"http://alice:{SECRET}@proxy.example:3128")
    assert endpoint.masked() == "http://alice:***@proxy.example:3128"
    assert parse_proxy_url("http://alice:@proxy.example:3128").masked() == (
        "http://alice:***@proxy.example:3128"
    )
    assert parse_proxy_url("http://proxy.example:3128").masked() == "http://proxy.example:3128"


def test_no_repr_of_an_endpoint_a_proxy_or_a_route_shows_the_password() -> None:
    endpoint = parse_proxy_url(f"socks5://alice:{SECRET}@proxy.example:1080")
    row = Proxy(id=7, endpoint=endpoint, label="eu-1")
    for obj in (endpoint, row, Route(row.id, endpoint), [row], {"proxy": row}):
        assert_hidden(obj)
    assert "alice:***@proxy.example:1080" in repr(row)


def test_a_url_too_long_once_its_user_name_is_encoded_is_refused() -> None:
    with pytest.raises(InvalidProxyUrl, match="longer than 2048 characters once encoded"):
        parse_proxy_url("http://" + "é" * 600 + ":pw@10.0.0.1:3128")
