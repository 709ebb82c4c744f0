"""Litestar app and controllers."""
