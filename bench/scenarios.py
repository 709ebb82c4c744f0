"""The wrk scenarios: what the client sends (format, body, streaming, concurrency), and which
upstreams G reaches with it.

A scenario is one client request shape. D, P (and L) are measured with it once: they forward
the client's format as it is. G is measured once per route: the same request with a model name
that G routes to an upstream of the kind `openai`, `anthropic` or `antigravity` — the route of
the client's own format is G's passthrough, the others are translated. `openai-proxied` is the
OpenAI passthrough once more, with the provider's accounts behind an HTTP proxy.

The OpenAI Responses and Gemini scenarios are G's (and D's): P and L speak only OpenAI Chat
Completions and Anthropic Messages. A Responses client's passthrough is `openai-responses` (an
`openai` provider whose upstream speaks Responses); a Gemini client's is `antigravity` (the
Gemini request in the Cloud Code envelope). Each is also compared with the OpenAI Chat
scenario of the same shape (`chat_reference`): what such a client costs against a Chat one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bodies

ROUTES = ("openai", "anthropic", "antigravity")
# the openai route again, but G's accounts of that provider leave through an HTTP proxy (a
# pproxy process the bench starts): the same passthrough, one proxy hop further
PROXIED = "openai-proxied"
# a provider of kind openai whose upstream speaks OpenAI Responses (`config.wire_api`)
RESPONSES = "openai-responses"
ALL_ROUTES = (*ROUTES, PROXIED, RESPONSES)
# the model a client names to reach each route (G's pool serves gpt-*, claude-*, gemini-*,
# proxied-* on the provider behind the proxy, and resp-* on the Responses provider)
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "antigravity": "gemini-3-flash",
    PROXIED: "proxied-gpt-4o-mini",
    RESPONSES: "resp-gpt-4o-mini",
}
# the row of each route in a scenario's results ("G" is the openai route, as before routes)
ROWS = {
    "openai": "G",
    "anthropic": "G:anthropic",
    "antigravity": "G:antigravity",
    PROXIED: "G:openai-proxied",
    RESPONSES: "G:openai-responses",
}
# the client format each route's upstream speaks (Antigravity: Gemini, in an envelope)
WIRES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "antigravity": "gemini",
    PROXIED: "openai",
    RESPONSES: "responses",
}
# G's passthrough for each client format: the route whose upstream speaks it
OWN_ROUTES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "responses": RESPONSES,
    "gemini": "antigravity",
}
# the formats only G (and D) speak
NEW_FORMATS = ("responses", "gemini")
PATHS = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "responses": "/v1/responses",
    "gemini": "/v1beta/models/{model}:{method}",
}
FORMAT_NAMES = {
    "openai": "OpenAI /v1/chat/completions",
    "anthropic": "Anthropic /v1/messages",
    "responses": "OpenAI Responses /v1/responses",
    "gemini": "Gemini /v1beta/models/{model}:{method}",
}


def client_headers(fmt: str, key: str) -> dict[str, str]:
    """A client's headers in `fmt`, with its key where that format's clients send it."""
    headers = {"Content-Type": "application/json"}
    if fmt == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
    if not key:
        return headers
    names = {"anthropic": "x-api-key", "gemini": "x-goog-api-key"}
    if fmt in names:
        return headers | {names[fmt]: key}
    return headers | {"Authorization": f"Bearer {key}"}


def row_label(row: str) -> str:
    """`G:anthropic` -> `G→anthropic`; D, P, L unchanged."""
    if row == "G":
        return "G→openai"
    return row.replace("G:", "G→") if row.startswith("G:") else row


@dataclass(frozen=True)
class Scenario:
    fmt: str  # the client's format: "openai" | "anthropic" | "responses" | "gemini"
    stream: bool
    connections: int
    body: str = "small"  # "small" | "agentic" (bodies.py)
    routes: tuple[str, ...] = ("openai",)  # the upstream kinds G is measured against
    references: tuple[str, ...] = ("D", "P", "L")  # the other targets measured with it

    @property
    def threads(self) -> int:
        return 1 if self.connections == 1 else 2

    @property
    def key(self) -> str:
        body = "" if self.body == "small" else f" {self.body}"
        kind = "stream" if self.stream else "non-stream"
        return f"{self.fmt}{body} {kind} c={self.connections}"

    def path(self, route: str) -> str:
        """The URL path for `route` (Gemini names the model and the method in it)."""
        method = "streamGenerateContent?alt=sse" if self.stream else "generateContent"
        return PATHS[self.fmt].format(model=MODELS[route], method=method)

    script = "request.lua"

    @property
    def passthrough(self) -> str | None:
        """G's route that speaks the client's format, when measured."""
        own = OWN_ROUTES[self.fmt]
        return own if own in self.routes else None

    @property
    def translated(self) -> tuple[str, ...]:
        return tuple(r for r in self.routes if WIRES[r] != self.fmt)

    @property
    def reference_route(self) -> str:
        """The route whose body (model) D, P and L get: the openai route's, and for the
        formats only G speaks, their passthrough's."""
        return OWN_ROUTES[self.fmt] if self.fmt in NEW_FORMATS else "openai"

    @property
    def chat_reference(self) -> str | None:
        """The OpenAI Chat scenario of the same shape, whose G→openai row a Responses or
        Gemini scenario's routes are compared with."""
        if self.fmt not in NEW_FORMATS:
            return None
        return Scenario("openai", self.stream, self.connections, body=self.body).key

    @property
    def proxied(self) -> bool:
        """Whether G's passthrough is also measured through a proxy (and the proxy alone)."""
        return PROXIED in self.routes

    def rows(self) -> tuple[str, ...]:
        """The result rows this scenario can have, in print order."""
        refs = [t for t in ("D", "P") if t in self.references]
        tail = ["L"] if "L" in self.references else []
        return (*refs, *(ROWS[r] for r in self.routes), *tail)

    def target_measures(self, target: str) -> bool:
        return target == "G" or target in self.references

    def body_bytes(self, route: str) -> bytes:
        return bodies.build(self.body, self.fmt, MODELS[route], self.stream)

    def body_file(self, route: str, directory: Path) -> Path:
        """The request body for `route` (D, P and L get `reference_route`'s)."""
        path = directory / f"{self.key.replace(' ', '_').replace('=', '')}-{route}.json"
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.body_bytes(route))
        return path

    def wrk_env(self, route: str, directory: Path, api_key: str) -> dict[str, str]:
        return {
            "BENCH_API_KEY": api_key,
            "BENCH_FORMAT": self.fmt,
            "BENCH_STREAM": "1" if self.stream else "0",
            "BENCH_BODY_FILE": str(self.body_file(route, directory)),
        }

    def title(self, duration_s: int) -> str:
        body = ""
        if self.body != "small":
            size = len(self.body_bytes("openai")) / 1000
            body = f", {self.body} body ({size:.0f} KB)"
        kind = "streaming" if self.stream else "non-streaming"
        wrk = f"wrk -t{self.threads} -c{self.connections}"
        method = "streamGenerateContent" if self.stream else "generateContent"
        name = FORMAT_NAMES[self.fmt].format(model="{model}", method=method)
        return f"== {name}{body}, {kind}, c={self.connections} ({wrk}, {duration_s} s) =="


def _routes(fmt: str) -> tuple[str, ...]:
    """The client format's own upstream kind first (G's passthrough), then the translated."""
    return (fmt, *(r for r in ROUTES if r != fmt))


def _small_routes(fmt: str, connections: int) -> tuple[str, ...]:
    """c=1: the openai route only (the added-latency figures); c=32: every route, and the
    OpenAI passthrough through the proxy too."""
    if connections == 1:
        return ("openai",)
    if fmt != "openai":
        return _routes(fmt)
    return ("openai", PROXIED, *_routes(fmt)[1:])  # side by side, measured one after the other


SCENARIOS = [
    *(
        Scenario(fmt, stream, connections, routes=_small_routes(fmt, connections))
        for fmt in ("openai", "anthropic")
        for stream in (False, True)
        for connections in (1, 32)
    ),
    # the large agentic turn, every route, against P (D and L only run the small body)
    *(
        Scenario(fmt, stream, 32, body="agentic", routes=_routes(fmt), references=("P",))
        for fmt in ("openai", "anthropic")
        for stream in (False, True)
    ),
    # the formats only G speaks (and D, the fake upstream's own endpoint of that format):
    # the client format's passthrough, then the Chat Completions and Anthropic upstreams
    Scenario("responses", False, 32, routes=(RESPONSES, "openai", "anthropic"), references=("D",)),
    Scenario("gemini", True, 32, routes=("antigravity", "openai", "anthropic"), references=("D",)),
]
BY_KEY = {s.key: s for s in SCENARIOS}
