"""keras schedules (being written)."""

MODELS = ()
