"""Thought signatures in Redis, shared by every gateway process.

Key: `cloudcode:sig:{tool_call_id}` (after the configured prefix) holding the signature, with
the store's TTL (3 hours). Ids and signatures past their caps are neither written nor looked
up. Writes go out together on the hot-path connection (one round trip), lookups are one MGET.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence

from aigateway.adapters.redis.pipelined import PipelinedRedis
from aigateway.application.ports.signatures import SIGNATURE_TTL_S, askable, storable


def signature_key(call_id: str, prefix: str = "") -> str:
    return f"{prefix}cloudcode:sig:{call_id}"


class RedisSignatures:
    def __init__(
        self, hot: PipelinedRedis, prefix: str = "", *, ttl_s: float = SIGNATURE_TTL_S
    ) -> None:
        self._hot = hot
        self._prefix = prefix
        self._ttl_ms = max(1, math.ceil(ttl_s * 1000))

    async def remember(self, signatures: Mapping[str, str]) -> None:
        writes = [
            self._hot.execute("SET", signature_key(call_id, self._prefix), sig, "PX", self._ttl_ms)
            for call_id, sig in signatures.items()
            if storable(call_id, sig)
        ]
        if writes:
            await asyncio.gather(*writes)

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(i for i in call_ids if askable(i)))
        if not wanted:
            return {}
        reply = await self._hot.execute(
            "MGET", *(signature_key(call_id, self._prefix) for call_id in wanted)
        )
        assert isinstance(reply, list)
        return {
            call_id: value.decode("utf-8", "replace")
            for call_id, value in zip(wanted, reply, strict=True)
            if isinstance(value, bytes)
        }
