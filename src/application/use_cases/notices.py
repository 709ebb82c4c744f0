"""Things only the operator can fix, shown in `/health` and logged once when they start.

A notice has a topic chosen by the gateway (e.g. `oauth:google_oauth.client_id`), so the set
stays small; it is still capped. Noting a topic again refreshes it; clearing it removes it.
"""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

log = logging.getLogger(__name__)

MAX_NOTICES = 100


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    topic: str
    message: str
    since: datetime
    last_seen: datetime


class OperatorNotices:
    def __init__(self) -> None:
        self._notices: dict[str, Notice] = {}

    def note(self, topic: str, message: str, now: datetime) -> None:
        known = self._notices.get(topic)
        if known is not None and known.message == message:
            self._notices[topic] = msgspec.structs.replace(known, last_seen=now)
            return
        if known is None and len(self._notices) >= MAX_NOTICES:
            del self._notices[next(iter(self._notices))]  # the oldest topic
        log.warning("operator action needed: %s", message)
        self._notices[topic] = Notice(topic=topic, message=message, since=now, last_seen=now)

    def clear(self, topic: str) -> None:
        self._notices.pop(topic, None)

    def current(self) -> list[Notice]:
        return list(self._notices.values())
