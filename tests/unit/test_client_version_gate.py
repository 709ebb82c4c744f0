"""The upstream refusing the gateway's client version: the operator's problem, no account's.

ProxyChat on in-memory adapters with a Cloud Code-dialect executor that answers what an
outdated client gets (the Cloud Code executor passes these answers as such Refusals).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aigateway.application.errors import GatewayError
from aigateway.application.ports.upstream import (
    Answer,
    ChatCall,
    PreparedChat,
    Refusal,
    Usage,
)
from aigateway.application.use_cases.admin import AccountDisabler, AccountsAdmin, NewAccount
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.application.use_cases.proxy_chat import ProxyChat
from aigateway.domain.accounts import Account
from aigateway.domain.errors import CLOUD_CODE_DIALECT, ErrorDialect, version_gate_notice
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import Route
from tests.unit.chat_world import World, chat

NOTICE = (
    "This version of Antigravity is no longer supported. Please update to receive the latest "
    "features!"
)
NOT_FOUND = (
    b'{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}'
)


class _Exchange:
    def __init__(self, refusal: Refusal) -> None:
        self._refusal = refusal

    @property
    def usage(self) -> Usage | None:
        return None

    @property
    def stream_error(self) -> str | None:
        return None

    async def answer(self) -> Answer | Refusal:
        return self._refusal

    async def open_stream(self) -> AsyncIterator[bytes] | Refusal:
        return self._refusal

    async def close(self) -> None:
        pass


class GatedExecutor:
    """Answers every attempt with `refusal`, as an outdated client is answered."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        self.attempts: list[str] = []

    @property
    def dialect(self) -> ErrorDialect:
        return CLOUD_CODE_DIALECT

    def prepare(self, call: ChatCall) -> PreparedChat:
        return PreparedChat(call=call, body=call.body, translated=False)

    async def open(
        self, prepared: PreparedChat, account: Account, secret: str, route: Route
    ) -> _Exchange:
        self.attempts.append(account.id)
        return _Exchange(self.refusal)


async def gated_world(refusal: Refusal) -> tuple[World, GatedExecutor, OperatorNotices]:
    world = World()
    await world.providers.add(
        Provider(
            id="antigravity",
            name="Antigravity",
            kind=ProviderKind.ANTIGRAVITY,
            base_url="http://cloudcode",
            models=("gemini-*",),
        )
    )
    admin = AccountsAdmin(world.accounts, world.uow, world.clock)
    for token in ("ya29.first-token", "ya29.second-token"):
        await admin.create(NewAccount(provider_id="antigravity", auth_data={"access_token": token}))
    executor = GatedExecutor(refusal)
    notices = OperatorNotices()
    world.proxy = ProxyChat(
        world.catalog,
        world.rotation,
        {ProviderKind.ANTIGRAVITY: executor},
        world.logs,
        world.clock,
        disable_account=AccountDisabler(admin),
        notices=notices,
    )
    return world, executor, notices


def refusal(status: int, body: bytes, *, model_known: bool = False) -> Refusal:
    client_body = None if status == 200 else body
    return Refusal(
        status=status,
        body=body,
        headers={},
        client_body=client_body,
        summary=f"upstream {status}",
        model_known=model_known,
    )


@pytest.mark.parametrize(
    "answer",
    [refusal(200, NOTICE.encode()), refusal(404, NOT_FOUND, model_known=True)],
    ids=["200 upgrade notice", "404 for a listed model"],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_outdated_client_is_a_502_for_the_operator_and_no_account_suffers(
    answer: Refusal, stream: bool
) -> None:
    world, executor, notices = await gated_world(answer)
    client = world.proxy.authenticate(await world.client())
    for _ in range(3):
        with pytest.raises(GatewayError) as raised:
            await world.proxy.start(chat("gemini-3-flash", stream), client)
        assert raised.value.status == 502
        assert raised.value.code == "client_version_outdated"
        assert "config.client_version" in raised.value.message
    # one attempt per request: every account has the same version, trying another is useless
    assert len(executor.attempts) == 3
    assert len(set(executor.attempts)) == 2  # and the rotation carries on as usual
    turn = await world.rotation.turn("antigravity", "gemini-3-flash", world.clock.now())
    assert turn.cooling == ()
    assert all(a.usable for a in await world.accounts.list())
    [notice] = notices.current()
    assert notice.topic == "client_version:antigravity"
    assert "raise config.client_version" in notice.message
    await world.logs.flush()
    assert [row.status_code for row in world.sink.rows] == [502, 502, 502]


async def test_a_404_for_a_model_the_account_does_not_list_is_the_clients() -> None:
    world, executor, notices = await gated_world(refusal(404, NOT_FOUND))
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat("gemini-9-unknown"), client)
    assert result.status == 404
    assert b"Requested entity was not found" in (result.body or b"")
    assert len(executor.attempts) == 1  # not retried on another account
    turn = await world.rotation.turn("antigravity", "gemini-9-unknown", world.clock.now())
    assert turn.cooling == ()  # no suspension of the model on the account
    assert notices.current() == []


def test_the_executor_can_tell_a_notice_from_an_answer() -> None:
    assert version_gate_notice(NOTICE)
    assert not version_gate_notice("Sure! Here is the code you asked for.")
