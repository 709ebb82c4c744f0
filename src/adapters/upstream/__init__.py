"""Upstream HTTP clients."""
