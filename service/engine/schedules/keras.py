"""keras schedules (being written)."""
