"""A steady request load on a background thread, for outage tests (bounded in time)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx


class SteadyLoad:
    """Sends chat requests at `rate` per second until stopped; counts the statuses."""

    def __init__(self, base_url: str, key: str, model: str, rate: float = 50.0) -> None:
        self._url = f"{base_url}/v1/chat/completions"
        self._headers = {"Authorization": f"Bearer {key}"}
        self._body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
        self._interval = 1.0 / rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.statuses: Counter[int] = Counter()

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        deadline = time.monotonic() + 120  # never runs away
        with httpx.Client(timeout=10) as client:
            next_at = time.monotonic()
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    status = client.post(
                        self._url, json=self._body, headers=self._headers
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                self.statuses[status] += 1
                next_at += self._interval
                time.sleep(max(0.0, next_at - time.monotonic()))
