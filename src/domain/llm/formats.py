"""Wire formats are named by their codecs: each codec package declares its `FORMAT`."""

from __future__ import annotations

from typing import NewType

WireFormat = NewType("WireFormat", str)
