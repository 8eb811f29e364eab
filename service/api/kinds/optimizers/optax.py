"""optax optimizers (being written)."""

MODELS = ()
