"""Per-call CPU of the request side of each route, outside the server: the codecs alone.

For the agentic body (and the small one) in each client format (the small one also as a
Gemini and, when the gateway has its codec, an OpenAI Responses client), times what the
gateway's executors do in `prepare` for every route, with the production codecs and profiles:

- passthrough (the client's own format): the head decode (`decode_head`, routing) plus
  `splice_model` (done when the upstream model name differs from the requested one); for a
  Gemini client, whose own route is Antigravity (the Gemini request in Cloud Code's envelope),
  the head decode plus `CloudCodeExecutor.prepare`;
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

import agentic
import bodies

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pkg"))

from aigateway.adapters.codecs import anthropic_messages, gemini, openai_chat
from aigateway.adapters.codecs.json_splice import splice_model
from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.upstream.cloud_code.executor import CloudCodeExecutor
from aigateway.adapters.upstream.executors import HttpChatExecutor
from aigateway.application.ports.upstream import ChatCall
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.entrypoints.http.formats import gemini as gemini_format
from aigateway.entrypoints.http.formats.spec import Target
from aigateway.entrypoints.ioc.providers import ANTIGRAVITY, CODECS, PROFILES

try:
    from aigateway.adapters.codecs import openai_responses
except ImportError:  # a gateway version without the Responses codec: its rows are left out
    openai_responses = None

CODEC_BY_FORMAT = {codec.format: codec for codec in CODECS}
Head = Callable[[bytes, str], object]


def _gemini_head(body: bytes, model: str) -> object:
    return gemini_format.head(body, Target(params={"target": f"{model}:generateContent"}, query=""))


# per client format: its wire format and the head decode routing does (body, model in the URL)
CLIENTS: dict[str, tuple[Any, Head]] = {
    "openai": (openai_chat.FORMAT, lambda body, _model: openai_chat.decode_head(body)),
    "anthropic": (
        anthropic_messages.FORMAT,
        lambda body, _model: anthropic_messages.decode_head(body),
    ),
    "gemini": (gemini.FORMAT, _gemini_head),
}
if openai_responses is not None:
    CLIENTS["responses"] = (
        openai_responses.FORMAT,
        lambda body, _model: openai_responses.decode_head(body),
    )
ROUTES = ("openai", "anthropic", "antigravity")
# each client format's own route: the upstream that speaks it (Gemini: in Cloud Code's envelope)
OWN_ROUTES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "antigravity",
    "responses": "openai-responses",
}
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "antigravity": "gemini-3-flash",
    "openai-responses": "resp-gpt-4o-mini",
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


def clients(kind: str) -> list[str]:
    """The client formats the `kind` body is built in."""
    return [c for c in CLIENTS if kind == "small" or c in agentic.FORMATS]


def measure(kind: str, seconds: float) -> dict[str, float]:
    executors = _executors()
    signatures = InMemorySignatures()
    loop = asyncio.new_event_loop()
    results: dict[str, float] = {}
    for client in clients(kind):
        fmt, head = CLIENTS[client]
        codec = CODEC_BY_FORMAT[fmt]
        own = OWN_ROUTES[client]
        for route in dict.fromkeys((own, *ROUTES)):
            model = MODELS[route]
            body = bodies.build(kind, client, model, False)
            if route == own and client != "gemini":  # same format: the head and the splice

                def passthrough(body: bytes = body, model: str = model, head: Head = head) -> None:
                    head(body, model)
                    splice_model(body, model + "-x")

                results[f"{client}->{route} (passthrough)"] = best_us(passthrough, seconds)
                continue
            if route == own:
                results[f"{client} head decode"] = best_us(
                    lambda b=body, h=head, m=model: h(b, m), seconds
                )
            call = ChatCall(
                provider=_provider(route),
                model=model,
                requested_model=model,
                body=body,
                client_format=fmt,
                stream=False,
            )

            def prepared(
                call: ChatCall = call, executor: Any = executors[route], head: Head = head
            ) -> None:
                head(call.body, call.model)
                found = executor.prepare(call)
                replay = getattr(found, "replay", None)
                if replay is not None:
                    loop.run_until_complete(replay.body(signatures))

            # translated; a Gemini client's own route is Cloud Code's prepare (the envelope)
            label = f"{client}->{route}" + (" (passthrough)" if route == own else "")
            results[label] = best_us(prepared, seconds)
        body = bodies.build(kind, client, MODELS[own], False)
        if client != "gemini":
            results[f"{client} head decode"] = best_us(
                lambda b=body, h=head, m=MODELS[own]: h(b, m), seconds
            )
        results[f"{client} decode_request"] = best_us(
            lambda b=body, c=codec: c.decode_request(b), seconds
        )
        request = codec.decode_request(body)
        for target in ROUTES:
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
        for client in clients(kind):
            floor = figures[f"{client}->{OWN_ROUTES[client]} (passthrough)"]
            for key, value in figures.items():
                if key.startswith(client):
                    ratio = f"  {value / floor:5.1f}× passthrough" if "->" in key else ""
                    print(f"  {key:48} {value:9.1f}{ratio}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
