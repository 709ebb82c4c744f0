"""One failed upstream call as the classifier reads it, and the helpers every rule shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

import msgspec

from aigateway.domain.accounts import AuthType
from aigateway.domain.errors import codes
from aigateway.domain.errors.bodies import ErrorBody
from aigateway.domain.errors.dialects import ErrorDialect
from aigateway.domain.errors.failure import MAX_LINK_REASON, clip_reason, format_delay
from aigateway.domain.errors.hints import Hint, find_hint
from aigateway.domain.errors.policy import CooldownPolicy


class Call(msgspec.Struct, frozen=True, kw_only=True):
    """One failed upstream call, read once."""

    dialect: ErrorDialect
    status: int
    body: ErrorBody
    tokens: frozenset[str]  # the body's codes, lower-cased
    text: str  # message, lower-cased, whitespace collapsed; matching only
    headers: Mapping[str, str]  # names lower-cased
    now: datetime
    policy: CooldownPolicy
    failures: int
    auth_type: AuthType
    model_known: bool = False  # the caller knows the account lists the model
    version_notice: bool = False  # a 2xx whose reply is the upstream's version-gate notice

    def code(self, preferred: frozenset[str]) -> str | None:
        """The known code to name in the reason (`preferred` ones first)."""
        return codes.known_code(self.body.codes(), preferred)

    def hint(self, *, rate_headers: bool, ceiling: timedelta) -> Hint | None:
        """The upstream's delay hint; a duration in the message only up to `ceiling`."""
        return find_hint(
            self.dialect,
            self.body,
            self.text,
            self.headers,
            self.now,
            rate_headers=rate_headers,
            message_ceiling=ceiling.total_seconds(),
        )

    def reason(
        self,
        text: str,
        code: str | None,
        hint: Hint | None = None,
        delay: timedelta | None = None,
    ) -> str:
        """Operator text: "<dialect> <status>: <text> [<code>]; wait <delay> (<source>)"."""
        reason = f"{self.dialect.name} {self.status}: {text}"
        if code:
            reason += f" [{code}]"
        if hint is not None and delay is not None:
            reason += f"; wait {format_delay(delay)} ({hint.source})"
        return clip_reason(reason)

    def link(self, url: str | None) -> str | None:
        """`url` when it may be shown to the operator: https, on a host of the dialect's
        `link_hosts`, plain URL characters only, and nothing that looks like a credential."""
        if url is None or not self.dialect.link_hosts:
            return None
        match = _LINK.fullmatch(url)
        if match is None or any(marker in url.lower() for marker in _CREDENTIAL_MARKERS):
            return None
        host = match["host"].lower()
        if not any(host == h or host.endswith("." + h) for h in self.dialect.link_hosts):
            return None
        return url

    def reason_with_link(self, reason: str, label: str, url: str | None) -> str:
        """`reason` followed by "; <label> <link>" when the link may be shown."""
        link = self.link(url)
        if link is None:
            return reason
        full = f"{reason}; {label} {link}"
        return full if len(full) <= MAX_LINK_REASON else reason


# https, a host name, then path/query/fragment made only of URL characters (RFC 3986)
_LINK = re.compile(
    r"https://(?P<host>[A-Za-z0-9.-]+)(?::[0-9]{1,5})?"
    r"(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
)
# Prefixes of API keys and OAuth tokens: a link with one of them is not shown
_CREDENTIAL_MARKERS = ("sk-", "ya29.", "1//0", "bearer", "access_token", "refresh_token")


def normalise_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names; the first value wins when names differ only by case."""
    normalised: dict[str, str] = {}
    for name, value in headers.items():
        normalised.setdefault(str(name).lower(), str(value))
    return normalised


def delta(seconds: float) -> timedelta:
    """Seconds (finite, >= 0 by construction of the parsers) as a timedelta, overflow-safe."""
    return timedelta(seconds=min(seconds, timedelta.max.total_seconds() / 2))
