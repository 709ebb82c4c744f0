"""Onboarding routes (`/api/v1/oauth/*`) and the quota view of an account.

`init` and `exchange` are admin routes; `callback` is the page the browser is sent back to
after the login, reached without the admin key (see `application/use_cases/onboarding.py` for
how a login stays bound to whoever started it). The page shows no token, escapes everything it
shows, runs no script and is not to be framed, cached or referred from.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery, QueryParameter

from aigateway.application.ports.onboarding import FlowType
from aigateway.application.ports.repositories import StoreUnavailable
from aigateway.application.use_cases.admin_failures import AdminActionFailed
from aigateway.domain.accounts import Account, fingerprint_secret
from aigateway.domain.providers import ProviderKind
from aigateway.entrypoints.http.admin import AccountView, account_view
from aigateway.entrypoints.http.errors import ApiErrorBody, api_error_response
from aigateway.entrypoints.http.runtime import runtime_of

log = logging.getLogger(__name__)

T = TypeVar("T")


class InitBody(msgspec.Struct, forbid_unknown_fields=True):
    provider: Literal["antigravity", "anthropic"]
    flow_type: FlowType
    provider_id: str | None = None


class ExchangeBody(msgspec.Struct, forbid_unknown_fields=True):
    callback_url: str


class StartedView(msgspec.Struct):
    auth_url: str
    state: str
    flow_type: str
    expires_at: datetime


class ModelQuotaView(msgspec.Struct):
    model: str
    display_name: str | None
    remaining_fraction: float | None
    reset_time: str | None


class QuotaView(msgspec.Struct):
    account_id: str
    data: list[ModelQuotaView]
    total: int
    deprecated: dict[str, str]  # old model id -> the id that replaces it


def initiator_of(request: Request[Any, Any, State]) -> str:
    """The fingerprint of the admin credential of the request (the guard checked it)."""
    _scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    return fingerprint_secret(token.strip())


async def _decoded(request: Request[Any, Any, State], type_: type[T]) -> T:
    """400 naming the field for an unknown field, a wrong value or a missing field."""
    try:
        return msgspec.json.decode(await request.body(), type=type_)
    except msgspec.ValidationError as exc:
        raise AdminActionFailed(400, "invalid_request", str(exc).replace("`$.", "`")) from None
    except (msgspec.DecodeError, RecursionError):
        raise ClientException("request body is not valid JSON") from None


def _failed(_: Request[Any, Any, Any], exc: AdminActionFailed) -> Response[ApiErrorBody]:
    return api_error_response(exc.status, exc.code, exc.message)


class OAuthController(Controller):
    path = "/oauth"
    exception_handlers = {AdminActionFailed: _failed}  # noqa: RUF012 (litestar's layout)

    @post("/init", status_code=200)
    async def init(self, request: Request[Any, Any, State]) -> StartedView:
        body = await _decoded(request, InitBody)
        started = await runtime_of(request).onboarding.start(
            ProviderKind(body.provider), body.flow_type, body.provider_id, initiator_of(request)
        )
        return StartedView(
            started.auth_url, started.state, started.flow_type.value, started.expires_at
        )

    @post("/exchange", status_code=200)
    async def exchange(self, request: Request[Any, Any, State]) -> AccountView:
        body = await _decoded(request, ExchangeBody)
        account = await runtime_of(request).onboarding.finish_pasted(
            body.callback_url, initiator_of(request)
        )
        return await account_view(request, account)


class QuotaController(Controller):
    path = "/accounts/{account_id:str}"
    exception_handlers = {AdminActionFailed: _failed}  # noqa: RUF012 (litestar's layout)

    @get("/quota")
    async def quota(
        self, request: Request[Any, Any, State], account_id: FromPath[str]
    ) -> QuotaView:
        report = await runtime_of(request).upstream_models.quota(account_id)
        models = [
            ModelQuotaView(m.model, m.display_name, m.remaining_fraction, m.reset_time)
            for m in report.models
        ]
        return QuotaView(account_id, models, len(models), dict(report.deprecated))


# --- the callback page ------------------------------------------------------------------------

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def page(status: int, title: str, lines: list[str]) -> Response[str]:
    """A plain HTML page; every text is escaped."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:3em auto}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(document, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


def _added_page(account: Account) -> Response[str]:
    return page(
        200,
        "Account added",
        [
            f"{account.label} is now account {account.id} of provider {account.provider_id}.",
            "You can close this window.",
        ],
    )


@get("/oauth/callback", media_type=MediaType.HTML)
async def oauth_callback(
    request: Request[Any, Any, State],
    code: FromQuery[str | None] = None,
    login_state: Annotated[str | None, QueryParameter(name="state")] = None,
    error: FromQuery[str | None] = None,
) -> Response[str]:
    state = login_state
    if not state:
        return page(400, "Login not completed", ["The callback carries no state."])
    onboarding = runtime_of(request).onboarding
    try:
        account = await onboarding.finish_redirect(code, state, error)
    except AdminActionFailed as exc:
        if exc.code == "manual_login":
            return page(
                200,
                "Finish the login in the admin API",
                [
                    "This login was started as a manual one. Copy this page's address from the "
                    "address bar and send it to POST /api/v1/oauth/exchange as callback_url.",
                ],
            )
        return page(exc.status if exc.status < 500 else 502, "Login not completed", [exc.message])
    except StoreUnavailable:
        return page(503, "Login not completed", ["The gateway's store is unavailable; retry."])
    except Exception:
        log.exception("unhandled error finishing an OAuth login")
        return page(500, "Login not completed", ["Internal error; see the gateway's log."])
    return _added_page(account)


OAUTH_ADMIN_CONTROLLERS = [OAuthController, QuotaController]
