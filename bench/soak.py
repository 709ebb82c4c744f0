"""Soak: many slow streams held at once; every chunk must arrive, in order, then [DONE].

All streams are opened at the same moment (aiohttp, unlimited connector). Each stream's bytes
are kept and checked after it ends, so the checking costs nothing while the streams run. The
fake upstream numbers its content pieces (`chunk-<i> `), so loss and reordering are visible.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

import procs
from probes import log
from targets import running

STREAM_BODY = {
    "model": "gpt-4o-mini",
    "stream": True,
    "stream_options": {"include_usage": True},
    "messages": [{"role": "user", "content": "Count slowly."}],
}
_PIECE = re.compile(r"chunk-(\d+) ")


@dataclass
class StreamCheck:
    ok: bool
    received: int
    lost: int
    reordered: int
    problem: str = ""


def check_stream(body: bytes, chunks: int) -> StreamCheck:
    """Read the SSE events of one stream; compare the piece indices with 0..chunks-1."""
    indices: list[int] = []
    done = False
    problem = ""
    for event in body.decode("utf-8", "replace").split("\n\n"):
        line = event.strip()
        if not line:
            continue
        if not line.startswith("data:"):
            problem = problem or f"not an SSE data event: {line[:80]!r}"
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            continue
        if done:
            problem = problem or "an event after [DONE]"
        try:
            payload = json.loads(data)
        except ValueError:
            problem = problem or f"bad JSON in an event: {data[:80]!r}"
            continue
        if "error" in payload:
            problem = problem or f"error event: {data[:120]}"
        for choice in payload.get("choices") or []:
            content = (choice.get("delta") or {}).get("content") or ""
            indices.extend(int(m) for m in _PIECE.findall(content))
    lost = len(set(range(chunks)) - set(indices))
    reordered = sum(1 for a, b in itertools.pairwise(indices) if b <= a)
    if not done:
        problem = problem or "no [DONE]"
    ok = not problem and lost == 0 and reordered == 0 and len(indices) == chunks
    if not ok and not problem:
        problem = f"pieces {indices[:5]}… ({len(indices)} of {chunks})"
    return StreamCheck(ok, len(indices), lost, reordered, problem)


@dataclass
class SoakResult:
    streams: int
    chunks_per_stream: int
    chunk_delay_ms: float
    ok: int = 0
    failed: int = 0
    chunks_lost: int = 0
    chunks_reordered: int = 0
    wall_s: float = 0.0
    first_byte_max_s: float = 0.0
    stream_seconds: list[float] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        times = sorted(self.stream_seconds)
        return {
            "streams": self.streams,
            "chunks_per_stream": self.chunks_per_stream,
            "chunk_delay_ms": self.chunk_delay_ms,
            "ideal_stream_s": (self.chunks_per_stream - 1) * self.chunk_delay_ms / 1000,
            "ok": self.ok,
            "failed": self.failed,
            "chunks_lost": self.chunks_lost,
            "chunks_reordered": self.chunks_reordered,
            "wall_s": round(self.wall_s, 3),
            "first_byte_max_s": round(self.first_byte_max_s, 3),
            "stream_s_p50": round(times[len(times) // 2], 3) if times else None,
            "stream_s_max": round(times[-1], 3) if times else None,
            "problems": dict(sorted(self.problems.items(), key=lambda kv: -kv[1])[:5]),
        }


async def _one(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], start: asyncio.Event
) -> tuple[bytes, float, float, str]:
    """(body, seconds to first body byte, seconds in total, error text)."""
    await start.wait()
    began = time.perf_counter()
    first = 0.0
    parts: list[bytes] = []
    try:
        async with session.post(url, json=STREAM_BODY, headers=headers) as response:
            if response.status != 200:
                text = (await response.read())[:120].decode("utf-8", "replace")
                return b"", 0.0, 0.0, f"HTTP {response.status}: {text}"
            async for chunk in response.content.iter_any():
                if not parts:
                    first = time.perf_counter() - began
                parts.append(chunk)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return b"".join(parts), first, 0.0, f"{type(exc).__name__}: {exc}"
    return b"".join(parts), first, time.perf_counter() - began, ""


async def run_soak(
    url: str,
    *,
    streams: int,
    chunks: int,
    chunk_delay_ms: float,
    headers: dict[str, str] | None = None,
    timeout_s: float = 300,
) -> SoakResult:
    result = SoakResult(streams, chunks, chunk_delay_ms)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = asyncio.Event()
        tasks = [
            asyncio.create_task(_one(session, url, headers or {}, start)) for _ in range(streams)
        ]
        await asyncio.sleep(0)  # every task is now waiting on the same event
        began = time.perf_counter()
        start.set()
        outcomes = await asyncio.gather(*tasks)
        result.wall_s = time.perf_counter() - began
    for body, first, total, error in outcomes:
        check = check_stream(body, chunks)
        if not error and check.ok:
            result.ok += 1
            result.stream_seconds.append(total)
            result.first_byte_max_s = max(result.first_byte_max_s, first)
            continue
        result.failed += 1
        result.chunks_lost += check.lost
        result.chunks_reordered += check.reordered
        key = re.sub(r"\d+", "N", error or check.problem)[:100]
        result.problems[key] = result.problems.get(key, 0) + 1
    return result


def soak_mode(args: argparse.Namespace, log_dir: Path, results: dict[str, Any]) -> None:
    soak: dict[str, Any] = {}
    for name in ("D", "G"):
        log(
            f"[soak] {name}: {args.soak_streams} streams x {args.soak_chunks} chunks "
            f"at {args.soak_delay_ms:g} ms"
        )
        with running(
            name, log_dir, chunks=args.soak_chunks, chunk_delay_ms=args.soak_delay_ms
        ) as target:
            services = procs.pids_named("mariadbd", "mysqld", "redis-server")
            before = procs.CpuSample.take(target.server, target.upstream, services)
            outcome = uvloop.run(
                run_soak(
                    target.base_url + "/v1/chat/completions",
                    streams=args.soak_streams,
                    chunks=args.soak_chunks,
                    chunk_delay_ms=args.soak_delay_ms,
                    headers=target.headers,
                )
            )
            spent = procs.CpuSample.take(target.server, target.upstream, services).since(before)
            soak[name] = outcome.summary() | {
                "cpu_s": spent["server"],
                "client_cpu_s": spent["own"],
                "other_cpu_cores": spent["other_cores"],
                "rss_mib_after": target.server.rss_mib(),
            }
            log(f"  [{name}] {soak[name]['ok']} ok, {soak[name]['failed']} failed")
    results["soak"] = soak
    g = soak["G"]
    lossless = g["failed"] == 0 and g["chunks_lost"] == 0 and g["chunks_reordered"] == 0
    results.setdefault("checks", []).append(
        {
            "what": f"{args.soak_streams:,} concurrent slow streams on G, none lost or reordered",
            "value": f"{g['ok']}/{g['streams']} ok",
            "met": lossless,
        }
    )
