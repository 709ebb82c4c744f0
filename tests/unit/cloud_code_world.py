"""A scripted Cloud Code backend for the discovery and models adapters: per `v1internal`
method (and base URL), a queue of answers; each request is recorded."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from typing import Any

from aigateway.application.ports.upstream import UpstreamRequest, UpstreamUnavailable
from aigateway.domain.providers import Provider, ProviderKind
from tests.doubles.routes import CallsOnly
from tests.unit.chat_world import ScriptedResponse

DAILY = "https://daily.cloudcode.test"
PROD = "https://prod.cloudcode.test"

Answer = tuple[int, Any] | str  # (status, JSON body) or "unreachable"


def antigravity(**config: Any) -> Provider:
    return Provider(
        id="antigravity",
        name="Antigravity",
        kind=ProviderKind.ANTIGRAVITY,
        base_url=DAILY,
        models=("gemini-3-flash",),
        config={"base_urls": [DAILY, PROD], **config},
    )


class CloudCode(CallsOnly):
    def __init__(self) -> None:
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.requests: list[UpstreamRequest] = []

    def script(self, method: str, *answers: Answer, base: str | None = None) -> None:
        """Answers for `method` (at `base`, else at any base URL), in order; the last repeats."""
        self._answers[f"{base or ''}:{method}"].extend(answers)

    def calls(self, method: str) -> list[tuple[str, dict[str, Any]]]:
        """(base URL, JSON body) of each request for `method`."""
        return [
            (r.url.split("/v1internal:")[0], json.loads(r.body))
            for r in self.requests
            if r.url.endswith(f"/v1internal:{method}")
        ]

    async def open(self, request: UpstreamRequest) -> ScriptedResponse:
        self.requests.append(request)
        base, _, method = request.url.partition("/v1internal:")
        queue = self._answers.get(f"{base}:{method}") or self._answers.get(f":{method}")
        if not queue:
            return ScriptedResponse(404, b'{"error":{"code":404,"message":"not scripted"}}', [], {})
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, str):
            raise UpstreamUnavailable("connection refused")
        status, body = answer
        return ScriptedResponse(status, json.dumps(body).encode(), [], {})

    async def aclose(self) -> None:
        pass
