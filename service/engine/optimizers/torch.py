"""torch optimizers (being written)."""
