"""Redis implementations of the coordination ports."""
