"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.proxies import TestCertificate


@pytest.fixture(scope="module")
def certificate() -> Iterator[TestCertificate]:
    """A self-signed certificate for the proxy tests' target and HTTPS proxies."""
    cert = TestCertificate()
    yield cert
    cert.remove()
