"""One row of the request log."""

from __future__ import annotations

from datetime import datetime

import msgspec


class RequestLogEntry(msgspec.Struct, kw_only=True):
    request_id: str
    created_at: datetime
    api_key_id: str | None
    provider_id: str | None
    account_id: str | None
    proxy_id: int | None
    model: str | None
    stream: bool
    status_code: int
    latency_ms: int
    ttfb_ms: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    retry_count: int = 0
    switched_from_account_id: str | None = None  # set when the request failed over
    error: str | None = None
