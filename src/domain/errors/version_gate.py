"""The upstream's notice that the gateway's client version is outdated, in place of a reply.

An Antigravity backend that refuses a client version answers 200 with its notice as the whole
model reply ("This version of Antigravity is no longer supported…", "Your current version of
Antigravity is out of date…"). Only a short reply that starts with such a notice counts: an
answer that quotes one somewhere in its text is an answer.
"""

from __future__ import annotations

MAX_NOTICE = 2000  # characters; a longer reply is an answer, not a notice
_NOTICES = (
    "this version of antigravity is no longer supported",
    "your current version of antigravity is out of date",
)


def version_gate_notice(text: str) -> bool:
    """True when a reply is the upstream's notice that the client version is outdated."""
    text = text.strip()
    if not text or len(text) > MAX_NOTICE:
        return False
    start = 0
    while start < len(text) and not text[start].isalnum():  # "⚠️ ", "**", quotes
        start += 1
    words = " ".join(text[start : start + 200].split()).lower()
    return words.startswith(_NOTICES)
