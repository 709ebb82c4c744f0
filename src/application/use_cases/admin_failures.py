"""An admin action that failed for a reason the operator can read: an HTTP status, a stable
code and a message (never a token in it)."""

from __future__ import annotations


class AdminActionFailed(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
