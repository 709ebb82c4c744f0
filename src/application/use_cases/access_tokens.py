"""The credential of one attempt: an API key as stored, or a current OAuth access token.

An OAuth token comes from the process's own cache, then the shared cache (Redis
`auth:oauth:{provider}:{account_id}` when configured), then the access token stored with the
account while it is valid, then a refresh at the account's OAuth client. One refresh per account
at a time: within the process one in-flight future per account; across processes a lock with an
expiry, whose losers poll the shared cache for the fresh token until a bounded deadline.

A refresh stores the new access token, its expiry and a rotated refresh token (encrypted, in
the account's auth_data; the `expires_at` column follows) through a unit of work, whose commit
announces the change so every process's catalog holds the new credential. A refresh that fails
raises `CredentialUnavailable` carrying the classified `Failure`: the request then treats it
like any failed attempt (a revoked refresh token disables the account, an unreachable token
endpoint cools it briefly, and the request moves on).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import msgspec

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.oauth import (
    OAuthClient,
    RefreshLock,
    TokenCache,
    TokenEndpoint,
    TokenEndpointError,
)
from aigateway.application.ports.repositories import (
    AccountRepository,
    NotFound,
    StoreUnavailable,
)
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.domain.accounts import Account, AuthType, Credential
from aigateway.domain.credentials.tokens import OAuthToken, cache_ttl, needs_refresh
from aigateway.domain.errors import (
    CooldownScope,
    Failure,
    FailureAction,
    FailureCategory,
    NetworkErrorKind,
    classify_token_refresh_error,
)
from aigateway.domain.errors.failure import clip_reason
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import NoRoute, Route

log = logging.getLogger(__name__)

MAX_LOCAL = 10_000  # accounts whose token (and last renewal) this process remembers
POLL_S = 0.05  # how often a process that lost the refresh lock looks for the fresh token


class CredentialUnavailable(Exception):
    """No usable credential for the attempt. `failure` says what to do about the account,
    `account` is the account as the refresh saw it (its current credential); `message`, when
    set, is what the client is told if no other account answers (e.g. a missing setting)."""

    def __init__(
        self,
        failure: Failure,
        account: Account,
        message: str | None = None,
        *,
        proxy_failed: bool = False,
    ) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.account = account
        self.message = message
        self.proxy_failed = proxy_failed  # the account's proxy, not the token endpoint, failed


class RefreshTimings(msgspec.Struct, frozen=True, kw_only=True):
    skew: timedelta = timedelta(seconds=300)  # a token this close to expiry is not used
    lock: timedelta = timedelta(seconds=30)  # the refresh lock's expiry; also the wait bound


def _failure(reason: str, category: FailureCategory, action: FailureAction) -> Failure:
    return Failure(
        category=category,
        action=action,
        reason=clip_reason(reason),
        cooldown_scope=CooldownScope.ACCOUNT,
    )


def stored_token(account: Account) -> OAuthToken | None:
    """The access token kept with the account, with its expiry (None if either is unknown)."""
    access = account.credential.data.get("access_token")
    if not isinstance(access, str) or not access or account.expires_at is None:
        return None
    return OAuthToken(access, account.expires_at)


class AccessTokens:
    def __init__(
        self,
        clients: Mapping[ProviderKind, OAuthClient],
        endpoint: TokenEndpoint,
        cache: TokenCache,
        lock: RefreshLock,
        accounts: AccountRepository,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notices: OperatorNotices,
        routes: Callable[[Account], Route | NoRoute],
        timings: RefreshTimings | None = None,
    ) -> None:
        self._routes = routes  # a refresh goes out through the account's own proxy
        self._clients = clients
        self._endpoint = endpoint
        self._cache = cache
        self._lock = lock
        self._accounts = accounts
        self._uow = uow
        self._clock = clock
        self._notices = notices
        self._timings = timings or RefreshTimings()
        self._holder = uuid.uuid4().hex  # this process, as the refresh lock's holder
        self._local: dict[str, OAuthToken] = {}  # account id -> token
        self._flights: dict[str, asyncio.Future[OAuthToken]] = {}
        # account id -> (the credential a renewal replaced, the account after it)
        self._renewed: dict[str, tuple[Credential, Account]] = {}

    async def secret_for(
        self, account: Account, provider: Provider, *, refused: str | None = None
    ) -> str:
        """The secret to send for `account`. `refused`: an access token upstream just refused
        (401): a token other than that one is needed. Raises CredentialUnavailable."""
        credential = account.credential
        if credential.auth_type is AuthType.API_KEY:
            return credential.secret
        held = self._local.get(account.id)
        if (
            held is not None
            and held.access_token != refused
            and not needs_refresh(held, self._clock.now(), self._timings.skew)
        ):
            return held.access_token
        token = await self._single_flight(account, provider, refused, self._timings.skew)
        return token.access_token

    async def renew(self, account: Account, provider: Provider) -> OAuthToken:
        """A new token from the token endpoint now, whatever is cached (the operator's
        "refresh now"). Raises CredentialUnavailable; ValueError for a non-OAuth account."""
        if account.credential.auth_type is not AuthType.OAUTH:
            raise ValueError("not an OAuth account")
        while (flight := self._flights.get(account.id)) is not None:
            await asyncio.wait([flight])  # whatever it gives, a new token is asked for
        return await self._single_flight(account, provider, None, self._timings.skew, force=True)

    async def renew_ahead(self, account: Account, provider: Provider, ahead: timedelta) -> None:
        """The background refresher: renew unless the token is valid for `ahead` longer."""
        await self._single_flight(account, provider, None, max(ahead, self._timings.skew))

    async def forget(self, account: Account) -> bool:
        """Drop the cached token (here and shared): the next use refreshes. True when the
        shared cache held one."""
        self._local.pop(account.id, None)
        try:
            return await self._cache.delete(account.provider_id, account.id)
        except Exception as exc:  # the operator is told to retry, not shown a 500
            raise StoreUnavailable(f"token cache: {type(exc).__name__}") from None

    async def cached_until(self, account: Account) -> datetime | None:
        """Until when the shared cache hands out the account's token (None: not cached)."""
        try:
            ttl = await self._cache.ttl(account.provider_id, account.id)
        except Exception as exc:
            log.warning("token cache unavailable: %s", exc)
            return None
        return None if ttl is None else self._clock.now() + ttl

    def current(self, account: Account) -> Account:
        """`account`, or its newer self if a renewal here replaced the credential it holds
        (a rotated refresh token is not a credential replaced by the operator)."""
        renewed = self._renewed.get(account.id)
        if renewed is not None and renewed[0] == account.credential:
            return renewed[1]
        return account

    def client_for(self, provider: Provider) -> OAuthClient | None:
        return self._clients.get(provider.kind)

    # --- the single flight ------------------------------------------------------------------

    async def _single_flight(
        self,
        account: Account,
        provider: Provider,
        refused: str | None,
        skew: timedelta,
        *,
        force: bool = False,
    ) -> OAuthToken:
        while not force:
            flight = self._flights.get(account.id)
            if flight is None:
                break
            token = await asyncio.shield(flight)
            if token.access_token != refused and not needs_refresh(token, self._clock.now(), skew):
                return token
        flight = asyncio.ensure_future(self._obtain(account, provider, refused, skew, force))
        self._flights[account.id] = flight
        flight.add_done_callback(lambda done: self._landed(account.id, done))
        return await asyncio.shield(flight)

    def _landed(self, account_id: str, flight: asyncio.Future[OAuthToken]) -> None:
        if self._flights.get(account_id) is flight:
            del self._flights[account_id]
        if not flight.cancelled():
            flight.exception()  # retrieved: every waiter got it already

    def _usable(self, token: OAuthToken | None, refused: str | None, skew: timedelta) -> bool:
        return (
            token is not None
            and token.access_token != refused
            and not needs_refresh(token, self._clock.now(), skew)
        )

    async def _obtain(
        self,
        account: Account,
        provider: Provider,
        refused: str | None,
        skew: timedelta,
        force: bool,
    ) -> OAuthToken:
        if not force:
            shared = await self._shared_get(provider.id, account.id)
            if shared is not None and self._usable(shared, refused, skew):
                return self._keep_local(account.id, shared)
            stored = stored_token(account)
            if stored is not None and self._usable(stored, refused, skew):
                await self._shared_put(provider.id, account.id, stored)
                return self._keep_local(account.id, stored)
        client = self._clients.get(provider.kind)
        if client is None:
            reason = f"provider kind {provider.kind.value} takes API keys, not OAuth accounts"
            raise CredentialUnavailable(
                _failure(reason, FailureCategory.AUTH_INVALID, FailureAction.ROTATE),
                account,
                reason,
            )
        missing = client.missing_setting()
        if missing is not None:
            message = f"OAuth token refresh needs a setting: set {missing}"
            self._notices.note(f"oauth:{missing.split(' ')[0]}", message, self._clock.now())
            log.warning("account %s: %s", account.id, message)
            raise CredentialUnavailable(
                _failure(message, FailureCategory.AUTH_INVALID, FailureAction.ROTATE),
                account,
                message,
            )
        if force:  # a token another process stores from now on is new enough
            before = await self._shared_get(provider.id, account.id)
            refused = before.access_token if before is not None else refused
        deadline = self._clock.monotonic() + self._timings.lock.total_seconds()
        while True:
            if await self._acquire(provider.id, account.id):
                try:
                    return await self._refresh(client, account, provider, refused, skew, force)
                finally:
                    await self._release(provider.id, account.id)
            # another process is refreshing: its token lands in the shared cache
            shared = await self._shared_get(provider.id, account.id)
            if shared is not None and self._usable(shared, refused, skew):
                return self._keep_local(account.id, shared)
            if self._clock.monotonic() >= deadline:
                reason = "token refresh under way in another process did not finish in time"
                raise CredentialUnavailable(
                    _failure(reason, FailureCategory.TRANSIENT, FailureAction.ROTATE), account
                )
            await asyncio.sleep(POLL_S)

    async def _refresh(
        self,
        client: OAuthClient,
        account: Account,
        provider: Provider,
        refused: str | None,
        skew: timedelta,
        force: bool,
    ) -> OAuthToken:
        # the lock is ours: a holder before us may just have stored a fresh token
        shared = None if force else await self._shared_get(provider.id, account.id)
        if shared is not None and self._usable(shared, refused, skew):
            return self._keep_local(account.id, shared)
        try:  # the stored row, not the snapshot: another process may have rotated the token
            account = await self._accounts.get(account.id)
        except NotFound:
            raise CredentialUnavailable(
                _failure("account deleted", FailureCategory.AUTH_REVOKED, FailureAction.ROTATE),
                account,
            ) from None
        refresh_token = account.credential.data.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            reason = "access token expired and no refresh token stored; re-authorise the account"
            raise CredentialUnavailable(
                _failure(reason, FailureCategory.AUTH_REVOKED, FailureAction.DISABLE_AND_ROTATE),
                account,
            )
        route = self._routes(account)
        if isinstance(route, NoRoute):
            reason = f"token refresh not sent: {route.reason}"
            raise CredentialUnavailable(
                _failure(reason, FailureCategory.TRANSIENT, FailureAction.ROTATE), account
            )
        now = self._clock.now()
        try:
            grant = await self._endpoint.refresh(client, refresh_token, now, route)
        except TokenEndpointError as exc:
            failure = classify_token_refresh_error(exc.status, exc.body, error_kind=exc.kind)
            log.warning("token refresh for account %s failed: %s", account.id, failure.reason)
            proxy_failed = exc.kind is NetworkErrorKind.PROXY
            raise CredentialUnavailable(failure, account, proxy_failed=proxy_failed) from None
        for key in ("client_id", "client_secret"):  # configured now: the notice is over
            self._notices.clear(f"oauth:{client.name}.{key}")
        token = grant.token
        await self._shared_put(provider.id, account.id, token)
        self._keep_local(account.id, token)
        await self._persist(account, token, grant.refresh_token)
        log.info(
            "token refreshed for account %s, valid until %s%s",
            account.id,
            token.expires_at.isoformat(),
            " (refresh token rotated)" if grant.refresh_token else "",
        )
        return token

    async def _persist(self, used: Account, token: OAuthToken, rotated: str | None) -> None:
        """Store the new token with the account, unless the operator replaced the credential
        meanwhile. The cooldowns stay: they belong to the account, not to the token."""
        data = dict(used.credential.data)
        data["access_token"] = token.access_token
        data["expires_at"] = token.expires_at.isoformat().replace("+00:00", "Z")
        if rotated:
            data["refresh_token"] = rotated
        renewed_credential = Credential(auth_type=AuthType.OAUTH, data=data)
        try:
            async with self._uow() as tx:
                current = await tx.accounts.get(used.id)
                if current.credential.fingerprint() != used.credential.fingerprint():
                    log.info("account %s got a new credential meanwhile; kept", used.id)
                    return
                renewed = await tx.accounts.update(
                    msgspec.structs.replace(
                        current,
                        credential=renewed_credential,
                        expires_at=token.expires_at,
                        updated_at=self._clock.now(),
                    )
                )
        except Exception as exc:
            # the token is cached; a rotated refresh token that cannot be stored is lost
            level = logging.ERROR if rotated else logging.WARNING
            log.log(level, "could not store the renewed token of account %s: %s", used.id, exc)
            return
        renewed_map = self._renewed
        renewed_map.pop(used.id, None)
        if len(renewed_map) >= MAX_LOCAL:
            del renewed_map[next(iter(renewed_map))]
        renewed_map[used.id] = (used.credential, renewed)

    # --- the caches and the lock, tolerant of a shared store that is away ---------------------

    def _keep_local(self, account_id: str, token: OAuthToken) -> OAuthToken:
        local = self._local
        if account_id not in local and len(local) >= MAX_LOCAL:
            del local[next(iter(local))]
        local[account_id] = token
        return token

    async def _shared_get(self, provider_id: str, account_id: str) -> OAuthToken | None:
        try:
            return await self._cache.get(provider_id, account_id)
        except Exception as exc:
            log.warning("token cache unavailable: %s", exc)
            return None

    async def _shared_put(self, provider_id: str, account_id: str, token: OAuthToken) -> None:
        ttl = cache_ttl(token, self._clock.now(), self._timings.skew)
        try:
            await self._cache.put(provider_id, account_id, token, ttl)
        except Exception as exc:
            log.warning("token cache unavailable: %s", exc)

    async def _acquire(self, provider_id: str, account_id: str) -> bool:
        try:
            return await self._lock.acquire(
                provider_id, account_id, self._holder, self._timings.lock
            )
        except Exception as exc:  # no shared lock: this process refreshes on its own
            log.warning("refresh lock unavailable: %s", exc)
            return True

    async def _release(self, provider_id: str, account_id: str) -> None:
        try:
            await self._lock.release(provider_id, account_id, self._holder)
        except Exception as exc:
            log.warning("refresh lock unavailable: %s", exc)
