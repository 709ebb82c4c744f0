"""A lean Redis connection for the request path: one socket, commands pipelined in order.

redis-py's asyncio client spends more CPU per command than the rest of the gateway's hot path
together (pool checkout under a lock, a timeout scope per read, retry wrappers). Here every
request writes its command onto one shared connection and awaits a future; Redis answers in
order, so concurrent requests are pipelined for free. A watchdog fails commands that wait
longer than `timeout_s` and drops the connection; the caller's circuit breaker takes over.
Only what the hot path needs is spoken: RESP2 integers, bulk strings, arrays and errors.

A (re)connected socket is handed to callers only once its handshake (AUTH, CLIENT SETNAME,
SELECT, as the URL asks) has been answered, so no command can reach the wrong database or run
unauthenticated; callers arriving meanwhile wait for it. URLs are read by redis-py's parser.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, cast

from redis.asyncio.connection import (
    ConnectionPool,
    RedisSSLContext,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Reply = int | bytes | None | list[Any] | ResponseError


def encode_command(*args: bytes | str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)


class _Incomplete(Exception):
    pass


class ReplyParser:
    """Incremental RESP2 parser: feed bytes, take complete replies."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Reply]:
        self._buffer += data
        replies: list[Reply] = []
        while self._buffer:
            try:
                reply, end = self._parse(0)
            except _Incomplete:
                break
            del self._buffer[:end]
            replies.append(reply)
        return replies

    def _line(self, start: int) -> tuple[bytes, int]:
        end = self._buffer.find(b"\r\n", start)
        if end < 0:
            raise _Incomplete
        return bytes(self._buffer[start + 1 : end]), end + 2

    def _parse(self, start: int) -> tuple[Reply, int]:
        kind = self._buffer[start : start + 1]
        line, pos = self._line(start)
        if kind == b":":
            return int(line), pos
        if kind == b"+":
            return line, pos
        if kind == b"-":
            return ResponseError(line.decode("utf-8", "replace")), pos
        if kind == b"$":
            size = int(line)
            if size < 0:
                return None, pos
            if len(self._buffer) < pos + size + 2:
                raise _Incomplete
            return bytes(self._buffer[pos : pos + size]), pos + size + 2
        if kind == b"*":
            count = int(line)
            if count < 0:
                return None, pos
            items: list[Any] = []
            for _ in range(count):
                if pos >= len(self._buffer):
                    raise _Incomplete
                item, pos = self._parse(pos)
                items.append(item)
            return items, pos
        raise RedisConnectionError(f"unexpected Redis reply type {kind!r}")


class _Endpoint:
    """Where and how to connect, read by redis-py's own URL parser and connection classes, so
    `redis://`, `rediss://` (with its `ssl_*` query options) and `unix://` mean what they mean
    to redis-py: host, port, socket path, username, password, db, client_name, TLS context."""

    def __init__(self, url: str) -> None:
        pool = ConnectionPool.from_url(url)  # ValueError on a scheme redis-py does not know
        spec = pool.connection_class(**pool.connection_kwargs)
        self.path: str | None = spec.path if isinstance(spec, UnixDomainSocketConnection) else None
        self.host: str = getattr(spec, "host", "localhost")
        self.port: int = int(getattr(spec, "port", 6379))
        self.tls: RedisSSLContext | None = (
            spec.ssl_context if isinstance(spec, SSLConnection) else None
        )
        self.handshake: list[tuple[str | int, ...]] = []
        if spec.password:
            user = (spec.username,) if spec.username else ()
            self.handshake.append(("AUTH", *user, spec.password))
        if spec.client_name:
            self.handshake.append(("CLIENT", "SETNAME", spec.client_name))
        if int(spec.db or 0):
            self.handshake.append(("SELECT", int(spec.db)))


class _Connection(asyncio.Protocol):
    """One socket and the futures awaiting its replies, in the order the commands were sent."""

    def __init__(self) -> None:
        self._parser = ReplyParser()
        self.transport: asyncio.Transport | None = None
        self.pending: collections.deque[tuple[asyncio.Future[Reply], float]] = collections.deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio subclass

    def send(self, *args: bytes | str | int) -> asyncio.Future[Reply]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        if self.transport is None:
            future.set_exception(RedisConnectionError("connection to Redis lost"))
            return future
        self.pending.append((future, loop.time()))
        self.transport.write(encode_command(*args))
        return future

    def data_received(self, data: bytes) -> None:
        try:
            replies = self._parser.feed(data)
        except (ValueError, RedisConnectionError) as exc:
            self.fail(RedisConnectionError(f"bad reply from Redis: {exc}"))
            return
        for reply in replies:
            if self.pending:
                future, _ = self.pending.popleft()
                if not future.done():
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError("connection to Redis lost"))

    def fail(self, error: Exception) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.abort()
        pending, self.pending = self.pending, collections.deque()
        for future, _ in pending:
            if not future.done():
                future.set_exception(error)


class PipelinedRedis:
    def __init__(self, url: str, *, timeout_s: float = 1.0) -> None:
        self._endpoint = _Endpoint(url)
        self._timeout_s = timeout_s
        self._connection: _Connection | None = None  # only ever a handshaken one
        self._connecting: asyncio.Future[_Connection] | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute(self, *args: bytes | str | int) -> Reply:
        connection = self._connection
        if connection is None or connection.transport is None:
            connection = await self._connect()
        future = connection.send(*args)
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(
                self._timeout_s / 4, self._check_deadlines
            )
        reply = await future
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def _connect(self) -> _Connection:
        if self._connecting is None or self._connecting.done():
            # a finished attempt whose waiters were all cancelled is stale: start afresh
            self._connecting = asyncio.ensure_future(self._open())
            self._connecting.add_done_callback(_retrieve)
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done():
                self._connecting = None

    async def _open(self) -> _Connection:
        self._connection = None
        loop, endpoint = asyncio.get_running_loop(), self._endpoint
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                if endpoint.path is not None:
                    _, connection = await loop.create_unix_connection(_Connection, endpoint.path)
                else:
                    context = endpoint.tls.get() if endpoint.tls is not None else None
                    _, connection = await loop.create_connection(
                        _Connection, endpoint.host, endpoint.port, ssl=context
                    )
                # pipelined; no caller can write here before every reply is in
                replies = [connection.send(*command) for command in endpoint.handshake]
                for answer in await asyncio.gather(*replies):
                    if isinstance(answer, ResponseError):
                        raise answer
        except BaseException as exc:
            if connection is not None:
                connection.fail(RedisConnectionError("handshake failed"))
            if isinstance(exc, OSError | TimeoutError):
                name = type(exc).__name__
                raise RedisConnectionError(f"cannot connect to Redis: {name}") from None
            raise
        self._connection = connection
        return connection

    def _check_deadlines(self) -> None:
        self._watchdog = None
        connection = self._connection
        if connection is None or not connection.pending:
            return
        loop = asyncio.get_running_loop()
        _, sent_at = connection.pending[0]
        if loop.time() - sent_at > self._timeout_s:
            connection.fail(RedisTimeoutError("Redis did not answer in time"))
            return
        self._watchdog = loop.call_later(self._timeout_s / 4, self._check_deadlines)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.fail(RedisConnectionError("connection closed"))


def _retrieve(future: asyncio.Future[_Connection]) -> None:
    """Mark a connection attempt's failure as seen (its callers, if any, got it already)."""
    if not future.cancelled():
        future.exception()
