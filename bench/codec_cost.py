"""Per-call CPU of the request side of each route, outside the server: the codecs alone.

For the agentic body (and the small one) in each client format, times what the gateway's
executors do in `prepare` for every route, with the production codecs and profiles:

- passthrough (the client's own format): the head decode (`decode_head`, routing) plus
  `splice_model` (done when the upstream model name differs from the requested one);
- translated to OpenAI / Anthropic: `HttpChatExecutor.prepare` (decode the client body to the
  canonical request, encode it for the upstream), plus the head decode;
- translated to Antigravity: `CloudCodeExecutor.prepare` (decode, the inner Gemini request:
  tool names, schema cleaning, session id), plus the head decode and, when the request replays
  unsigned tool calls (an OpenAI client), the body finished as the first attempt does it;
- the parts alone: `decode_request` and `encode_request` per codec.

    python bench/codec_cost.py [--body agentic|small|both] [--seconds S] [--json FILE]

The garbage collector is set up as the server sets it up. Each figure is the best of 5 rounds
of ~S/5 seconds each (the minimum is what the code costs; the rest is the machine's noise), in
µs per call. Run it on an idle machine and compare runs only with each other.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bodies

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pkg"))

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.json_splice import splice_model
from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.upstream.cloud_code.executor import CloudCodeExecutor
from aigateway.adapters.upstream.executors import HttpChatExecutor
from aigateway.application.ports.upstream import ChatCall
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.entrypoints.ioc.providers import ANTIGRAVITY, CODECS, PROFILES

CODEC_BY_FORMAT = {codec.format: codec for codec in CODECS}
FORMATS = {"openai": openai_chat.FORMAT, "anthropic": anthropic_messages.FORMAT}
HEADS = {"openai": openai_chat.decode_head, "anthropic": anthropic_messages.decode_head}
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "antigravity": "gemini-3-flash",
}
KINDS = {
    "openai": ProviderKind.OPENAI,
    "anthropic": ProviderKind.ANTHROPIC,
    "antigravity": ProviderKind.ANTIGRAVITY,
}


def _provider(route: str) -> Provider:
    return Provider(id=route, name=route, kind=KINDS[route], base_url="http://127.0.0.1:1")


def _executors() -> dict[str, Any]:
    http = {
        profile.kind.value: HttpChatExecutor(None, profile, CODEC_BY_FORMAT)  # type: ignore[arg-type]
        for profile in PROFILES
        if profile is not ANTIGRAVITY
    }
    http["antigravity"] = CloudCodeExecutor(
        None,  # type: ignore[arg-type]
        ANTIGRAVITY,
        CODEC_BY_FORMAT,
        projects=None,  # type: ignore[arg-type]
        signatures=InMemorySignatures(),
        listing=None,  # type: ignore[arg-type]
    )
    return http


def best_us(fn: Callable[[], object], seconds: float) -> float:
    """The best of 5 rounds, in µs per call."""
    fn()
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < 0.05:
        fn()
        calls += 1
    per_round = max(1, int(calls * seconds / 5 / 0.05))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        best = min(best, (time.perf_counter() - t0) / per_round)
    return best * 1e6


def measure(kind: str, seconds: float) -> dict[str, float]:
    executors = _executors()
    signatures = InMemorySignatures()
    loop = asyncio.new_event_loop()
    results: dict[str, float] = {}
    for client in ("openai", "anthropic"):
        fmt = FORMATS[client]
        head = HEADS[client]
        codec = CODEC_BY_FORMAT[fmt]
        for route in ("openai", "anthropic", "antigravity"):
            body = bodies.build(kind, client, MODELS[route], False)
            call = ChatCall(
                provider=_provider(route),
                model=MODELS[route],
                requested_model=MODELS[route],
                body=body,
                client_format=fmt,
                stream=False,
            )
            executor = executors[route]
            if route == client:

                def passthrough(body: bytes = body, route: str = route, head: Any = head) -> None:
                    head(body)
                    splice_model(body, MODELS[route] + "-x")

                results[f"{client}->{route} (passthrough)"] = best_us(passthrough, seconds)
                results[f"{client} head decode"] = best_us(lambda b=body, h=head: h(b), seconds)
                continue

            def translated(
                call: ChatCall = call, executor: Any = executor, head: Any = head
            ) -> None:
                head(call.body)
                prepared = executor.prepare(call)
                replay = getattr(prepared, "replay", None)
                if replay is not None:
                    loop.run_until_complete(replay.body(signatures))

            results[f"{client}->{route}"] = best_us(translated, seconds)
        body = bodies.build(kind, client, "m", False)
        results[f"{client} decode_request"] = best_us(
            lambda b=body, c=codec: c.decode_request(b), seconds
        )
        request = codec.decode_request(body)
        for target in ("openai", "anthropic", "antigravity"):
            upstream = next(p.codec for p in PROFILES if p.kind.value == target)
            if upstream.format == fmt:
                continue
            results[f"{client} request -> {target} encode_request"] = best_us(
                lambda r=request, u=upstream: u.encode_request(r), seconds
            )
    loop.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--body", choices=("agentic", "small", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=1.0, help="per figure (default 1)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    # The server's collector settings (entrypoints/http/app.py): what it allocates per request
    # is not paid again in collections here either.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    kinds = ("agentic", "small") if args.body == "both" else (args.body,)
    out: dict[str, dict[str, float]] = {}
    for kind in kinds:
        out[kind] = figures = measure(kind, args.seconds)
        print(f"{kind} body (µs per call, best of 5)")
        for client in ("openai", "anthropic"):
            floor = figures[f"{client}->{client} (passthrough)"]
            for key, value in figures.items():
                if key.startswith(client):
                    ratio = f"  {value / floor:5.1f}× passthrough" if "->" in key else ""
                    print(f"  {key:48} {value:9.1f}{ratio}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
