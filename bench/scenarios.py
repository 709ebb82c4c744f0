"""The wrk scenarios: two client formats x streaming or not x concurrency 1 or 32."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    fmt: str  # "openai" | "anthropic"
    stream: bool
    connections: int

    @property
    def threads(self) -> int:
        return 1 if self.connections == 1 else 2

    @property
    def key(self) -> str:
        return f"{self.fmt} {'stream' if self.stream else 'non-stream'} c={self.connections}"

    @property
    def path(self) -> str:
        return "/v1/chat/completions" if self.fmt == "openai" else "/v1/messages"

    @property
    def script(self) -> str:
        return f"{self.fmt}{'_stream' if self.stream else ''}.lua"

    def title(self, duration_s: int) -> str:
        name = "OpenAI /v1/chat/completions" if self.fmt == "openai" else "Anthropic /v1/messages"
        kind = "streaming" if self.stream else "non-streaming"
        wrk = f"wrk -t{self.threads} -c{self.connections}"
        return f"== {name}, {kind}, c={self.connections} ({wrk}, {duration_s} s) =="


SCENARIOS = [
    Scenario(fmt, stream, connections)
    for fmt in ("openai", "anthropic")
    for stream in (False, True)
    for connections in (1, 32)
]
