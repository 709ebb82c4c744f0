"""The Litestar application factory; `create_app()` reads settings, nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator

from dishka import AsyncContainer, make_async_container
from litestar import Litestar, Router

from aigateway.application.ports.repositories import SettingsStore
from aigateway.application.use_cases.admin import (
    AccountDisabler,
    AccountsAdmin,
    ClientKeysAdmin,
    ProvidersAdmin,
)
from aigateway.application.use_cases.bootstrap import ensure_admin_key
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.onboarding import Onboarding
from aigateway.application.use_cases.proxies_admin import ProxiesAdmin
from aigateway.application.use_cases.proxy_assignments import ProxyAssignments
from aigateway.application.use_cases.proxy_chat import ProxyChat
from aigateway.application.use_cases.proxy_health import ProxyMonitor
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.application.use_cases.token_counting import TokenCounting
from aigateway.application.use_cases.token_upkeep import TokenAdmin, TokenRefresher
from aigateway.application.use_cases.upstream_models import AccountModels
from aigateway.entrypoints.http.admin import ADMIN_CONTROLLERS, admin_guard
from aigateway.entrypoints.http.errors import admin_exception_handler, gateway_exception_handler
from aigateway.entrypoints.http.gateway import gateway_routes
from aigateway.entrypoints.http.health import health
from aigateway.entrypoints.http.oauth import OAUTH_ADMIN_CONTROLLERS, oauth_callback
from aigateway.entrypoints.http.proxies import PROXY_CONTROLLERS
from aigateway.entrypoints.http.runtime import Runtime, Services
from aigateway.entrypoints.ioc.providers import CLIENT_FORMATS, HealthChecks, production_providers
from aigateway.entrypoints.ioc.settings import Settings, load_settings

log = logging.getLogger(__name__)

WRITER_STOP_S = 10.0  # how long shutdown waits for a request-log write under way


def create_app(
    settings: Settings | None = None, container: AsyncContainer | None = None
) -> Litestar:
    settings = settings or load_settings()
    runtime = Runtime()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        di = container or make_async_container(
            *production_providers(), context={Settings: settings}
        )
        tasks: list[asyncio.Task[None]] = []
        writer: asyncio.Task[None] | None = None
        logs: RequestLogQueue | None = None
        disabler: AccountDisabler | None = None
        try:
            started_at = time.time()
            admin_auth, _ = await ensure_admin_key(
                await di.get(SettingsStore), settings.security.admin_key
            )
            catalog = await di.get(CatalogCache)
            await catalog.reload()
            logs = await di.get(RequestLogQueue)
            disabler = await di.get(AccountDisabler)
            upstream_models = await di.get(AccountModels)
            runtime.start(
                Services(
                    settings=settings,
                    started_at=started_at,
                    proxy_chat=await di.get(ProxyChat),
                    token_counting=await di.get(TokenCounting),
                    catalog=catalog,
                    logs=logs,
                    admin_auth=admin_auth,
                    providers_admin=await di.get(ProvidersAdmin),
                    accounts_admin=await di.get(AccountsAdmin),
                    keys_admin=await di.get(ClientKeysAdmin),
                    proxies_admin=await di.get(ProxiesAdmin),
                    health_checks=await di.get(HealthChecks),
                    notices=await di.get(OperatorNotices),
                    onboarding=await di.get(Onboarding),
                    upstream_models=upstream_models,
                    token_admin=await di.get(TokenAdmin),
                )
            )
            catalog.keep_assigned((await di.get(ProxyAssignments)).recalculate)
            await catalog.reconcile()
            writer = asyncio.create_task(logs.run(), name="request-log-writer")
            tasks = [
                asyncio.create_task(catalog.watch(), name="catalog-watch"),
                asyncio.create_task(upstream_models.watch(), name="upstream-models-watch"),
                asyncio.create_task((await di.get(TokenRefresher)).run(), name="token-refresher"),
                asyncio.create_task((await di.get(ProxyMonitor)).watch(), name="proxy-monitor"),
            ]
            # Everything built so far lives as long as the process: keep it out of the cyclic
            # collector's full passes, which otherwise stall the event loop for tens of ms.
            # Requests allocate many short-lived objects: collect the young generation less often.
            gc.collect()
            gc.freeze()
            gc.set_threshold(20_000, 20, 50)
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if logs is not None and writer is not None:
                logs.stop()  # the write under way ends first: a cancelled one may be written twice
                try:
                    await asyncio.wait_for(writer, WRITER_STOP_S)
                except TimeoutError:
                    log.warning("shutdown: the request log writer did not stop in time")
            if logs is not None and not await logs.flush():
                log.error("shutdown: %d request log rows could not be written", logs.pending)
            if disabler is not None:  # accounts found revoked at the end are still disabled
                await disabler.drain()
            await di.close()

    admin = Router(
        "/api/v1",
        route_handlers=[*ADMIN_CONTROLLERS, *OAUTH_ADMIN_CONTROLLERS, *PROXY_CONTROLLERS],
        guards=[admin_guard],
        exception_handlers={Exception: admin_exception_handler},
    )
    # the page the browser comes back to after an OAuth login: no admin key (see oauth.py)
    oauth_pages = Router("/api/v1", route_handlers=[oauth_callback])
    app = Litestar(
        route_handlers=[*gateway_routes(CLIENT_FORMATS, runtime), health, admin, oauth_pages],
        lifespan=[lifespan],
        exception_handlers={Exception: gateway_exception_handler},
        request_max_body_size=settings.server.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    app.state.runtime = runtime
    return app
