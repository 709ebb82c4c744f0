"""Where the gateway's calls leave from, with real proxies in front of real fakes: every call of
an account (chat and its token refreshes) leaves through that account's proxy and never from
the gateway's own address; without a usable proxy nothing leaves at all, unless
`proxy.direct_egress` is `fallback`."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import anthropic
import httpx
import openai
import pytest
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.conftest import SDK_TIMEOUT_S
from tests.e2e.harness import Gateway
from tests.e2e.proxy_rig import (
    DIRECT_PEER,
    CheckTarget,
    add_api_key_accounts,
    add_expired_oauth_accounts,
    add_proxy,
    chat,
    client_key,
    database,
    messages,
    placements,
    proxies,
    start_env,
    wait_for,
    wait_for_health,
)
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.oauth_server import FakeOAuth
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.proxies import FakeProxy

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb, pytest.mark.redis]

SOCKS_USER = "e2e-socks"
SERVED_QUERY = "SELECT proxy_id FROM request_logs WHERE model = :m AND status_code = 200"


def oauth_env(oauth: FakeOAuth, check: CheckTarget) -> dict[str, str]:
    return {
        "AIGATEWAY_ANTHROPIC_OAUTH_TOKEN_URL": oauth.token_url("anthropic"),
        "AIGATEWAY_ANTHROPIC_OAUTH_CLIENT_ID": oauth.client_id,
        "AIGATEWAY_PROXY_HEALTH_CHECK_URL": check.url,
    }


def point_providers(admin: httpx.Client, openai_url: str, anthropic_url: str) -> None:
    for provider, update in (
        ("openai", {"base_url": openai_url, "models": ["gpt-*"]}),
        ("anthropic", {"base_url": anthropic_url, "models": ["claude-*"]}),
    ):
        answer = admin.patch(f"/providers/{provider}", json=update)
        assert answer.status_code == 200, answer.text


def tunnel_targets(proxy: FakeProxy) -> set[str]:
    """The host:port of every tunnel the proxy's own log shows."""
    return {line.rsplit(" -> ", 1)[1].strip() for line in proxy.connections()}


def test_every_call_of_an_account_leaves_through_its_own_proxy(
    tmp_path: Path, mysql_url: str, fake_openai: FakeOpenAI
) -> None:
    password = "socks-pass-" + uuid.uuid4().hex
    keys = [f"sk-egress-{i}-{uuid.uuid4().hex}" for i in range(3)]
    emails = [f"egress{i}@example.com" for i in range(3)]
    gpt, claude = f"gpt-egress-{uuid.uuid4().hex[:8]}", f"claude-egress-{uuid.uuid4().hex[:8]}"
    with (
        FakeOAuth() as oauth,
        FakeAnthropic(accepts=oauth.is_current) as fake_anthropic,
        CheckTarget() as check,
        proxies(
            {"protocol": "http"},
            {"protocol": "socks5", "username": SOCKS_USER, "password": password},
        ) as (http_proxy, socks_proxy),
    ):
        env = start_env(tmp_path, mysql_url, oauth_env(oauth, check))
        refresh_tokens = [oauth.issue_refresh_token(email) for email in emails]
        with Gateway(tmp_path, env) as gw, gw.admin() as admin:
            http_id = add_proxy(admin, http_proxy, "http egress")
            socks_id = add_proxy(admin, socks_proxy, "socks5 egress")
            point_providers(admin, fake_openai.base_url, fake_anthropic.base_url)
            openai_ids = add_api_key_accounts(admin, "openai", keys)
            oauth_ids = add_expired_oauth_accounts(admin, "anthropic", refresh_tokens)
            key = client_key(admin)

            placed = placements(admin)
            assert Counter(placed.values()) == {http_id: 3, socks_id: 3}
            assert set(placed) == {*openai_ids, *oauth_ids}
            listed = admin.get("/proxies")
            assert password not in listed.text
            assert f"socks5://{SOCKS_USER}:***@127.0.0.1:{socks_proxy.port}" in listed.text

            account_of = dict(zip(keys, openai_ids, strict=True))
            account_of |= {f"at-expired-{i}": oauth_ids[i] for i in range(3)}
            email_account = dict(zip(emails, oauth_ids, strict=True))
            egress = {http_id: http_proxy.egress_ip, socks_id: socks_proxy.egress_ip}

            def account_of_call(token: str) -> str:
                email = oauth.email_of(token)
                return email_account[email] if email else account_of[token]

            def everyone_answered() -> bool:
                seen = {account_of[k] for k in fake_openai.keys_seen()}
                seen |= {account_of_call(k) for k in fake_anthropic.keys_seen()}
                return seen == set(placed)

            sent = 0
            with (
                openai.OpenAI(
                    base_url=f"{gw.base_url}/v1", api_key=key, max_retries=0, timeout=SDK_TIMEOUT_S
                ) as oai,
                anthropic.Anthropic(
                    base_url=gw.base_url, api_key=key, max_retries=0, timeout=SDK_TIMEOUT_S
                ) as ant,
            ):
                while not everyone_answered():
                    assert sent < 12, "round-robin did not reach every account in 12 rounds"
                    question: list[ChatCompletionMessageParam] = [
                        {"role": "user", "content": f"question {sent}"}
                    ]
                    if sent % 2:
                        stream = oai.chat.completions.create(
                            model=gpt, messages=question, stream=True
                        )
                        text = "".join(
                            c.choices[0].delta.content or "" for c in stream if c.choices
                        )
                    else:
                        reply = oai.chat.completions.create(model=gpt, messages=question)
                        text = reply.choices[0].message.content or ""
                    assert text == fake_openai.reply_text
                    turn: list[MessageParam] = [{"role": "user", "content": f"question {sent}"}]
                    answer = ant.messages.create(model=claude, max_tokens=16, messages=turn)
                    assert answer.content[0].type == "text"
                    assert answer.content[0].text == fake_anthropic.reply_text
                    sent += 1

            # every upstream call of an account came from its proxy's egress address
            calls = [(account_of[c.key], c.peer) for c in fake_openai.calls]
            calls += [(account_of_call(c.key), c.peer) for c in fake_anthropic.calls]
            assert len(calls) == 2 * sent
            wrong = [(a, peer) for a, peer in calls if peer != egress[placed[a] or 0]]
            assert not wrong, f"calls not from their account's proxy: {wrong}"
            assert DIRECT_PEER not in {peer for _, peer in calls}
            # every token refresh too, one per OAuth account
            refreshes = oauth.calls("refresh_token")
            refreshed = [
                email_account[oauth.refresh_tokens[str(c.refresh_token)]] for c in refreshes
            ]
            assert sorted(refreshed) == sorted(oauth_ids)
            for account_id, call in zip(refreshed, refreshes, strict=True):
                assert call.peer == egress[placed[account_id] or 0], (account_id, call.peer)
            # the proxies' own logs show the tunnels their accounts needed
            openai_at = urlsplit(fake_openai.base_url).netloc
            anthropic_at = urlsplit(fake_anthropic.base_url).netloc
            oauth_at = urlsplit(oauth.base_url).netloc
            for proxy_id, proxy in ((http_id, http_proxy), (socks_id, socks_proxy)):
                mine = [a for a, p in placed.items() if p == proxy_id]
                needed = {openai_at for a in mine if a in openai_ids}
                needed |= {at for a in mine if a in oauth_ids for at in (anthropic_at, oauth_at)}
                assert needed <= tunnel_targets(proxy), (proxy.protocol, proxy.connections())
            # and the request log names the proxy of every request
            with database(mysql_url) as db:
                for model, accounts in ((gpt, openai_ids), (claude, oauth_ids)):
                    rows = db.request_logs(model, sent)
                    assert len(rows) == sent
                    for row in rows:
                        assert row["status_code"] == 200
                        assert row["account_id"] in accounts
                        assert row["proxy_id"] == placed[row["account_id"]], row
        assert gw.process is not None and gw.process.returncode == 0
        assert password not in gw.output()


def test_without_a_usable_proxy_nothing_leaves_unless_direct_egress_is_fallback(
    tmp_path: Path, mysql_url: str, fake_openai: FakeOpenAI
) -> None:
    gpt, claude = f"gpt-noroute-{uuid.uuid4().hex[:8]}", f"claude-noroute-{uuid.uuid4().hex[:8]}"
    with (
        FakeOAuth() as oauth,
        FakeAnthropic(accepts=oauth.is_current) as fake_anthropic,
        CheckTarget() as check,
        proxies({"protocol": "http"}) as (proxy,),
    ):
        env = start_env(tmp_path, mysql_url, oauth_env(oauth, check))
        refresh = oauth.issue_refresh_token("noroute@example.com")
        with Gateway(tmp_path, env) as gw, gw.admin() as admin:
            proxy_id = add_proxy(admin, proxy, "the only one", is_active=False)
            point_providers(admin, fake_openai.base_url, fake_anthropic.base_url)
            (openai_id,) = add_api_key_accounts(admin, "openai", ["sk-noroute-" + uuid.uuid4().hex])
            (oauth_id,) = add_expired_oauth_accounts(admin, "anthropic", [refresh])
            key = client_key(admin)

            # the only proxy is disabled: no account has a way out
            assert placements(admin) == {openai_id: None, oauth_id: None}
            for answer, account_id in (
                (chat(gw, key, gpt), openai_id),
                (messages(gw, key, claude), oauth_id),
            ):
                assert answer.status_code == 503, answer.text
                assert (
                    f"account {account_id} has no proxy assigned"
                    in (answer.json()["error"]["message"])
                )

            # active again, but its process is gone: it goes down, and stays the only way out
            proxy.kill()
            enabled = admin.patch(f"/proxies/{proxy_id}", json={"is_active": True})
            assert enabled.status_code == 200, enabled.text
            assert placements(admin) == {openai_id: proxy_id, oauth_id: proxy_id}
            down = f"proxy {proxy_id} of account {openai_id} is down"
            answers = [chat(gw, key, gpt)]
            while down not in answers[-1].text:
                assert len(answers) < 10, [a.text for a in answers]
                answers.append(chat(gw, key, gpt))
            assert all(a.status_code >= 500 for a in answers), [a.text for a in answers]
            assert answers[-1].status_code == 503
            refused = messages(gw, key, claude)
            assert refused.status_code == 503, refused.text
            assert f"proxy {proxy_id} of account {oauth_id} is down" in refused.text
            wait_for_health(gw, proxy_id, "down")
            assert f"proxy {proxy_id} marked down after 3 failed calls in a row" in gw.output()
            notices = httpx.get(f"{gw.base_url}/health").json()["notices"]
            assert any(f"proxy {proxy_id}" in n["message"] for n in notices), notices
        # not a byte left: neither upstream nor the token endpoint heard from anyone
        assert fake_openai.calls == []
        assert fake_anthropic.calls == []
        assert oauth.calls() == []
        assert proxy.connections() == []

        # the same requests with direct egress as the fallback: served from the gateway itself
        env["AIGATEWAY_PROXY_DIRECT_EGRESS"] = "fallback"
        with Gateway(tmp_path, env) as gw:
            served = chat(gw, key, gpt)
            assert served.status_code == 200, served.text
            answered = messages(gw, key, claude)
            assert answered.status_code == 200, answered.text
            with gw.admin() as admin:
                assert admin.get(f"/proxies/{proxy_id}").json()["health_status"] == "down"
        assert [c.peer for c in fake_openai.calls] == [DIRECT_PEER]
        assert [c.peer for c in fake_anthropic.calls] == [DIRECT_PEER]
        assert [c.peer for c in oauth.calls("refresh_token")] == [DIRECT_PEER]
        with database(mysql_url) as db:
            for model in (gpt, claude):

                def served_rows(m: str = model) -> list[dict[str, object]]:
                    return db.rows(SERVED_QUERY, m=m)

                assert wait_for(served_rows, f"the served {model} request logged") == [
                    {"proxy_id": None}
                ]
