"""torch schedules (being written)."""
