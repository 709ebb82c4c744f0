"""The e-mail behind a Google access token: `GET {userinfo_url}` with the bearer token (aiohttp;
one short-lived session per login, which is rare)."""

from __future__ import annotations

import aiohttp
import msgspec

from aigateway.application.ports.onboarding import IdentityUnavailable

MAX_ANSWER_BYTES = 64 * 1024


class _UserInfo(msgspec.Struct):
    email: str | None = None


class HttpUserInfo:
    def __init__(self, *, timeout_s: float = 15.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def email_of(self, userinfo_url: str, access_token: str) -> str:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout, trust_env=False) as session,
                session.get(userinfo_url, headers=headers, allow_redirects=False) as response,
            ):
                status = response.status
                raw = await response.content.read(MAX_ANSWER_BYTES)
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise IdentityUnavailable(f"userinfo endpoint unreachable ({reason})") from None
        if status != 200:
            raise IdentityUnavailable(f"userinfo endpoint answered {status}")
        try:
            info = msgspec.json.decode(raw, type=_UserInfo)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise IdentityUnavailable("userinfo endpoint answered an unreadable body") from None
        if not info.email:
            raise IdentityUnavailable("userinfo endpoint answered no e-mail")
        return info.email
