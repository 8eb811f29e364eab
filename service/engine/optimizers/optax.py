"""optax optimizers (being written)."""
