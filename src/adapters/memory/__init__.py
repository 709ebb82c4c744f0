"""In-process implementations: the embedded default and test doubles."""
