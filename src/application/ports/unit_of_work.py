"""The unit of work: the repositories of one admin write, bound to one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol, Self

from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    ProviderRepository,
    ProxyRepository,
)

CatalogChanged = Callable[[], Awaitable[None]]
"""The one "catalog changed" hook: tell every process to reload its snapshot."""


class UnitOfWork(Protocol):
    """`async with uow() as tx:` reads and writes through `tx.*` in one transaction.

    Leaving the block normally commits, an exception rolls back. After a commit in which a
    write changed a row, the unit of work calls its `CatalogChanged` hook (once).
    """

    @property
    def providers(self) -> ProviderRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def keys(self) -> ClientKeyRepository: ...
    @property
    def proxies(self) -> ProxyRepository: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
