"""Provider kind `openai`: any OpenAI-compatible Chat Completions service, and its
`/embeddings` (passed through: the client speaks the same format)."""

from __future__ import annotations

from aigateway.adapters.codecs import openai_chat
from aigateway.adapters.upstream import embeddings
from aigateway.adapters.upstream.profiles.base import Endpoint, ProviderProfile
from aigateway.domain.accounts import Account
from aigateway.domain.errors import OPENAI_DIALECT
from aigateway.domain.llm import Operation
from aigateway.domain.providers import Provider, ProviderKind


class OpenAIProfile(ProviderProfile):
    kind = ProviderKind.OPENAI
    codec = openai_chat.OpenAIChatCodec()
    dialect = OPENAI_DIALECT

    def endpoint(self, provider: Provider, operation: Operation) -> Endpoint | None:
        if operation is Operation.CHAT:
            return Endpoint(
                url=f"{provider.base_url}/chat/completions",
                codec=self.codec,
                read_answer=openai_chat.read_answer,
                usage_scanner=openai_chat.StreamUsageScanner,
            )
        if operation is Operation.EMBEDDINGS:
            return Endpoint(
                url=f"{provider.base_url}/embeddings",
                codec=self.codec,
                read_answer=embeddings.read_answer,
            )
        return None

    def auth_headers(self, provider: Provider, account: Account, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}
