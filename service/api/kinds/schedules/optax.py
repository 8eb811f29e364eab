"""optax schedules (being written)."""

MODELS = ()
