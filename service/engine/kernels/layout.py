"""Where `kernels.whole.run_and_analyze` writes a run's results: read by the kernel (Numba) and by
`service.engine.whole`, which must not import Numba (importing the engine stays quick; the kernels load later)."""

FINAL_STEP, BEST_STEP, CONVERGED_AT, DIVERGED_AT, COUNT = range(5)
"""Slots of `ints` (int64)."""
LOSS0, BEST_LOSS, LR_FIRST, LR_LAST, LR_MIN, LR_MAX = range(6)
"""Slots of `values` (the run's dtype) after the window's losses."""
GRAD0, RATIO, EXPONENT = range(3)
"""Slots of `reals` (float64) after the window's gradient norms: the growth is RATIO ** EXPONENT (RATIO holds the
growth itself, 1, when no power is taken)."""
INTS, VALUES, REALS = 5, 6, 3
"""How many slots each has (after the window, for `values` and `reals`)."""
NO_LOSS = -1
"""`value_kind` for loss values computed before the call."""
VERDICT_CONVERGED, VERDICT_SLOW, VERDICT_OSCILLATING, VERDICT_DIVERGED, VERDICT_STALLED, VERDICT_UNBOUNDED = range(6)
"""Verdict codes: indices into `analysis.Verdict`, in its order."""
