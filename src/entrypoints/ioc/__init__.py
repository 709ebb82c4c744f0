"""dishka providers and settings."""
