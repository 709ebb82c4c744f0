"""The OAuth token endpoint over the `Upstream` transport (aiohttp): refresh and code grants.

Google's endpoint takes a form and needs the client secret; Anthropic's takes JSON, carries the
`state` of an authorization-code exchange, and answers the account's e-mail in
`account.email_address`. The answer is read up to `MAX_ANSWER_BYTES`; every failure is a
`TokenEndpointError` with the status and the answer's first bytes, never a token in its text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import urlencode

import msgspec

from aigateway.application.ports.oauth import OAuthClient, TokenEndpointError, TokenGrant
from aigateway.application.ports.upstream import Upstream, UpstreamRequest, UpstreamUnavailable
from aigateway.domain.credentials.tokens import expiry_from
from aigateway.domain.proxies import Route

MAX_ANSWER_BYTES = 64 * 1024  # a token answer is well under 4 KiB
MAX_ERROR_BODY = 4096  # what an error keeps of the answer, for classification
DEFAULT_EXPIRES_IN = 3600.0  # an answer without `expires_in`: the usual hour


class _Account(msgspec.Struct):
    email_address: str | None = None


class _Answer(msgspec.Struct):
    access_token: str | None = None
    expires_in: float | None = None
    refresh_token: str | None = None
    account: _Account | None = None


class HttpTokenEndpoint:
    def __init__(
        self, upstream: Upstream, *, timeout_s: float = 15.0, total_timeout_s: float = 30.0
    ) -> None:
        self._upstream = upstream
        self._timeout_s = timeout_s
        self._total_timeout_s = total_timeout_s

    async def refresh(
        self, client: OAuthClient, refresh_token: str, now: datetime, route: Route
    ) -> TokenGrant:
        fields = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._grant(client, fields, now, route)

    async def exchange_code(
        self,
        client: OAuthClient,
        *,
        code: str,
        verifier: str,
        redirect_uri: str,
        state: str | None,
        now: datetime,
        route: Route,
    ) -> TokenGrant:
        fields = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        if client.json_body and state is not None:
            fields["state"] = state
        return await self._grant(client, fields, now, route)

    async def _grant(
        self, client: OAuthClient, fields: dict[str, str], now: datetime, route: Route
    ) -> TokenGrant:
        if client.client_id:
            fields["client_id"] = client.client_id
        if client.client_secret:
            fields["client_secret"] = client.client_secret
        if client.json_body:
            body = json.dumps(fields).encode()
            content_type = "application/json"
        else:
            body = urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        request = UpstreamRequest(
            url=client.token_url,
            headers={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            route=route,
            timeout_s=self._timeout_s,
            total_timeout_s=self._total_timeout_s,
        )
        where = f"{client.name} token endpoint"
        try:
            response = await self._upstream.open(request)
            try:
                raw = await read_bounded(response.iter_chunks())
            finally:
                await response.close()
        except UpstreamUnavailable as exc:
            raise TokenEndpointError(f"{where}: {exc}", kind=exc.kind) from None
        status = response.status
        if not 200 <= status < 300:
            raise TokenEndpointError(
                f"{where} answered {status}", status=status, body=raw[:MAX_ERROR_BODY]
            )
        return _parsed(raw, status, where, now)


async def read_bounded(chunks: AsyncIterator[bytes], limit: int = MAX_ANSWER_BYTES) -> bytes:
    """A small answer, read whole; more than `limit` bytes fails as UpstreamUnavailable."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise UpstreamUnavailable(f"answer exceeds {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _parsed(raw: bytes, status: int, where: str, now: datetime) -> TokenGrant:
    try:
        answer = msgspec.json.decode(raw, type=_Answer)
    except msgspec.DecodeError:
        raise TokenEndpointError(
            f"{where} answered {status} with an unreadable body", status=status
        ) from None
    if not answer.access_token:
        raise TokenEndpointError(
            f"{where} answered {status} without an access token", status=status
        )
    expires_in = answer.expires_in if answer.expires_in is not None else DEFAULT_EXPIRES_IN
    return TokenGrant(
        access_token=answer.access_token,
        refresh_token=answer.refresh_token or None,
        expires_at=expiry_from(expires_in, now),
        email=answer.account.email_address if answer.account else None,
    )
