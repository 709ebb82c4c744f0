"""Provider kind `openai`: any OpenAI-compatible Chat Completions service."""

from __future__ import annotations

from aigateway.adapters.codecs import openai_chat
from aigateway.adapters.upstream.exchange import UsageScanner
from aigateway.adapters.upstream.profiles.base import ProviderProfile
from aigateway.application.ports.upstream import Usage
from aigateway.domain.accounts import Account
from aigateway.domain.errors import OPENAI_DIALECT
from aigateway.domain.providers import Provider, ProviderKind


class OpenAIProfile(ProviderProfile):
    kind = ProviderKind.OPENAI
    codec = openai_chat.OpenAIChatCodec()
    dialect = OPENAI_DIALECT

    def read_answer(self, body: bytes) -> tuple[bool, Usage | None]:
        return openai_chat.read_answer(body)

    def usage_scanner(self) -> UsageScanner:
        return openai_chat.StreamUsageScanner()

    def url(self, provider: Provider) -> str:
        return f"{provider.base_url}/chat/completions"

    def auth_headers(self, provider: Provider, account: Account, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}
