"""The e-mail behind a Google access token: `GET {userinfo_url}` with the bearer token, through
the route the account will use."""

from __future__ import annotations

import msgspec

from aigateway.adapters.oauth.token_endpoint import read_bounded
from aigateway.application.ports.onboarding import IdentityUnavailable
from aigateway.application.ports.upstream import Upstream, UpstreamRequest, UpstreamUnavailable
from aigateway.domain.proxies import Route

MAX_ANSWER_BYTES = 64 * 1024


class _UserInfo(msgspec.Struct):
    email: str | None = None


class HttpUserInfo:
    def __init__(self, upstream: Upstream, *, timeout_s: float = 15.0) -> None:
        self._upstream = upstream
        self._timeout_s = timeout_s

    async def email_of(self, userinfo_url: str, access_token: str, route: Route) -> str:
        request = UpstreamRequest(
            method="GET",
            url=userinfo_url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            body=b"",
            route=route,
            timeout_s=self._timeout_s,
            total_timeout_s=self._timeout_s,
        )
        try:
            response = await self._upstream.open(request)
            try:
                status = response.status
                raw = await read_bounded(response.iter_chunks(), MAX_ANSWER_BYTES)
            finally:
                await response.close()
        except UpstreamUnavailable as exc:
            raise IdentityUnavailable(f"userinfo endpoint unreachable ({exc})") from None
        if status != 200:
            raise IdentityUnavailable(f"userinfo endpoint answered {status}")
        try:
            info = msgspec.json.decode(raw, type=_UserInfo)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise IdentityUnavailable("userinfo endpoint answered an unreadable body") from None
        if not info.email:
            raise IdentityUnavailable("userinfo endpoint answered no e-mail")
        return info.email
