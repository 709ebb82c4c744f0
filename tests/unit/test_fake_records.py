"""The fake upstreams record a stream before its bytes leave.

The gateway stops reading an upstream stream at its last event (`data: [DONE]`, Anthropic's
`message_stop`) without waiting for the end of the body, so its client can finish while the
fake's server thread has sent the last event and not yet run another line. A test that then
looks at `raw_responses` must find the whole stream there. Here the fake's thread stalls right
after sending the last event (as a loaded machine stalls it now and then) until the reader,
which stops at that event like the gateway, has looked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI

OPENAI_LAST = "data: [DONE]"
ANTHROPIC_LAST = 'data: {"type": "message_stop"}'


@pytest.fixture
def stall_after_last_event(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Until the event is set, a fake's server thread stops right after writing a stream's
    last event."""
    release = threading.Event()
    write = web.StreamResponse.write

    async def stalling(self: web.StreamResponse, data: Any) -> None:
        await write(self, data)
        if bytes(data).rstrip(b"\n").endswith((OPENAI_LAST.encode(), ANTHROPIC_LAST.encode())):
            release.wait(10)

    monkeypatch.setattr(web.StreamResponse, "write", stalling)
    yield release
    release.set()


def read_until(response: httpx.Response, last: str) -> list[str]:
    lines = []
    for line in response.iter_lines():
        lines.append(line)
        if line == last:
            return lines
    raise AssertionError(f"the stream ended without {last!r}")


def non_empty(lines: list[str]) -> list[str]:
    return [line for line in lines if line]


def test_an_openai_stream_is_recorded_before_its_last_event_is_sent(
    stall_after_last_event: threading.Event,
) -> None:
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    with FakeOpenAI() as fake, httpx.Client(timeout=10) as http:
        with http.stream("POST", f"{fake.base_url}/chat/completions", json=body) as response:
            lines = read_until(response, OPENAI_LAST)
            recorded = fake.raw_responses.get(0)
            stall_after_last_event.set()
    assert recorded is not None and non_empty(recorded.decode().splitlines()) == non_empty(lines)


def test_an_anthropic_stream_is_recorded_before_its_last_event_is_sent(
    stall_after_last_event: threading.Event,
) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 16,
        "stream": True,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    headers = {"x-api-key": "sk-ant-fake", "anthropic-version": "2023-06-01"}
    with FakeAnthropic() as fake, httpx.Client(timeout=10) as http:
        url = f"{fake.base_url}/v1/messages"
        with http.stream("POST", url, json=body, headers=headers) as response:
            lines = read_until(response, ANTHROPIC_LAST)
            recorded = fake.raw_responses.get(0)
            stall_after_last_event.set()
    assert recorded is not None and non_empty(recorded.decode().splitlines()) == non_empty(lines)
