"""The acceptance run on MariaDB + Redis: migrate, serve, 3 accounts, 30 SDK requests."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import openai
import pytest
import redis
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy import create_engine, text

from tests.e2e.harness import Gateway, gateway_env, run_cli
from tests.fakes.openai_upstream import FakeOpenAI
from tests.services import REDIS_URL

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb, pytest.mark.redis]

KEYS = ["sk-pool-alpha-1111aaaa", "sk-pool-bravo-2222bbbb", "sk-pool-charlie-3333cccc"]


def sync_url(url: str) -> str:
    return url.replace("mysql+asyncmy://", "mysql+pymysql://")


def test_thirty_requests_rotate_over_three_accounts(
    tmp_path: Path, mysql_url: str, redis_client: redis.Redis, fake_openai: FakeOpenAI
) -> None:
    env = gateway_env(
        tmp_path,
        {
            "AIGATEWAY_DATABASE_URL": mysql_url,
            "AIGATEWAY_REDIS_URL": REDIS_URL,
            "AIGATEWAY_ADMIN_KEY": "adm_e2e_" + uuid.uuid4().hex,
            "AIGATEWAY_SECRET_KEY": "e2e-secret-" + uuid.uuid4().hex,
        },
    )
    migrated = run_cli(["migrate"], tmp_path, env)
    assert migrated.returncode == 0, migrated.stderr
    model = f"gpt-e2e-{uuid.uuid4().hex[:8]}"  # its own round-robin key in the shared Redis
    with Gateway(tmp_path, env) as first, Gateway(tmp_path, env) as second:
        client_key = first.setup_pool(fake_openai.base_url, KEYS, ["gpt-*"])
        wait_until_accepted(second, client_key)  # the admin write reached the other process
        sdks = [
            openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=client_key, max_retries=0)
            for gw in (first, second)
        ]
        for i in range(30):
            sdk = sdks[i % 2]
            messages: list[ChatCompletionMessageParam] = [
                {"role": "user", "content": f"question {i}"}
            ]
            if i % 3 == 0:
                stream = sdk.chat.completions.create(model=model, messages=messages, stream=True)
                text_out = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            else:
                reply = sdk.chat.completions.create(model=model, messages=messages)
                text_out = reply.choices[0].message.content or ""
            assert text_out == fake_openai.reply_text

        # one global rotation across both processes: each account exactly 10 times
        assert Counter(fake_openai.keys_seen()) == {key: 10 for key in KEYS}
        assert {c.model for c in fake_openai.calls} == {model}
        assert redis_client.get(f"account:rr:openai:{model}") == b"30"

        engine = create_engine(sync_url(mysql_url))
        try:
            deadline = time.monotonic() + 10
            rows = 0
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    rows = conn.execute(
                        text("SELECT COUNT(*) FROM request_logs WHERE model = :m"), {"m": model}
                    ).scalar_one()
                if rows >= 30:
                    break
                time.sleep(0.2)
            assert rows == 30
            with engine.connect() as conn:
                stored = [r[0] for r in conn.execute(text("SELECT auth_data FROM accounts"))]
                per_account: dict[str, int] = dict(
                    conn.execute(
                        text(
                            "SELECT a.key_masked, COUNT(*) FROM request_logs r "
                            "JOIN accounts a ON a.id = r.account_id WHERE r.model = :m "
                            "GROUP BY a.key_masked"
                        ),
                        {"m": model},
                    ).all()
                )
        finally:
            engine.dispose()
        assert len(stored) == 3
        for key in KEYS:
            assert not any(key in value or key[3:] in value for value in stored)
        assert sorted(per_account.values()) == [10, 10, 10]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        assert redis_client.hget(f"stats:requests:{today}", f"model:{model}") == b"30"
        for gateway in (first, second):  # a clean exit; else its log says where it hung
            assert gateway.stop() == 0, gateway.output()[-4000:]


def wait_until_accepted(gateway: Gateway, client_key: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{gateway.base_url}/v1/models", headers={"Authorization": f"Bearer {client_key}"}
        )
        if response.status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the second gateway never saw the new client key")
