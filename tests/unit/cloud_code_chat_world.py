"""The Cloud Code executor on production code (the registered profile and codecs) over a
scripted transport: the transport, answers in the backend's shapes, and calls in each client
format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.upstream.cloud_code.executor import CloudCodeExecutor
from aigateway.adapters.upstream.profiles.antigravity import AntigravityProfile
from aigateway.application.ports.onboarding import DiscoveryFailed
from aigateway.application.ports.upstream import (
    Answer,
    ChatCall,
    Refusal,
    UpstreamRequest,
    UpstreamUnavailable,
)
from aigateway.application.use_cases.projects import AccountProjects
from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import Route
from aigateway.entrypoints.ioc.providers import CODECS, PROFILES
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
    InMemoryUnitsOfWork,
)
from tests.doubles.routes import VIA, CallsOnly
from tests.unit.chat_world import ScriptedResponse

OPENAI, ANTHROPIC = openai_chat.FORMAT, anthropic_messages.FORMAT
CODECS_BY_FORMAT = {c.format: c for c in CODECS}
PROFILE = next(p for p in PROFILES if isinstance(p, AntigravityProfile))
TOKEN = "ya29.access-token-0001"
FIRST, SECOND = "http://first", "http://second"
TOOL = {
    "type": "function",
    "function": {
        "name": "files.read/v2",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}

Plan = ScriptedResponse | UpstreamUnavailable


class Transport(CallsOnly):
    """Answers from a script per base URL (in order), recording every request."""

    def __init__(self, **plans: list[Plan]) -> None:
        self.plans = {f"http://{name}": list(plan) for name, plan in plans.items()}
        self.requests: list[UpstreamRequest] = []

    async def open(self, request: UpstreamRequest) -> ScriptedResponse:
        self.requests.append(request)
        base = request.url.split("/v1internal:")[0]
        plan = self.plans[base]
        step = plan.pop(0) if len(plan) > 1 else plan[0]
        if isinstance(step, UpstreamUnavailable):
            raise step
        return step

    async def aclose(self) -> None:
        pass

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]


def gemini_answer(parts: list[dict[str, Any]], finish: str = "STOP") -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4},
        "modelVersion": "m",
        "responseId": "r1",
    }


def whole(parts: list[dict[str, Any]], status: int = 200) -> ScriptedResponse:
    body = json.dumps({"response": gemini_answer(parts), "traceId": "t1"}).encode()
    return ScriptedResponse(status, body, [body], {})


def sse(*chunks: dict[str, Any]) -> ScriptedResponse:
    lines = [
        b"data: " + json.dumps({"response": c, "traceId": "t1"}).encode() + b"\r\n\r\n"
        for c in chunks
    ]
    response = ScriptedResponse(200, b"".join(lines), lines, {})
    response.content_type = "text/event-stream"
    return response


def streamed(parts: list[dict[str, Any]]) -> ScriptedResponse:
    """One chunk per part, the finish reason on the last, usage on a chunk of its own."""
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [p]}}]} for p in parts
    ]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    return sse(*chunks, {"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4}})


def error(status: int, code: str = "UNAVAILABLE") -> ScriptedResponse:
    body = json.dumps({"error": {"code": status, "message": "no", "status": code}}).encode()
    return ScriptedResponse(status, body, [body], {})


def provider(**config: Any) -> Provider:
    config.setdefault("base_urls", [SECOND])
    return Provider(
        id="antigravity",
        name="Antigravity",
        kind=ProviderKind.ANTIGRAVITY,
        base_url=FIRST,
        models=("gemini-*", "claude-*"),
        config=config,
    )


def account(**data: Any) -> Account:
    auth = {"access_token": TOKEN, "refresh_token": "1//r", "project_id": "proj-1", **data}
    return Account(
        id="a1",
        provider_id="antigravity",
        label="a",
        credential=credential_from_auth_data({k: v for k, v in auth.items() if v is not None}),
    )


class NoDiscovery:
    """loadCodeAssist finds no project for the account."""

    async def discover(self, provider: Provider, access_token: str, route: Route) -> str:
        raise DiscoveryFailed("loadCodeAssist answered no project; set auth_data.project_id")


class Reports:
    """`ModelListing`: the models each account's last fetchAvailableModels report listed."""

    def __init__(self, **listed: list[str]) -> None:
        self.listed = listed

    def lists(self, account_id: str, model: str) -> bool:
        return model in self.listed.get(account_id, ())


def production_projects() -> AccountProjects:
    providers = InMemoryProviderRepository([provider()])
    accounts = InMemoryAccountRepository(providers)

    async def changed() -> None:
        return None

    uow = InMemoryUnitsOfWork(providers, accounts, InMemoryClientKeyRepository(), changed)
    return AccountProjects(NoDiscovery(), uow)


def run(
    transport: Transport,
    signatures: InMemorySignatures | None = None,
    reports: Reports | None = None,
) -> CloudCodeExecutor:
    return CloudCodeExecutor(
        transport,
        PROFILE,
        CODECS_BY_FORMAT,
        projects=production_projects(),
        signatures=signatures if signatures is not None else InMemorySignatures(),
        listing=reports or Reports(),
    )


def openai_call(
    model: str = "gemini-3-flash",
    *,
    stream: bool = False,
    messages: list[dict[str, Any]] | None = None,
    where: Provider | None = None,
    **extra: Any,
) -> ChatCall:
    doc = {
        "model": model,
        "stream": stream,
        "messages": messages or [{"role": "user", "content": "What is in README?"}],
        **extra,
    }
    return ChatCall(
        provider=where or provider(),
        model=model,
        requested_model=model,
        body=json.dumps(doc).encode(),
        client_format=OPENAI,
        stream=stream,
    )


async def answer_of(executor: CloudCodeExecutor, call: ChatCall) -> Answer | Refusal:
    exchange = await executor.open(executor.prepare(call), account(), TOKEN, VIA)
    return await exchange.answer()


async def stream_of(executor: CloudCodeExecutor, call: ChatCall) -> bytes | Refusal:
    exchange = await executor.open(executor.prepare(call), account(), TOKEN, VIA)
    opened = await exchange.open_stream()
    if isinstance(opened, Refusal):
        return opened
    assert isinstance(opened, AsyncIterator)
    return b"".join([chunk async for chunk in opened])


def openai_stream_text(raw: bytes) -> str:
    text = []
    for line in raw.decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices", []):
                text.append(choice["delta"].get("content") or "")
    return "".join(text)
