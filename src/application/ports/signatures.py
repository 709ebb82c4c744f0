"""Thought signatures of Gemini function calls, kept for clients that cannot carry them.

Gemini 3 signs the function calls it makes (`thoughtSignature` on the `functionCall` part) and
refuses the next turn when a call comes back without its exact signature. Anthropic-format
clients carry it; OpenAI-format clients cannot. The Cloud Code executor remembers the signature
of every call it relays, keyed by the tool-call id the client sees, and looks it up for a call
that comes back without one. The client may send its next turn to any gateway process, so the
store is shared when Redis is configured.

Ids come back from clients: an id or a signature past its size cap is neither stored nor looked
up (`storable`, `askable`); entries expire after `SIGNATURE_TTL_S`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

SIGNATURE_TTL_S = 3 * 3600.0
MAX_ID_CHARS = 128
MAX_SIGNATURE_CHARS = 16 * 1024


def askable(call_id: str) -> bool:
    """A tool-call id that may be a key (client-chosen on the way back: capped)."""
    return 0 < len(call_id) <= MAX_ID_CHARS


def storable(call_id: str, signature: str) -> bool:
    return askable(call_id) and 0 < len(signature) <= MAX_SIGNATURE_CHARS


class ThoughtSignatures(Protocol):
    async def remember(self, signatures: Mapping[str, str]) -> None:
        """Keep `call id -> signature` (entries that are not `storable` are skipped); done
        when it returns, so a lookup from any process that starts later finds them."""
        ...

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        """The signatures kept for these ids (one round trip); ids not `askable`, unknown or
        expired are absent."""
        ...
