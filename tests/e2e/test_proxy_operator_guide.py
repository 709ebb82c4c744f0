"""The operator guide's proxy steps (docs/operations.md, "Proxy connection errors, step by
step"), run as written against a running gateway on MariaDB: list the proxies in SQL, disable
one in SQL, recalculate through the admin API; the same change taking effect without the call
within `catalog.ttl_s`; and the guide's latency query.

The gateways here use their own Redis: a reload started by another test's admin write (they
share `config:version` on the common Redis) would apply the SQL change before the guide's
recalculation does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Gateway
from tests.e2e.private_services import PrivateRedis
from tests.e2e.proxy_rig import (
    CheckTarget,
    Database,
    add_api_key_accounts,
    add_proxy,
    chat,
    client_key,
    database,
    placements,
    proxies,
    start_env,
    wait_for,
    wait_for_health,
)
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb, pytest.mark.redis]

SOCKS_USER = "guide-user"
LATENCY_QUERY = """
SELECT proxy_id, AVG(latency_ms) as avg_latency
FROM request_logs
WHERE created_at >= NOW() - INTERVAL 1 HOUR
GROUP BY proxy_id
ORDER BY avg_latency DESC;
"""


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def served_by(gw: Gateway, key: str, fake: FakeOpenAI, model: str, keys: list[str]) -> set[str]:
    """Send `model` requests until every account (key) answered one; the peers they came from."""
    sent = 0
    while {c.key for c in fake.calls if c.model == model} != set(keys):
        assert sent < 4 * len(keys), "round-robin did not reach every account"
        answer = chat(gw, key, model)
        assert answer.status_code == 200, answer.text
        sent += 1
    return {c.peer for c in fake.calls if c.model == model}


def test_the_guide_disables_a_proxy_in_sql_and_its_accounts_move(
    tmp_path: Path, mysql_url: str, private_redis: PrivateRedis, fake_openai: FakeOpenAI
) -> None:
    password = "guide-pass-" + uuid.uuid4().hex
    keys = [f"sk-guide-{i}-{uuid.uuid4().hex}" for i in range(6)]
    tag = uuid.uuid4().hex[:8]
    with (
        CheckTarget() as check,
        proxies(
            {"protocol": "http"},
            {"protocol": "socks5", "username": SOCKS_USER, "password": password},
        ) as (first, second),
        database(mysql_url) as db,
    ):
        env = start_env(
            tmp_path,
            mysql_url,
            {
                "AIGATEWAY_PROXY_HEALTH_CHECK_URL": check.url,
                # one round of checks, at start-up: a check that changes a proxy's health
                # makes every process reload, which would apply the SQL change too
                "AIGATEWAY_PROXY_HEALTH_CHECK_INTERVAL_S": "3600",
                "AIGATEWAY_CATALOG_TTL_S": "3600",
            },
            redis_url=private_redis.url,
        )
        with Gateway(tmp_path, env) as gw, gw.admin() as admin:
            first_id = add_proxy(admin, first, "eu-1")
            second_id = add_proxy(admin, second, "eu-2")
            update = {"base_url": fake_openai.base_url, "models": ["gpt-*"]}
            assert admin.patch("/providers/openai", json=update).status_code == 200
            account_of = dict(zip(keys, add_api_key_accounts(admin, "openai", keys), strict=True))
            key = client_key(admin)
            placed = placements(admin)
            on_first = {a for a, p in placed.items() if p == first_id}
            assert len(on_first) == 3 and len(placed) == 6
            assert served_by(gw, key, fake_openai, f"gpt-both-{tag}", keys) == {
                first.egress_ip,
                second.egress_ip,
            }

            # 3. see the proxies in the database: no password in any column
            listed = db.rows("SELECT * FROM proxy_pool WHERE is_active = true;")
            assert sorted(row["id"] for row in listed) == [first_id, second_id]
            for row in listed:
                assert not [name for name, value in row.items() if password in str(value)], row
            socks_row = next(row for row in listed if row["id"] == second_id)
            assert socks_row["url"] == f"socks5://{SOCKS_USER}@127.0.0.1:{second.port}"
            assert socks_row["password_encrypted"]  # ciphertext, checked above
            # 4. disable the problematic proxy
            disable = f"UPDATE proxy_pool SET is_active = false WHERE id = {first_id};"
            assert db.execute(disable) == 1
            assert placements(admin) == placed  # nothing moves by itself before the reload
            # 5. recalculate: its 3 accounts move to the other proxy, and nothing else moves
            answer = httpx.post(
                f"{gw.base_url}/api/v1/proxies/recalculate",
                headers={"Authorization": f"Bearer {gw.admin_key}"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            report = answer.json()
            assert report["moved"] == 3
            assert sorted(
                (m["account_id"], m["from_proxy_id"], m["to_proxy_id"]) for m in report["moves"]
            ) == sorted((a, first_id, second_id) for a in on_first)
            assert {p["id"]: p["accounts"] for p in report["proxies"]} == {
                first_id: 0,
                second_id: 6,
            }
            assert report["unassigned"] == []
            assert placements(admin) == dict.fromkeys(placed, second_id)
            # requests now all leave through the remaining proxy
            assert served_by(gw, key, fake_openai, f"gpt-second-{tag}", keys) == {second.egress_ip}

        # the same without the call: a gateway with a short catalog TTL applies the rule itself
        env["AIGATEWAY_CATALOG_TTL_S"] = "1"
        with Gateway(tmp_path, env) as gw, gw.admin() as admin:
            wait_for_health(gw, second_id, "healthy")  # the start-up check is over
            assert placements(admin) == dict.fromkeys(placed, second_id)
            db.execute(f"UPDATE proxy_pool SET is_active = true WHERE id = {first_id};")
            db.execute(f"UPDATE proxy_pool SET is_active = false WHERE id = {second_id};")
            probe = f"gpt-probe-{tag}"

            def through_first() -> bool:
                # until the reload, the requests leave through the proxy disabled in SQL, and
                # while the reload reassigns its accounts they have no usable proxy (503)
                answered = chat(gw, key, probe).status_code == 200
                return answered and fake_openai.calls[-1].peer == first.egress_ip

            wait_for(through_first, "a request through the re-enabled proxy", 10, every_s=0.1)
            assert placements(admin) == dict.fromkeys(placed, first_id)
            assert served_by(gw, key, fake_openai, f"gpt-first-{tag}", keys) == {first.egress_ip}
            assert set(account_of.values()) == set(placed)
        # the guide's latency query: one row per proxy that carried requests
        assert_latency_per_proxy(db, {first_id, second_id})


def assert_latency_per_proxy(db: Database, used: set[int]) -> None:
    """A row per proxy; a NULL row only for requests no proxy carried (the 503s while the
    reload reassigned the accounts): nothing was served directly."""

    def complete() -> list[dict[str, object]] | None:
        rows = db.rows(LATENCY_QUERY)
        return rows if {r["proxy_id"] for r in rows} - {None} == used else None

    rows = wait_for(complete, "a latency row for every proxy used", every_s=0.2)
    latencies = [float(str(r["avg_latency"])) for r in rows]
    assert latencies == sorted(latencies, reverse=True)
    assert all(latency >= 0 for latency in latencies)
    direct = "SELECT status_code FROM request_logs WHERE proxy_id IS NULL"
    assert {r["status_code"] for r in db.rows(direct)} <= {503}
