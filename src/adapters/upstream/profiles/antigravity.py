"""Provider kind `antigravity`: Google's Cloud Code backend (`v1internal`) over OAuth, serving
Gemini and Claude models in Gemini's wire format inside the Cloud Code envelope.

The backend changes monthly, so what the gateway sends comes from the provider's config:

- `base_url` is the first endpoint; `config.base_urls` the ones tried after it, in order
  (default: the daily endpoint, then the production one). An attempt moves to the next on a
  network error, 404, 408, 429 or 5xx.
- `config.client_version` (default `DEFAULT_CLIENT_VERSION`) and `config.user_agent`, a
  template in which `{version}` is replaced by it (default `DEFAULT_USER_AGENT`). The backend
  refuses outdated client versions.
- `config.models`: the models the provider serves, either a list of upstream names or an
  object mapping the name clients use to the upstream name (`{"claude-sonnet":
  "claude-sonnet-4-6"}`). A name not in it goes upstream unchanged.
- `config.max_output_tokens`: the cap on `maxOutputTokens` per model family, an object with
  `claude` and `gemini` keys (defaults `MAX_OUTPUT_TOKENS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.upstream.profiles.base import ProviderProfile
from aigateway.domain.accounts import Account
from aigateway.domain.errors import CLOUD_CODE_DIALECT
from aigateway.domain.providers import Provider, ProviderKind

DEFAULT_BASE_URLS = (
    "https://daily-cloudcode-pa.googleapis.com",
    "https://cloudcode-pa.googleapis.com",
)
DEFAULT_CLIENT_VERSION = "2.19.1"
DEFAULT_USER_AGENT = "antigravity/hub/{version} darwin/arm64"
MAX_OUTPUT_TOKENS = {"claude": 64000, "gemini": 65536}
MAX_BASE_URLS = 8
MAX_MODELS = 1000
MAX_NAME = 200
_VERSION = re.compile(r"\d+(\.\d+){1,3}")
_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f/?#]+(/[^\s\x00-\x1f\x7f?#]*)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # cannot go in a header: refused at every request


class AntigravityProfile(ProviderProfile):
    kind = ProviderKind.ANTIGRAVITY
    codec = GeminiCodec()
    dialect = CLOUD_CODE_DIALECT

    def base_urls(self, provider: Provider) -> tuple[str, ...]:
        """The endpoints of one attempt, in order: `base_url`, then `config.base_urls`."""
        listed = provider.config.get("base_urls")
        others = listed if isinstance(listed, list) else DEFAULT_BASE_URLS
        urls = [provider.base_url, *others]
        return tuple(dict.fromkeys(url.rstrip("/") for url in urls if url))

    def user_agent(self, provider: Provider) -> str:
        config = provider.config
        version = config.get("client_version") or DEFAULT_CLIENT_VERSION
        template = config.get("user_agent") or DEFAULT_USER_AGENT
        return str(template).replace("{version}", str(version))

    def model_map(self, provider: Provider) -> Mapping[str, str]:
        """Client model name -> upstream name, from `config.models`."""
        models = provider.config.get("models")
        if isinstance(models, dict):
            return {str(k): str(v) for k, v in models.items()}
        if isinstance(models, list):
            return {str(m): str(m) for m in models}
        return {}

    def max_output_tokens(self, provider: Provider, family: str) -> int:
        caps = provider.config.get("max_output_tokens")
        value = caps.get(family) if isinstance(caps, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return MAX_OUTPUT_TOKENS[family]

    def auth_headers(self, provider: Provider, account: Account, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    def config_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = super().config_problems(config)
        urls = config.get("base_urls")
        if urls is not None and (
            not isinstance(urls, list)
            or not urls
            or len(urls) > MAX_BASE_URLS
            or not all(isinstance(u, str) and _URL.fullmatch(u) for u in urls)
        ):
            problems.append(f"config.base_urls must be a list of 1 to {MAX_BASE_URLS} http(s) URLs")
        version = config.get("client_version")
        if version is not None and not (isinstance(version, str) and _VERSION.fullmatch(version)):
            problems.append('config.client_version must be a version like "2.19.1"')
        agent = config.get("user_agent")
        if agent is not None and not (
            isinstance(agent, str)
            and agent.strip()
            and len(agent) <= MAX_NAME
            and not _CONTROL.search(agent)
        ):
            problems.append(
                "config.user_agent must be a non-empty string without control characters"
                " ({version} stands for config.client_version)"
            )
        problems += _model_problems(config.get("models"))
        caps = config.get("max_output_tokens")
        if caps is not None and not (
            isinstance(caps, dict)
            and set(caps) <= set(MAX_OUTPUT_TOKENS)
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in caps.values())
        ):
            problems.append(
                "config.max_output_tokens must map claude and/or gemini to a positive integer"
            )
        return problems


def _model_problems(models: Any) -> list[str]:
    if models is None:
        return []
    message = (
        f"config.models must be a list of model names or an object mapping client names to"
        f" upstream names (at most {MAX_MODELS}, names of 1 to {MAX_NAME} characters)"
    )
    if isinstance(models, list):
        names: list[Any] = models
    elif isinstance(models, dict):
        names = [*models, *models.values()]
    else:
        return [message]
    if len(models) > MAX_MODELS or not all(
        isinstance(n, str) and len(n.strip()) > 0 and len(n) <= MAX_NAME for n in names
    ):
        return [message]
    return []
