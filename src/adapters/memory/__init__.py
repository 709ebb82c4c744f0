"""In-process coordination: the embedded default without Redis (test doubles of the
repositories live in tests/doubles)."""
