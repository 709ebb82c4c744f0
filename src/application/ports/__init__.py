"""One Protocol per concern; adapters implement them."""
