"""Provider kind `anthropic`: Anthropic's Messages API and its token counter
(`/v1/messages/count_tokens`).

`x-api-key` for API keys, a bearer token for OAuth accounts; `anthropic-version` and
`anthropic-beta` come from the provider's config. A client that speaks Messages itself keeps
its own `anthropic-beta` header (Claude Code sends the betas it relies on).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs import anthropic_messages
from aigateway.adapters.upstream import token_counts
from aigateway.adapters.upstream.profiles.base import Endpoint, ProviderProfile
from aigateway.domain.accounts import Account, AuthType
from aigateway.domain.errors import ANTHROPIC_DIALECT
from aigateway.domain.llm import Operation
from aigateway.domain.providers import Provider, ProviderKind

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProfile(ProviderProfile):
    kind = ProviderKind.ANTHROPIC
    codec = anthropic_messages.AnthropicMessagesCodec()
    dialect = ANTHROPIC_DIALECT
    forwarded_headers = ("anthropic-beta",)
    forwarded_query = ("beta",)  # Claude Code's `?beta=true`

    def endpoint(self, provider: Provider, operation: Operation) -> Endpoint | None:
        if operation is Operation.CHAT:
            return Endpoint(
                url=f"{provider.base_url}/v1/messages",
                codec=self.codec,
                read_answer=anthropic_messages.read_answer,
                usage_scanner=anthropic_messages.StreamUsageScanner,
            )
        if operation is Operation.COUNT_TOKENS:
            return Endpoint(
                url=f"{provider.base_url}/v1/messages/count_tokens",
                codec=self.codec,
                read_answer=token_counts.read_answer,
            )
        return None

    def client_header(self, name: str, value: str) -> str:
        """A client's betas, less the OAuth ones: they change how the account authenticates,
        and a refusal of the account's credential would take the account out for everyone."""
        betas = (b.strip() for b in value.split(","))
        return ",".join(b for b in betas if b and not b.lower().startswith("oauth"))

    def auth_headers(self, provider: Provider, account: Account, secret: str) -> dict[str, str]:
        config = provider.config
        headers = {"anthropic-version": str(config.get("anthropic_version", ANTHROPIC_VERSION))}
        if config.get("anthropic_beta"):
            headers["anthropic-beta"] = str(config["anthropic_beta"])
        if account.credential.auth_type is AuthType.API_KEY:
            headers["x-api-key"] = secret
        else:
            headers["Authorization"] = f"Bearer {secret}"
        return headers

    def config_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = super().config_problems(config)
        for key in ("anthropic_version", "anthropic_beta"):
            value = config.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(f"config.{key} must be a string")
        return problems
