"""Counting a request's input tokens without asking a provider (for kinds without a counter)."""

from __future__ import annotations

from typing import Protocol

from aigateway.domain.llm import WireFormat


class TokenEstimator(Protocol):
    def estimate(self, body: bytes, format: WireFormat) -> int:
        """The estimated input tokens of a client request body in `format`.

        Raises `GatewayError` (400) for a body the format's codec cannot read."""
        ...
