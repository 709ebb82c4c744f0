"""A lean Redis connection for the request path: one socket, commands pipelined in order.

redis-py's asyncio client spends more CPU per command than the rest of the gateway's hot path
together (pool checkout under a lock, a timeout scope per read, retry wrappers). Here every
request writes its command onto one shared connection and awaits a future; Redis answers in
order, so concurrent requests are pipelined for free. A watchdog fails commands that wait
longer than `timeout_s` and drops the connection; the caller's circuit breaker takes over.
Only what the hot path needs is spoken: RESP2 integers, bulk strings, arrays and errors.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

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


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: PipelinedRedis) -> None:
        self._owner = owner
        self._parser = ReplyParser()

    def data_received(self, data: bytes) -> None:
        try:
            replies = self._parser.feed(data)
        except (ValueError, RedisConnectionError) as exc:
            self._owner._fail(RedisConnectionError(f"bad reply from Redis: {exc}"))
            return
        for reply in replies:
            self._owner._resolve(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._fail(RedisConnectionError("connection to Redis lost"))


class PipelinedRedis:
    def __init__(self, url: str, *, timeout_s: float = 1.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("unsupported Redis URL scheme")
        self._scheme = parts.scheme
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._path = parts.path
        self._password = unquote(parts.password) if parts.password else None
        self._username = unquote(parts.username) if parts.username else None
        db_part = parts.path.lstrip("/") if parts.scheme != "unix" else ""
        query_db = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("db")
        self._db = int(db_part or query_db or 0)
        self._timeout_s = timeout_s
        self._transport: asyncio.Transport | None = None
        self._pending: collections.deque[tuple[asyncio.Future[Reply], float]] = collections.deque()
        self._connecting: asyncio.Future[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute(self, *args: bytes | str | int) -> Reply:
        if self._transport is None:
            await self._connect()
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        self._pending.append((future, loop.time()))
        self._transport.write(encode_command(*args))
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout_s / 4, self._check_deadlines)
        reply = await future
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def _connect(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            await asyncio.shield(connecting)
        finally:
            if connecting.done():
                self._connecting = None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                if self._scheme == "unix":
                    transport, _ = await loop.create_unix_connection(
                        lambda: _Protocol(self), self._path
                    )
                else:
                    context = ssl.create_default_context() if self._scheme == "rediss" else None
                    transport, _ = await loop.create_connection(
                        lambda: _Protocol(self), self._host, self._port, ssl=context
                    )
        except (OSError, TimeoutError) as exc:
            raise RedisConnectionError(f"cannot connect to Redis: {type(exc).__name__}") from None
        self._transport = transport
        try:
            if self._password is not None:
                auth = (self._username, self._password) if self._username else (self._password,)
                await self.execute("AUTH", *auth)
            if self._db:
                await self.execute("SELECT", self._db)
        except Exception:
            self.close()
            raise

    def _resolve(self, reply: Reply) -> None:
        if self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_result(reply)

    def _fail(self, error: Exception) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        pending, self._pending = self._pending, collections.deque()
        for future, _ in pending:
            if not future.done():
                future.set_exception(error)

    def _check_deadlines(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        loop = asyncio.get_running_loop()
        _, sent_at = self._pending[0]
        if loop.time() - sent_at > self._timeout_s:
            self._fail(RedisTimeoutError("Redis did not answer in time"))
            return
        self._watchdog = loop.call_later(self._timeout_s / 4, self._check_deadlines)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._fail(RedisConnectionError("connection closed"))
