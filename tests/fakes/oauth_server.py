"""A fake OAuth server with both shapes the gateway speaks to.

`with FakeOAuth() as fake:` serves, on 127.0.0.1:<free port>:

- Google-like (`fake.google_*_url`): `GET /google/authorize` redirects (302) to the given
  `redirect_uri` with `code` and `state`; `POST /google/token` takes a form (grant_type
  `refresh_token`, or `authorization_code` with the PKCE `code_verifier`, checked with S256
  against the `code_challenge` given at /authorize) and needs `client_secret`;
  `GET /google/userinfo` answers `{"email": ...}` for a bearer access token it issued.
- Anthropic-like (`fake.anthropic_*_url`): `GET /anthropic/authorize` as above;
  `POST /anthropic/token` takes JSON (no secret; the code grant also carries `state`) and its
  answer holds `account.email_address`.

Refresh tokens are made with `fake.issue_refresh_token(email)`, or by a code exchange.
Switches: `revoke(refresh_token)` (then 400 `invalid_grant`), `revoke_access(access_token)`
(an upstream linked through `is_current` / `IssuedTokens` then refuses it), `delay_s` (slow), `down`
(answers 503), `rotate` (every refresh answers a new refresh token and retires the old one),
`expires_in`, `login_email` (who logs in at /authorize). `token_calls` records every call to a
token endpoint (shape, grant type, the refresh token used).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web

from aigateway.application.ports.oauth import OAuthClient
from tests.fakes.openai_upstream import Handler, UpstreamServer

Shape = Literal["google", "anthropic"]

REVOKED = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class TokenCall:
    shape: Shape
    grant_type: str
    refresh_token: str | None
    fields: dict[str, Any]
    # the address the request came from: 127.0.0.1 direct, a proxy's egress IP through one
    peer: str = field(default="", compare=False)


@dataclass
class _Code:
    shape: Shape
    challenge: str
    method: str
    redirect_uri: str
    client_id: str
    state: str
    email: str


@dataclass
class FakeOAuth:
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"  # the Google-like endpoint requires it
    expires_in: int = 3600
    rotate: bool = False
    delay_s: float = 0.0
    down: bool = False
    login_email: str = "user@example.com"
    token_calls: list[TokenCall] = field(default_factory=list)
    # refresh token -> e-mail; access token -> e-mail
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    revoked_access: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._server = UpstreamServer()
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def url(self, shape: Shape, what: str) -> str:
        return f"{self.base_url}/{shape}/{what}"

    @property
    def google_token_url(self) -> str:
        return self.url("google", "token")

    @property
    def google_auth_url(self) -> str:
        return self.url("google", "authorize")

    @property
    def google_userinfo_url(self) -> str:
        return self.url("google", "userinfo")

    @property
    def anthropic_token_url(self) -> str:
        return self.url("anthropic", "token")

    @property
    def anthropic_auth_url(self) -> str:
        return self.url("anthropic", "authorize")

    def token_url(self, shape: Shape) -> str:
        return self.url(shape, "token")

    def issue_refresh_token(self, email: str = "user@example.com") -> str:
        token = "rt-" + secrets.token_urlsafe(16)
        with self._lock:
            self.refresh_tokens[token] = email
        return token

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self.revoked.add(refresh_token)

    def revoke_access(self, access_token: str) -> None:
        with self._lock:
            self.revoked_access.add(access_token)

    def calls(self, grant_type: str | None = None) -> list[TokenCall]:
        with self._lock:
            return [c for c in self.token_calls if grant_type in (None, c.grant_type)]

    def is_current(self, access_token: str) -> bool:
        """True for an access token this server issued (and so is known to be fresh) and did
        not revoke."""
        with self._lock:
            return access_token in self.access_tokens and access_token not in self.revoked_access

    def email_of(self, access_token: str) -> str | None:
        """Whose access token it is (None: not one this server issued)."""
        with self._lock:
            return self.access_tokens.get(access_token)

    def __enter__(self) -> FakeOAuth:
        routes: list[tuple[str, str, Handler]] = []
        for shape in ("google", "anthropic"):
            routes += [
                ("GET", f"/{shape}/authorize", self._authorize),
                ("POST", f"/{shape}/token", self._token),
            ]
        routes.append(("GET", "/google/userinfo", self._userinfo))
        self._server.start(routes)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    @staticmethod
    def _shape(request: web.Request) -> Shape:
        return "google" if request.path.startswith("/google/") else "anthropic"

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        needed = ("client_id", "redirect_uri", "state", "code_challenge", "response_type")
        missing = [name for name in needed if not q.get(name)]
        if missing or q["client_id"] != self.client_id or q["response_type"] != "code":
            return web.json_response({"error": "invalid_request", "missing": missing}, status=400)
        code = "code-" + secrets.token_urlsafe(12)
        with self._lock:
            self._codes[code] = _Code(
                shape=self._shape(request),
                challenge=q["code_challenge"],
                method=q.get("code_challenge_method", "plain"),
                redirect_uri=q["redirect_uri"],
                client_id=q["client_id"],
                state=q["state"],
                email=self.login_email,
            )
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
        raise web.HTTPFound(target)

    async def _userinfo(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        email = self.email_of(token) if self.is_current(token) else None
        if email is None:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response({"email": email, "verified_email": True})

    async def _token(self, request: web.Request) -> web.Response:
        shape = self._shape(request)
        fields: dict[str, Any]
        if shape == "google":
            if request.content_type != "application/x-www-form-urlencoded":
                return web.json_response({"error": "invalid_request"}, status=400)
            fields = dict(await request.post())
        else:
            if request.content_type != "application/json":
                return web.json_response({"error": "invalid_request"}, status=400)
            try:
                parsed = json.loads(await request.read())
            except ValueError:
                return web.json_response({"error": "invalid_request"}, status=400)
            fields = parsed if isinstance(parsed, dict) else {}
        grant = str(fields.get("grant_type", ""))
        refresh = fields.get("refresh_token")
        with self._lock:
            self.token_calls.append(
                TokenCall(
                    shape,
                    grant,
                    refresh if isinstance(refresh, str) else None,
                    fields,
                    peer=request.remote or "",
                )
            )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.down:
            return web.json_response({"error": "temporarily_unavailable"}, status=503)
        if fields.get("client_id") != self.client_id or (
            shape == "google" and fields.get("client_secret") != self.client_secret
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        if grant == "refresh_token":
            return self._refresh(shape, refresh)
        if grant == "authorization_code":
            return self._exchange(shape, fields)
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    def _refresh(self, shape: Shape, refresh: Any) -> web.Response:
        with self._lock:
            email = self.refresh_tokens.get(refresh) if isinstance(refresh, str) else None
            if email is None or refresh in self.revoked:
                return web.json_response(REVOKED, status=400)
            rotated = None
            if self.rotate:
                self.revoked.add(refresh)
                rotated = "rt-" + secrets.token_urlsafe(16)
                self.refresh_tokens[rotated] = email
            return self._grant(shape, email, rotated)

    def _exchange(self, shape: Shape, fields: dict[str, Any]) -> web.Response:
        with self._lock:
            code = self._codes.pop(str(fields.get("code", "")), None)
            verifier = fields.get("code_verifier")
            if (
                code is None
                or code.shape != shape
                or not isinstance(verifier, str)
                or code.method != "S256"
                or s256(verifier) != code.challenge
                or fields.get("redirect_uri") != code.redirect_uri
                or (shape == "anthropic" and fields.get("state") != code.state)
            ):
                return web.json_response(
                    {"error": "invalid_grant", "error_description": "Invalid code."}, status=400
                )
            refresh = "rt-" + secrets.token_urlsafe(16)
            self.refresh_tokens[refresh] = code.email
            return self._grant(shape, code.email, refresh)

    def _grant(self, shape: Shape, email: str, refresh: str | None) -> web.Response:
        """Called with the lock held."""
        access = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[access] = email
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }
        if refresh is not None:
            answer["refresh_token"] = refresh
        if shape == "anthropic":
            answer["account"] = {"uuid": "acc-" + email, "email_address": email}
        return web.json_response(answer)


class IssuedTokens(set[str]):
    """The tokens an upstream fake accepts (`FakeCloudCode(tokens=IssuedTokens(oauth))`): the
    current access tokens `oauth` issued; anything else (an expired or revoked token) is
    refused with a 401."""

    def __init__(self, oauth: FakeOAuth) -> None:
        super().__init__()
        self._oauth = oauth

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._oauth.is_current(token)


def oauth_client(fake: FakeOAuth, shape: Shape, *, redirect_uri: str = "") -> OAuthClient:
    """The gateway's OAuth client configured against `fake`."""
    google = shape == "google"
    return OAuthClient(
        name="google_oauth" if google else "anthropic_oauth",
        client_id=fake.client_id,
        client_secret=fake.client_secret if google else None,
        token_url=fake.url(shape, "token"),
        auth_url=fake.url(shape, "authorize"),
        userinfo_url=fake.google_userinfo_url if google else None,
        redirect_uri=redirect_uri or "http://localhost:8080/api/v1/oauth/callback",
        scopes="openid email" if google else "user:inference",
        json_body=not google,
    )
