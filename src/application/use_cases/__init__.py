"""Application services: the hot path (proxy_chat) and the admin use cases."""
