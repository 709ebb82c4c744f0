"""What a provider kind is to the gateway: where its API lives, how it authenticates, which wire
format it speaks, which client headers it may receive, and which of its config keys are valid.

Each operation a provider serves (a chat, counting tokens, embeddings) is an `Endpoint`: its
URL, the wire format spoken there and how an answer's usage is read. `endpoint` is None for an
operation the provider does not serve.

A new provider kind is one module with one `ProviderProfile` subclass, registered once in the
composition root (`entrypoints/ioc/providers.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import msgspec

from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.upstream.exchange import UsageScanner
from aigateway.application.ports.upstream import Usage
from aigateway.domain.accounts import Account
from aigateway.domain.errors import ErrorDialect
from aigateway.domain.llm import Operation
from aigateway.domain.providers import Provider, ProviderKind

TIMEOUT_KEYS = ("connect_timeout_s", "read_timeout_s", "total_timeout_s")


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """Where a provider serves one operation, and how its answers read."""

    url: str
    codec: WireCodec  # the wire format spoken there
    # a whole 2xx answer, read once (for passthrough): whether it is really an error object,
    # and its token usage
    read_answer: Callable[[bytes], tuple[bool, Usage | None]]
    # a watcher for usage in a stream (for passthrough); None: the endpoint does not stream
    usage_scanner: Callable[[], UsageScanner] | None = None


class ProviderProfile:
    kind: ClassVar[ProviderKind]
    codec: ClassVar[WireCodec]  # the wire format of its chat API
    dialect: ClassVar[ErrorDialect]  # how its error answers read
    # client headers passed on unchanged when the client speaks the upstream's format
    forwarded_headers: ClassVar[tuple[str, ...]] = ()

    def endpoint(self, provider: Provider, operation: Operation) -> Endpoint | None:
        """Where `provider` serves `operation`; None: it does not."""
        raise NotImplementedError

    # query parameters of the client's request passed on on the passthrough path
    forwarded_query: ClassVar[tuple[str, ...]] = ()

    def client_header(self, name: str, value: str) -> str:
        """What of a forwarded client header the upstream receives ("" for nothing)."""
        return value

    def client_query(self, query: str) -> str:
        """The client's query string, reduced to `forwarded_query` (a client must not set
        parameters an upstream reads as credentials or options of the account)."""
        if not query or not self.forwarded_query:
            return ""
        kept = [
            (k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in self.forwarded_query
        ]
        return urlencode(kept)

    def auth_headers(self, provider: Provider, account: Account, secret: str) -> dict[str, str]:
        raise NotImplementedError

    def config_problems(self, config: Mapping[str, Any]) -> list[str]:
        """What is wrong with a provider's `config` for this kind (empty: nothing)."""
        problems = []
        for key in TIMEOUT_KEYS:
            value = config.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                problems.append(f"config.{key} must be a positive number of seconds")
        return problems


class ProfileConfigRules:
    """The config rules of the registered profiles (a kind without one: no rules beyond the
    admin API's bounds)."""

    def __init__(self, profiles: Iterable[ProviderProfile]) -> None:
        self._profiles = {profile.kind: profile for profile in profiles}

    def config_problems(self, kind: ProviderKind, config: Mapping[str, Any]) -> list[str]:
        profile = self._profiles.get(kind)
        return profile.config_problems(config) if profile is not None else []


def seconds(value: object) -> float | None:
    """A positive number of seconds from provider config (validated when the provider is saved)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None
