"""Provider kind `openai`: any OpenAI-compatible service. Chats go to Chat Completions, or to the
Responses API (`POST {base_url}/responses`) when the provider's `config.wire_api` is
`responses`: a Responses client then gets a byte passthrough, others are translated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs import openai_chat, openai_responses
from aigateway.adapters.upstream.profiles.base import Endpoint, ProviderProfile
from aigateway.domain.accounts import Account
from aigateway.domain.errors import OPENAI_DIALECT
from aigateway.domain.llm import Operation
from aigateway.domain.providers import Provider, ProviderKind

WIRE_APIS = ("chat", "responses")  # what `config.wire_api` may name


class OpenAIProfile(ProviderProfile):
    kind = ProviderKind.OPENAI
    codec = openai_chat.OpenAIChatCodec()
    dialect = OPENAI_DIALECT

    responses_codec = openai_responses.OpenAIResponsesCodec()

    def endpoint(self, provider: Provider, operation: Operation) -> Endpoint | None:
        if operation is Operation.CHAT and provider.config.get("wire_api") == "responses":
            return Endpoint(
                url=f"{provider.base_url}/responses",
                codec=self.responses_codec,
                read_answer=openai_responses.read_answer,
                usage_scanner=openai_responses.StreamUsageScanner,
            )
        if operation is Operation.CHAT:
            return Endpoint(
                url=f"{provider.base_url}/chat/completions",
                codec=self.codec,
                read_answer=openai_chat.read_answer,
                usage_scanner=openai_chat.StreamUsageScanner,
            )
        return None

    def auth_headers(self, provider: Provider, account: Account, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    def config_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = super().config_problems(config)
        if config.get("wire_api", "chat") not in WIRE_APIS:
            problems.append("config.wire_api must be one of: " + ", ".join(WIRE_APIS))
        return problems
