"""The kind models: losses, schedules and optimizers, one module per library. They validate specs and are the
catalogue (one source of truth)."""
