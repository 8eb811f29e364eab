"""optax schedules (being written)."""
