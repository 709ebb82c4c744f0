"""One `v1internal` call on the Cloud Code backend (not the chat path): tried on each of the
provider's endpoints in order (as the profile lists them, with its User-Agent), moving on on
network errors, 404, 408, 429 and 5xx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from aigateway.adapters.upstream.profiles.antigravity import (
    DEFAULT_CLIENT_VERSION,
    AntigravityProfile,
)
from aigateway.application.ports.upstream import Upstream, UpstreamRequest, UpstreamUnavailable
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route

_MOVE_ON = frozenset({404, 408, 429})
MAX_ANSWER_BYTES = 4 * 1024 * 1024
_PROFILE = AntigravityProfile()


class CallFailed(RuntimeError):
    """Every base URL failed; the message says how (never with a token)."""


def client_version(provider: Provider) -> str:
    return str(provider.config.get("client_version") or DEFAULT_CLIENT_VERSION)


def _reason(status: int, body: bytes) -> str:
    """`<status>: <upstream message>` (bounded) for the operator."""
    message = ""
    try:
        decoded = msgspec.json.decode(body[:65536])
    except (msgspec.DecodeError, RecursionError):
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        found = decoded["error"].get("message")
        message = found if isinstance(found, str) else ""
    return f"HTTP {status}: {message[:200]}" if message else f"HTTP {status}"


async def call(
    upstream: Upstream,
    provider: Provider,
    access_token: str,
    method: str,
    body: Mapping[str, Any],
    *,
    route: Route,
    timeout_s: float,
) -> dict[str, Any]:
    """POST `{base}/v1internal:{method}` with the account's bearer token, through the
    account's route; the JSON answer."""
    headers = {
        "Authorization": f"Bearer {access_token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": _PROFILE.user_agent(provider),
    }
    payload = msgspec.json.encode(body)
    failures: list[str] = []
    for base in _PROFILE.base_urls(provider):
        request = UpstreamRequest(
            url=f"{base}/v1internal:{method}",
            headers=headers,
            body=payload,
            route=route,
            timeout_s=timeout_s,
            total_timeout_s=timeout_s,
        )
        try:
            response = await upstream.open(request)
            try:
                status, raw = response.status, await response.read()
            finally:
                await response.close()
        except UpstreamUnavailable as exc:
            if exc.kind is NetworkErrorKind.PROXY:
                raise  # the account's proxy: every endpoint is behind it
            failures.append(f"{base}: {exc}")
            continue
        if 200 <= status < 300:
            try:
                answer = msgspec.json.decode(raw[:MAX_ANSWER_BYTES])
            except (msgspec.DecodeError, RecursionError):
                answer = None
            if not isinstance(answer, dict):
                raise CallFailed(f"{method} at {base} answered something other than a JSON object")
            return answer
        failures.append(f"{base}: {_reason(status, raw)}")
        if status not in _MOVE_ON and status < 500:
            break  # the account's problem (401, 403, 400): another endpoint says the same
    raise CallFailed(f"{method} failed ({'; '.join(failures)})")
