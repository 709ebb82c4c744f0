"""The chat executor on production code: what it prepares once per request and what it sends."""

from __future__ import annotations

import msgspec
import pytest

from aigateway.application.ports.upstream import ChatCall, PreparedChat, UpstreamRequest
from aigateway.domain.accounts import Account
from aigateway.domain.llm import UnsupportedContent, WireFormat
from tests.doubles.routes import VIA
from tests.unit.chat_world import ScriptedResponse
from tests.unit.exchange_world import (
    ANTHROPIC,
    API_KEY,
    CODEC,
    OAUTH,
    OK,
    OPENAI,
    PAIRS,
    Upstream,
    body,
    call,
    executor,
)


@pytest.mark.parametrize("fmt", [OPENAI, ANTHROPIC])
def test_passthrough_prepare_splices_the_model_only_when_it_differs(fmt: WireFormat) -> None:
    run = executor(fmt, Upstream())
    same = call(fmt, fmt, model="m", requested="m")
    prepared = run.prepare(same)
    assert prepared.body is same.body and not prepared.translated
    alias = call(fmt, fmt, model="upstream-name", requested="alias")
    spliced = run.prepare(alias)
    assert not spliced.translated
    assert msgspec.json.decode(spliced.body) == {
        **msgspec.json.decode(alias.body),
        "model": "upstream-name",
    }


@pytest.mark.parametrize(("client", "upstream"), [(OPENAI, ANTHROPIC), (ANTHROPIC, OPENAI)])
@pytest.mark.parametrize("stream", [False, True])
def test_translated_prepare_writes_the_upstream_model_in_the_upstream_format(
    client: WireFormat, upstream: WireFormat, stream: bool
) -> None:
    run = executor(upstream, Upstream())
    prepared = run.prepare(call(client, upstream, model="up", requested="alias", stream=stream))
    assert prepared.translated
    request = CODEC[upstream].decode_request(prepared.body)
    assert (request.model, request.stream) == ("up", stream)


def test_translated_prepare_refuses_what_the_upstream_cannot_express() -> None:
    mcp = [{"type": "url", "url": "https://mcp.example", "name": "ex"}]
    untranslatable = call(ANTHROPIC, OPENAI, body=body(ANTHROPIC, mcp_servers=mcp))
    with pytest.raises(UnsupportedContent, match="mcp_servers"):
        executor(OPENAI, Upstream()).prepare(untranslatable)


async def sent(
    the_call: ChatCall, upstream: WireFormat, account: Account = API_KEY, timeout_s: float = 600.0
) -> UpstreamRequest:
    transport = Upstream(ScriptedResponse(200, OK[upstream], [], {}))
    run = executor(upstream, transport, timeout_s)
    prepared: PreparedChat = run.prepare(the_call)
    await run.open(prepared, account, account.credential.secret, VIA)
    (request,) = transport.requests
    return request


async def test_openai_requests_carry_a_bearer_key() -> None:
    request = await sent(call(OPENAI, OPENAI), OPENAI)
    assert request.url == "http://up/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-secret"
    assert request.headers["Content-Type"] == "application/json"
    assert "x-api-key" not in request.headers and "Accept" not in request.headers


@pytest.mark.parametrize(("client"), [OPENAI, ANTHROPIC])
async def test_anthropic_api_keys_go_in_x_api_key_and_oauth_tokens_as_bearer(
    client: WireFormat,
) -> None:
    keyed = await sent(call(client, ANTHROPIC), ANTHROPIC, API_KEY)
    assert keyed.url == "http://up/v1/messages"
    assert keyed.headers["x-api-key"] == "sk-secret" and "Authorization" not in keyed.headers
    assert keyed.headers["anthropic-version"] == "2023-06-01"
    oauth = await sent(call(client, ANTHROPIC), ANTHROPIC, OAUTH)
    assert oauth.headers["Authorization"] == "Bearer oat-token"
    assert "x-api-key" not in oauth.headers
    configured = call(client, ANTHROPIC, config={"anthropic_version": "2025-01-01"})
    assert (await sent(configured, ANTHROPIC)).headers["anthropic-version"] == "2025-01-01"


async def test_anthropic_beta_and_query_are_forwarded_only_on_passthrough() -> None:
    config = {"anthropic_beta": "config-beta"}
    client_beta = {"anthropic-beta": "interleaved-thinking-2025-05-14, oauth-2025-04-20"}
    passthrough = call(
        ANTHROPIC,
        ANTHROPIC,
        config=config,
        forward_headers=client_beta,
        query="beta=true&key=AIza-client&access_token=t",
    )
    request = await sent(passthrough, ANTHROPIC)
    # the client's betas follow the provider's; OAuth betas and other parameters stay behind
    assert request.headers["anthropic-beta"] == "config-beta,interleaved-thinking-2025-05-14"
    assert request.url == "http://up/v1/messages?beta=true"
    alone = call(ANTHROPIC, ANTHROPIC, forward_headers={"anthropic-beta": "oauth-2025-04-20"})
    assert "anthropic-beta" not in (await sent(alone, ANTHROPIC)).headers
    translated = call(
        OPENAI, ANTHROPIC, config=config, forward_headers=client_beta, query="beta=true"
    )
    request = await sent(translated, ANTHROPIC)
    assert request.headers["anthropic-beta"] == "config-beta"
    assert request.url == "http://up/v1/messages"
    assert "anthropic-beta" not in (await sent(call(OPENAI, ANTHROPIC), ANTHROPIC)).headers
    openai_pass = call(OPENAI, OPENAI, forward_headers=client_beta, query="key=AIza-client")
    request = await sent(openai_pass, OPENAI)
    assert "anthropic-beta" not in request.headers  # not a header the OpenAI profile forwards
    assert request.url == "http://up/chat/completions"  # no query parameter reaches it


@pytest.mark.parametrize(("client", "upstream"), PAIRS)
async def test_streams_ask_for_event_streams(client: WireFormat, upstream: WireFormat) -> None:
    request = await sent(call(client, upstream, stream=True), upstream)
    assert request.headers["Accept"] == "text/event-stream"
    assert "Accept" not in (await sent(call(client, upstream), upstream)).headers


@pytest.mark.parametrize("upstream", [OPENAI, ANTHROPIC])
async def test_timeouts_come_from_the_provider_config(upstream: WireFormat) -> None:
    default = await sent(call(OPENAI, upstream), upstream, timeout_s=42.0)
    assert (default.timeout_s, default.connect_timeout_s, default.total_timeout_s) == (
        42.0,
        None,
        None,
    )
    config = {"read_timeout_s": 7, "connect_timeout_s": 2.5, "total_timeout_s": 30}
    whole = await sent(call(OPENAI, upstream, config=config), upstream, timeout_s=42.0)
    assert (whole.timeout_s, whole.connect_timeout_s, whole.total_timeout_s) == (7.0, 2.5, 30.0)
    stream = await sent(call(OPENAI, upstream, config=config, stream=True), upstream)
    assert (stream.timeout_s, stream.connect_timeout_s, stream.total_timeout_s) == (7.0, 2.5, None)
