"""keras optimizers (being written)."""
