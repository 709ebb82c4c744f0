"""Memory: drive an exact number of requests (half streamed) so RSS can be read between steps.

wrk runs for a duration, not a count, so this uses a small aiohttp client: `concurrency`
workers share one counter and stop when it reaches `total`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

PLAIN = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one sentence."}]}'
)
STREAMED = (
    b'{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},'
    b'"messages":[{"role":"user","content":"Say hello in one sentence."}]}'
)


@dataclass
class DriveResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)


async def drive(
    url: str, headers: dict[str, str], total: int, concurrency: int = 32
) -> DriveResult:
    result = DriveResult()
    issued = 0
    send_headers = {"Content-Type": "application/json", **headers}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal issued
        while issued < total:
            issued += 1
            body = STREAMED if issued % 2 else PLAIN
            try:
                async with session.post(url, data=body, headers=send_headers) as response:
                    data = await response.read()
                    good = response.status == 200 and (
                        body is PLAIN or data.rstrip().endswith(b"data: [DONE]")
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                good, data = False, str(exc).encode()
            result.requests += 1
            if not good:
                result.errors += 1
                if len(result.error_samples) < 3:
                    result.error_samples.append(data[:200].decode("utf-8", "replace"))

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - began
    return result
