"""Outbound proxies: where an account's upstream traffic leaves from.

A proxy's URL may carry a user name and password; the `ProxyEndpoint` keeps them apart from
what is shown (`masked()`), and `repr()` never renders the password.
"""

from __future__ import annotations

import enum
import ipaddress
import string
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import msgspec

MAX_URL_LENGTH = 2048


class ProxyProtocol(enum.StrEnum):
    HTTP = "http"  # plain HTTP proxy; HTTPS targets go through CONNECT
    HTTPS = "https"  # the same, with TLS to the proxy itself
    SOCKS5 = "socks5"  # SOCKS5, target names resolved by the gateway
    SOCKS5H = "socks5h"  # SOCKS5, target names resolved by the proxy (remote DNS)


class ProxyHealth(enum.StrEnum):
    UNKNOWN = "unknown"  # not checked yet
    HEALTHY = "healthy"
    DOWN = "down"  # its accounts are skipped until a check succeeds again


class InvalidProxyUrl(ValueError):
    """The proxy URL cannot be used; the message names the problem (never the password)."""


class ProxyEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    protocol: ProxyProtocol
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        """The URL the transport connects with, credentials included."""
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return f"{self.protocol.value}://{auth}{self.address}"

    @property
    def address(self) -> str:
        """`host:port`, an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def masked(self) -> str:
        """The URL as shown: the password as `***`."""
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="") + (":***" if self.password is not None else "")
            auth += "@"
        return f"{self.protocol.value}://{auth}{self.address}"

    def __repr__(self) -> str:
        return f"ProxyEndpoint({self.masked()!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [("url", self.masked())]


def parse_proxy_url(url: str, protocol: str | None = None) -> ProxyEndpoint:
    """Validate an operator's proxy URL: scheme, host and port (`protocol`, when given, must
    agree with the scheme, or stands in for a missing one). Raises InvalidProxyUrl."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidProxyUrl("url must be a non-empty string")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidProxyUrl(f"url is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidProxyUrl("url must not contain spaces or control characters")
    given = _protocol(protocol) if protocol is not None else None
    if "://" not in url:
        if given is None:
            raise InvalidProxyUrl("url needs a scheme: http://, https://, socks5:// or socks5h://")
        url = f"{given.value}://{url}"
    # a user name or password with / ? or # cut the URL short: say how to write them
    hint = " (percent-encode / ? # @ in the user name or password)" if "@" in url else ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        problem = "port" if "port" in str(exc).lower() else "syntax"
        raise InvalidProxyUrl(f"url has an invalid {problem}{hint}") from None
    scheme = _protocol(parts.scheme.lower(), what="url scheme")
    if given is not None and given is not scheme:
        raise InvalidProxyUrl(
            f"protocol {given.value} does not match the url's scheme {scheme.value}"
        )
    host = parts.hostname or ""
    if not host:
        raise InvalidProxyUrl("url has no host")
    if len(host) > 253 or not _valid_host(host):
        raise InvalidProxyUrl("url has an invalid host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidProxyUrl(f"url must be scheme://[user:password@]host:port, with no path{hint}")
    if port is None:
        raise InvalidProxyUrl("url needs a port (scheme://host:port)")
    if not 1 <= port <= 65535:
        raise InvalidProxyUrl("url port must be between 1 and 65535")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    endpoint = ProxyEndpoint(
        protocol=scheme, host=host, port=port, username=username, password=password
    )
    if len(endpoint.url) > MAX_URL_LENGTH:  # as stored: the user name percent-encoded
        raise InvalidProxyUrl(f"url is longer than {MAX_URL_LENGTH} characters once encoded")
    return endpoint


def _protocol(value: str, what: str = "protocol") -> ProxyProtocol:
    try:
        return ProxyProtocol(value)
    except ValueError:
        names = ", ".join(p.value for p in ProxyProtocol)
        raise InvalidProxyUrl(f"{what} {value[:20]!r} is not one of {names}") from None


def _valid_host(host: str) -> bool:
    """An IP address, or an ASCII host name (international names in their xn-- form) whose
    last label is not all digits (that would be a malformed IPv4 address)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return not labels[-1].isdigit() and all(
        0 < len(label) <= 63
        and all(c in _LABEL_CHARACTERS for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


_LABEL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-")


class Proxy(msgspec.Struct, frozen=True, kw_only=True):
    """A row of the proxy pool."""

    id: int
    endpoint: ProxyEndpoint
    label: str = ""
    is_active: bool = True
    max_accounts: int = 0  # 0: no limit
    priority: int = 0  # higher first
    providers: tuple[str, ...] = ()  # the providers it may serve; empty: every provider
    health: ProxyHealth = ProxyHealth.UNKNOWN
    consecutive_failures: int = 0
    latency_ms: float | None = None  # moving average of successful checks
    last_checked_at: datetime | None = None
    marked_down_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    readable: bool = True  # False: a stored row that cannot be read (see `unreadable_row`)

    @property
    def protocol(self) -> ProxyProtocol:
        return self.endpoint.protocol

    @property
    def down(self) -> bool:
        return self.health is ProxyHealth.DOWN

    def serves(self, provider_id: str) -> bool:
        return not self.providers or provider_id in self.providers

    def has_room(self, load: int) -> bool:
        return self.max_accounts <= 0 or load < self.max_accounts


def unreadable_row(proxy_id: int) -> Proxy:
    """A stored proxy that cannot be read (a password that no longer decrypts, a URL edited by
    hand into something unusable). It still holds its accounts, which are not used, takes no
    new ones, and carries nothing, until the operator repairs or deletes it."""
    return Proxy(
        id=proxy_id,
        endpoint=ProxyEndpoint(protocol=ProxyProtocol.HTTP, host="unreadable.invalid", port=9),
        health=ProxyHealth.DOWN,
        readable=False,
    )


class Route(msgspec.Struct, frozen=True):
    """How one upstream call leaves the gateway: through a proxy, or directly (both None)."""

    proxy_id: int | None = None
    endpoint: ProxyEndpoint | None = None


DIRECT = Route()
