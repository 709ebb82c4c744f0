"""Implementations of the application's ports, one technology per module."""
