"""In-process thought signatures: one gateway process, or the stand-in while Redis is away.

Bounded: entries expire after `ttl_s`, and past `max_entries` entries or `max_bytes` of
signatures the oldest go first (one TTL for all, so insertion order is expiry order).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from aigateway.application.ports.signatures import SIGNATURE_TTL_S, askable, storable

DEFAULT_MAX_ENTRIES = 50_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # characters of signatures held, at most


class InMemorySignatures:
    __slots__ = ("_bytes", "_clock", "_entries", "_max_bytes", "_max_entries", "_ttl_s")

    def __init__(
        self,
        *,
        ttl_s: float = SIGNATURE_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()  # id -> (expiry, sig)
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def remember(self, signatures: Mapping[str, str]) -> None:
        self.remember_now(signatures)

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        return self.recall_now(call_ids)

    def remember_now(self, signatures: Mapping[str, str]) -> None:
        entries = self._entries
        now = self._clock()
        for call_id, signature in signatures.items():
            if not storable(call_id, signature):
                continue
            old = entries.pop(call_id, None)
            if old is not None:
                self._bytes -= len(old[1])
            entries[call_id] = (now + self._ttl_s, signature)
            self._bytes += len(signature)
        while entries and (
            len(entries) > self._max_entries
            or self._bytes > self._max_bytes
            or next(iter(entries.values()))[0] <= now
        ):
            self._bytes -= len(entries.popitem(last=False)[1][1])

    def recall_now(self, call_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        if not self._entries:
            return found
        now = self._clock()
        for call_id in call_ids:
            if not askable(call_id):
                continue
            entry = self._entries.get(call_id)
            if entry is None:
                continue
            expiry, signature = entry
            if expiry <= now:
                del self._entries[call_id]
                self._bytes -= len(signature)
            else:
                found[call_id] = signature
        return found

    def __repr__(self) -> str:  # signatures are opaque model state: not shown
        return f"InMemorySignatures(entries={len(self._entries)})"
