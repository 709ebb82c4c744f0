"""Client disconnects and shutdown with streams open, against the real server process."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.openai_upstream import FakeOpenAI

pytestmark = pytest.mark.e2e

BODY = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]}


def open_stream(gateway: Gateway, key: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(timeout=30)
    request = client.build_request(
        "POST",
        f"{gateway.base_url}/v1/chat/completions",
        json=BODY,
        headers={"Authorization": f"Bearer {key}"},
    )
    response = client.send(request, stream=True)
    assert response.status_code == 200
    return client, response


def first_content(lines: Iterator[str]) -> str:
    for line in lines:
        if '"content": "' in line and '"content": ""' not in line:
            return line
    raise AssertionError("the stream ended before any content")


def wait_for_output(gateway: Gateway, text: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in gateway.output():
        assert time.monotonic() < deadline, f"the gateway never logged {text!r}"
        time.sleep(0.01)


def log_rows(workdir: Path) -> list[tuple[int, int | None]]:
    with sqlite3.connect(workdir / "data" / "aigateway.db") as db:
        return db.execute("SELECT status_code, ttfb_ms FROM request_logs").fetchall()


def test_a_client_hanging_up_mid_stream_closes_the_upstream_at_once(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.stream_gate = threading.Event()
    with Gateway(tmp_path, gateway_env(tmp_path)) as gateway:
        key = gateway.setup_pool(fake_openai.base_url, ["sk-hangup-000000001"], ["gpt-*"])
        client, response = open_stream(gateway, key)
        first_content(response.iter_lines())
        hung_up_at = time.monotonic()
        response.close()
        client.close()
        deadline = hung_up_at + 5
        while not fake_openai.hangups and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fake_openai.hangups, "the upstream connection stayed open"
        assert fake_openai.hangups[0] - hung_up_at < 1.0
        assert gateway.stop() == 0
    assert [status for status, _ in log_rows(tmp_path)] == [499]


def test_sigterm_lets_open_streams_finish_and_exits_cleanly(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    gate = threading.Event()
    fake_openai.stream_gate = gate
    with Gateway(tmp_path, gateway_env(tmp_path)) as gateway:
        key = gateway.setup_pool(fake_openai.base_url, ["sk-sigterm-00000001"], ["gpt-*"])
        client, response = open_stream(gateway, key)
        lines = response.iter_lines()  # one iterator: a second one would drop buffered lines
        first_content(lines)
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGTERM)
        # the gateway is shutting down while the stream is held upstream
        wait_for_output(gateway, "Waiting for connections to close")
        assert gateway.process.poll() is None
        gate.set()
        rest = list(lines)
        client.close()
        assert "data: [DONE]" in rest
        assert gateway.process.wait(30) == 0
    assert [status for status, _ in log_rows(tmp_path)] == [200]
