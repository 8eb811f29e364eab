"""torch schedules (being written)."""

MODELS = ()
