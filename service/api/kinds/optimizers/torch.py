"""torch optimizers (being written)."""

MODELS = ()
