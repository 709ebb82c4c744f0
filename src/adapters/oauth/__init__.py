"""OAuth token endpoints over HTTP."""
