"""Provider profiles: one module per provider kind, registered in the composition root."""
