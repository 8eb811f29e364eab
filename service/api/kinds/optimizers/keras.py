"""keras optimizers (being written)."""

MODELS = ()
