"""The specs the client's tests run: the course chapter's, and a run slow enough to catch mid-way."""

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT.parent / "shared" / "seeds" / "000_6ab5c42c1d61ec9a.txt"
COURSE: dict[str, Any] = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
DECAY: dict[str, Any] = {
    "kind": "tf1.exponential_decay",
    "learning_rate": 0.1,
    "decay_steps": 1,
    "decay_rate": 0.99,
    "staircase": True,
}
SLOW: dict[str, Any] = {
    "loss": {"kind": "expression", "formula": "(w + 1)**2"},  # the course's loss as a formula: computed by NumPy,
    # not by the compiled kernels, which would end the million steps in milliseconds
    "w0": 5,
    "schedule": 1e-6,  # crawls for all its steps (at a larger rate the loop would reach a fixed point)
    "steps": 1_000_000,
    "record": {"every": 1000},
}
