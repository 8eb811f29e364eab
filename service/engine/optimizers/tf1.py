"""tf1 optimizers (being written)."""
