"""The `aigateway` command."""
