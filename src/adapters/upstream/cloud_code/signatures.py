"""Thought signatures of Gemini function calls, kept for clients that cannot carry them.

Gemini 3 signs each function call it makes (`thoughtSignature` on the `functionCall` part) and
refuses the next turn when the call comes back without that exact signature. Anthropic-format
clients carry it (as an empty signed thinking block); OpenAI-format clients cannot. The
executor remembers the signature of every call it relays, keyed by the tool-call id the client
sees, and puts it back on a call that returns without one.

In-process, short-lived and bounded: ids come back from clients, so an id or a signature past
its size cap is neither stored nor looked up, entries expire after `ttl_s`, and past
`max_entries` the oldest go first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_TTL_S = 3 * 3600.0
DEFAULT_MAX_ENTRIES = 50_000
MAX_ID_CHARS = 128
MAX_SIGNATURE_CHARS = 16 * 1024


class SignatureCache:
    __slots__ = ("_clock", "_entries", "_max_entries", "_ttl_s")

    def __init__(
        self,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()  # id -> (expiry, sig)

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, call_id: str, signature: str) -> None:
        if not call_id or len(call_id) > MAX_ID_CHARS or len(signature) > MAX_SIGNATURE_CHARS:
            return
        entries = self._entries
        now = self._clock()
        entries.pop(call_id, None)
        entries[call_id] = (now + self._ttl_s, signature)
        # insertion order is expiry order (one TTL): expired and surplus entries are in front
        while entries and (
            len(entries) > self._max_entries or next(iter(entries.values()))[0] <= now
        ):
            entries.popitem(last=False)

    def recall(self, call_id: str) -> str | None:
        if len(call_id) > MAX_ID_CHARS:
            return None
        found = self._entries.get(call_id)
        if found is None:
            return None
        expiry, signature = found
        if expiry <= self._clock():
            del self._entries[call_id]
            return None
        return signature

    def __repr__(self) -> str:  # signatures are opaque model state: not shown
        return f"SignatureCache(entries={len(self._entries)})"
