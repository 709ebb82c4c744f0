"""Streaming time to first byte: sequential streaming requests on one keep-alive connection.

For each request: the time from writing the request to the arrival of the first byte of the
response *body* (the first SSE event, not just the headers), and to its last byte. Raw asyncio
protocol, so the timestamps are taken where the bytes arrive.

    python bench/ttfb.py http://127.0.0.1:9100/v1/chat/completions [-n 500] [--key KEY]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

OPENAI_STREAM_BODY = (
    b'{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},'
    b'"messages":[{"role":"system","content":"You are a helpful assistant."},'
    b'{"role":"user","content":"Say hello in one short sentence."}]}'
)


class ResponseParser:
    """Incremental HTTP/1.1 response reader (Content-Length or chunked), with timestamps."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.status = 0
        self.body = bytearray()
        self.head_done = False
        self.first_body_at: float | None = None
        self.done = False
        self.keep_alive = True
        self._length: int | None = None
        self._chunked = False

    def feed(self, data: bytes, now: float) -> None:
        self.buffer += data
        if not self.head_done:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[: end + 4]
            self.status = int(lines[0].split(" ")[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    self._length = int(value)
                elif name == "transfer-encoding" and "chunked" in value:
                    self._chunked = True
                elif name == "connection" and value == "close":
                    self.keep_alive = False
            self.head_done = True
        if self.buffer and self.first_body_at is None:
            self.first_body_at = now
        if self._chunked:
            self._read_chunks()
        elif self._length is not None:
            take = min(len(self.buffer), self._length - len(self.body))
            self.body += self.buffer[:take]
            del self.buffer[:take]
            self.done = len(self.body) >= self._length
        if self.done and self.first_body_at is None:
            self.first_body_at = now  # an empty body

    def _read_chunks(self) -> None:
        while True:
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(self.buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                if self.buffer.find(b"\r\n\r\n", line_end) < 0:
                    return
                del self.buffer[: self.buffer.find(b"\r\n\r\n", line_end) + 4]
                self.done = True
                return
            if len(self.buffer) < line_end + 2 + size + 2:
                return
            self.body += self.buffer[line_end + 2 : line_end + 2 + size]
            del self.buffer[: line_end + 2 + size + 2]


class _Client(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.finished: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data, time.perf_counter())
        if self.parser.done and self.finished is not None and not self.finished.done():
            self.finished.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.finished is not None and not self.finished.done():
            self.finished.set_exception(ConnectionError("connection closed mid-response"))


@dataclass
class TtfbResult:
    ttfb_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "n": len(self.ttfb_ms),
            "errors": self.errors,
            "error_samples": self.error_samples[:3],
            "ttfb_p50_ms": percentile(self.ttfb_ms, 50),
            "ttfb_p99_ms": percentile(self.ttfb_ms, 99),
            "total_p50_ms": percentile(self.total_ms, 50),
        }


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def build_request(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def measure(
    url: str,
    *,
    requests: int = 500,
    warmup: int = 20,
    body: bytes = OPENAI_STREAM_BODY,
    headers: dict[str, str] | None = None,
    done_marker: bytes = b"data: [DONE]",
    timeout_s: float = 30,
) -> TtfbResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = build_request(url, body, headers or {})
    loop = asyncio.get_running_loop()
    result = TtfbResult()
    client: _Client | None = None
    for index in range(warmup + requests):
        if client is None or client.transport is None:
            _, client = await loop.create_connection(_Client, host, port)
        client.parser = ResponseParser()
        client.finished = loop.create_future()
        assert client.transport is not None
        sent = time.perf_counter()
        client.transport.write(request)
        try:
            await asyncio.wait_for(client.finished, timeout_s)
        except (TimeoutError, ConnectionError) as exc:
            result.errors += 1
            result.error_samples.append(f"{type(exc).__name__}: {exc}")
            if client.transport is not None:
                client.transport.close()
            client = None
            continue
        parser = client.parser
        ok = parser.status == 200 and done_marker in parser.body
        if not ok:
            result.errors += 1
            result.error_samples.append(f"{parser.status}: {bytes(parser.body[:200])!r}")
        elif index >= warmup and parser.first_body_at is not None:
            result.ttfb_ms.append((parser.first_body_at - sent) * 1000)
            result.total_ms.append((time.perf_counter() - sent) * 1000)
        if not parser.keep_alive and client.transport is not None:
            client.transport.close()
            client = None
    if client is not None and client.transport is not None:
        client.transport.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="streaming time to first byte")
    parser.add_argument("url")
    parser.add_argument("-n", "--requests", type=int, default=500)
    parser.add_argument("--key", help="client key, sent as a Bearer token")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    result = asyncio.run(measure(args.url, requests=args.requests, headers=headers))
    print(result.summary())
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
