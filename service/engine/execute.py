"""Running one problem to the end: the loop's chunks feed both the recorded trace and the analysis."""

from dataclasses import dataclass

from service.engine import whole
from service.engine.analysis import Analyzer, RunSummary
from service.engine.loop import Problem, iterate
from service.engine.trace import Trace, record


@dataclass(frozen=True)
class Result:
    trace: Trace
    summary: RunSummary


def run_one(problem: Problem, every: int = 1) -> Result:
    """Run a single-run problem (a batch of one), keeping every `every`-th row plus the first and last."""
    runs, dims = problem.w0.shape
    if runs != 1:
        raise ValueError(f"run_one takes a batch of one run, not {runs}.")
    computed = whole.compute(problem, every)
    if computed is not None:  # it fits one chunk: computed whole, the same bits in a few calls
        return Result(*computed)
    analyzer = Analyzer(problem.loss, runs, dims, problem.w0.dtype)
    parts = []
    for chunk in iterate(problem):
        analyzer.add(chunk)
        parts.append(record(chunk, 0, every))
    return Result(Trace.concat(parts, problem.w0.dtype, dims), analyzer.finish())
