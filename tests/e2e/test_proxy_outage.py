"""A proxy that dies under load: no client sees it, the proxy is shown down, its accounts get
no more attempts, and once a proxy listens on its port again the active check brings it and
its accounts back after `proxy.recovery_s`."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Gateway
from tests.e2e.proxy_rig import (
    CheckTarget,
    add_api_key_accounts,
    add_proxy,
    client_key,
    database,
    placements,
    proxies,
    proxy_states,
    start_env,
    wait_for,
    wait_for_health,
)
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.mariadb, pytest.mark.redis]

CLIENTS = 8
RECOVERY_S = 3.0  # long enough to send requests between the restart and the check
MARGIN_S = 0.3


class ConcurrentLoad:
    """`CLIENTS` threads sending chat requests, each about every `pause_s`, naming `model` (a
    phase marker: set it to tell the requests sent from then on apart); every answer's status is
    kept per model, a transport error as status 0."""

    def __init__(self, base_url: str, key: str, model: str, pause_s: float = 0.03) -> None:
        self._url = f"{base_url}/v1/chat/completions"
        self._headers = {"Authorization": f"Bearer {key}"}
        self._pause_s = pause_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]
        self.model = model
        self.statuses: dict[str, Counter[int]] = {}
        self.failures: list[str] = []

    def __enter__(self) -> ConcurrentLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def answered(self, model: str) -> int:
        with self._lock:
            return sum(self.statuses.get(model, Counter()).values())

    def _run(self) -> None:
        deadline = time.monotonic() + 120  # never runs away
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                model = self.model
                body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
                try:
                    answer = client.post(self._url, json=body, headers=self._headers)
                    status, text = answer.status_code, answer.text
                except httpx.HTTPError as exc:
                    status, text = 0, repr(exc)
                with self._lock:
                    self.statuses.setdefault(model, Counter())[status] += 1
                    if status != 200:
                        self.failures.append(f"{model} {status}: {text[:300]}")
                self._stop.wait(self._pause_s)


def test_a_proxy_killed_under_load_costs_no_request_and_comes_back_after_recovery(
    tmp_path: Path, mysql_url: str, fake_openai: FakeOpenAI
) -> None:
    tag = uuid.uuid4().hex[:8]
    before, down, restarted, recovering, back = (
        f"gpt-{phase}-{tag}" for phase in ("before", "down", "restarted", "recovering", "back")
    )
    with (
        CheckTarget() as check,
        proxies({"protocol": "http"}, {"protocol": "http"}) as (
            dying,
            steady,
        ),
    ):
        env = start_env(
            tmp_path,
            mysql_url,
            {
                "AIGATEWAY_PROXY_HEALTH_CHECK_URL": check.url,
                "AIGATEWAY_PROXY_HEALTH_CHECK_INTERVAL_S": "0.2",
                "AIGATEWAY_PROXY_RECOVERY_S": str(RECOVERY_S),
            },
        )
        with Gateway(tmp_path, env) as gw, gw.admin() as admin:
            dying_id = add_proxy(admin, dying, "dying")
            steady_id = add_proxy(admin, steady, "steady")
            update = {"base_url": fake_openai.base_url, "models": ["gpt-*"]}
            assert admin.patch("/providers/openai", json=update).status_code == 200
            # two accounts behind each: a request fails over within its 3 attempts even when
            # both accounts behind the dead proxy fail first
            keys = [f"sk-outage-{i}-{uuid.uuid4().hex}" for i in range(4)]
            account_of = dict(zip(keys, add_api_key_accounts(admin, "openai", keys), strict=True))
            key = client_key(admin)
            placed = placements(admin)
            behind_dying = {a for a, p in placed.items() if p == dying_id}
            assert len(behind_dying) == 2 and Counter(placed.values())[steady_id] == 2
            for proxy_id in (dying_id, steady_id):
                wait_for_health(gw, proxy_id, "healthy")

            def peers_of(model: str) -> dict[str, set[str]]:
                found: dict[str, set[str]] = {}
                for call in list(fake_openai.calls):
                    if call.model == model:
                        found.setdefault(account_of[call.key], set()).add(call.peer)
                return found

            with ConcurrentLoad(gw.base_url, key, before) as load:
                wait_for(lambda: len(peers_of(before)) == 4, "every account served before")
                dying.kill()
                killed_at = time.monotonic()
                wait_for_health(gw, dying_id, "down", timeout_s=10)
                shown_down_s = time.monotonic() - killed_at
                load.model = down  # sent after the proxy was shown down
                wait_for(lambda: load.answered(down) >= 100, "100 requests while it is down")
                dying.start()  # a proxy on the same port again
                # it stays down until its check is due, `recovery_s` after it was marked down:
                # the requests sent until then must not go through it although it works again
                shown = proxy_states(admin)[dying_id]
                assert shown["health_status"] == "down", shown
                due = datetime.fromisoformat(shown["marked_down_at"]).timestamp() + RECOVERY_S
                load.model = restarted
                time.sleep(max(0.0, due - MARGIN_S - time.time()))  # a point in time, not a state
                load.model = recovering
                wait_for_health(gw, dying_id, "healthy", timeout_s=10)
                load.model = back
                wait_for(
                    lambda: behind_dying <= set(peers_of(back)),
                    "the accounts behind the recovered proxy serving again",
                    timeout_s=20,
                )
            assert load.failures == [], load.failures[:5]
            assert load.answered(restarted) >= 50, load.statuses
            recovered = proxy_states(admin)[dying_id]
        assert shown_down_s < 5, shown_down_s
        assert recovered["consecutive_failures"] == 0 and recovered["marked_down_at"] is None
        # by its failed calls, or by its failed checks when the kill reset the calls in flight
        # on both its accounts (a reset rests the account: no more calls to count)
        output = gw.output()
        assert (
            f"proxy {dying_id} marked down after 3 failed calls in a row" in output
            or f"proxy {dying_id} is down" in output
        )

        # while it was down, dead or alive again, no request went near its accounts
        with database(mysql_url) as db:
            for model in (down, restarted):
                assert set(peers_of(model)) == set(placed) - behind_dying, model
                assert {p for peers in peers_of(model).values() for p in peers} == {
                    steady.egress_ip
                }
                rows = db.request_logs(model, load.answered(model))
                tried = {r["account_id"] for r in rows}
                tried |= {r["switched_from_account_id"] for r in rows}
                assert not tried & behind_dying, model
                assert {r["retry_count"] for r in rows} == {0}, model
                assert {r["proxy_id"] for r in rows} == {steady_id}, model
        # once back, its accounts leave through it again
        for account_id, peers in peers_of(back).items():
            assert peers == {dying.egress_ip if account_id in behind_dying else steady.egress_ip}
