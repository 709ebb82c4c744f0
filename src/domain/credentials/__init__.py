"""Credentials that expire: OAuth access tokens and their refresh arithmetic."""
