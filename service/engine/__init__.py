"""The NumPy engine: losses, schedules, optimizers and the batched loop.

Pure NumPy and the standard library; nothing here knows about HTTP or Pydantic.
Arrays carry a leading run axis (a single run is a batch of one).
"""
