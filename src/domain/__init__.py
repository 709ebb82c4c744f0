"""Pure rules of the gateway: no I/O, no clock reads, no randomness without a seed."""
