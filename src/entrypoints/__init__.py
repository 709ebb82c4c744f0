"""Composition root: HTTP app, CLI, DI wiring, settings."""
