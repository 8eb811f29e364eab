"""Executing a stored job, in a worker process (or thread): rebuild the engine objects from the stored spec
document, run the engine, write progress and results to the store. The store is the one channel back.

A worker trusts the document (the edge validated it) and rebuilds it through the engine's registries: no
Pydantic, no pyarrow, no web stack, no environment read, so a worker starts fast, stays small, and could run on
another machine.
"""

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from service import documents
from service.clock import now
from service.engine import landscape, lr_finder, whole
from service.engine.analysis import Analyzer
from service.engine.execute import run_one
from service.engine.loop import Problem, iterate
from service.engine.sweep import run_sweep
from service.engine.trace import Trace, record
from service.runs.job import Job, JobKind
from service.specs import build
from service.store.base import NotOwnedError, RunStore, Status
from service.store.open import open_store as _open

FLUSH_SECONDS = 0.2
"""Rows (or progress) are written at the end of any chunk that ends this long after the previous write."""


def execute(job: Job, store: RunStore | str) -> str:
    """Run a stored, queued job to its end and return its final status. Never raises for a bad job: a failure is
    stored as status `failed` with its reason. Every write is conditional on `job.owner` still owning the job: a
    job recovered (failed) by another server process is never written again (the worker stops)."""
    target = open_store(store) if isinstance(store, str) else store
    try:
        return EXECUTORS[job.kind](job, target)
    except NotOwnedError:
        return Status.FAILED


class OverBudgetError(Exception):
    """The job ran longer than DESCENT_MAX_RUN_SECONDS."""


def _budget_error(job: Job, what: str, kept: str) -> str:
    seconds = job.limits.max_run_seconds
    return (
        f"The {what} ran longer than this server's limit of {seconds:g} s (DESCENT_MAX_RUN_SECONDS) and was "
        f"stopped; {kept}. Ask for fewer steps, or record fewer rows."
    )


def _run(job: Job, runs: RunStore) -> str:
    run_id, document, owner = job.id, job.document, job.owner
    started = time.monotonic()
    try:
        if runs.cancel_reason(run_id) is not None:
            return _finish_cancelled(runs, job, None, None)
        problem = build.build_problem(document)
        scalar, every = build.is_scalar(document), int(document["record"]["every"])
        computed = whole.compute(problem, every)
        if computed is not None:  # it fits one chunk: no "running" write, no cancel check between chunks
            trace, summary = computed
            status = documents.status_of(summary)
            runs.finish(run_id, trace, status, now(), documents.summary_document(summary, problem, scalar), owner=owner)
            return status
        runs.append(run_id, None, status=Status.RUNNING, owner=owner)
        dtype, dims = problem.w0.dtype, problem.w0.shape[1]
        analyzer = Analyzer(problem.loss, 1, dims, dtype)
        pending: list[Trace] = []
        flushed = time.monotonic()
        for chunk in iterate(problem):
            analyzer.add(chunk)
            over = time.monotonic() - started > job.limits.max_run_seconds
            stopping = over or runs.cancel_reason(run_id) is not None
            pending.append(record(chunk, 0, every, last=stopping))
            if stopping:
                so_far = documents.summary_document(analyzer.finish(), problem, scalar)
                rows = Trace.concat(pending, dtype, dims)
                if over:
                    error = _budget_error(job, "run", "the rows computed until then are kept")
                    runs.finish(run_id, rows, Status.FAILED, now(), so_far, error, owner=owner)
                    return Status.FAILED
                return _finish_cancelled(runs, job, rows, so_far)
            if time.monotonic() - flushed >= FLUSH_SECONDS:
                runs.append(run_id, Trace.concat(pending, dtype, dims), owner=owner)
                pending, flushed = [], time.monotonic()
        summary = analyzer.finish()
        status = documents.status_of(summary)
        document_ = documents.summary_document(summary, problem, scalar)
        runs.finish(run_id, Trace.concat(pending, dtype, dims), status, now(), document_, owner=owner)
        return status
    except NotOwnedError:
        raise
    except Exception as exc:  # a worker must leave a final status behind whatever happens
        error = f"The run failed in the engine: {_named(exc)}"
        runs.finish(run_id, None, Status.FAILED, now(), None, error, owner=owner)
        return Status.FAILED


def compute_run(problem: Problem, document: dict[str, Any]) -> tuple[Trace, Status, dict[str, Any]]:
    """A whole run computed in this thread exactly as `_run` computes it (the same chunks, records and analysis),
    without the store: its recorded rows, final status and summary document. For tiny runs the server computes
    in the request itself."""
    result = run_one(problem, int(document["record"]["every"]))
    return (
        result.trace,
        documents.status_of(result.summary),
        documents.summary_document(result.summary, problem, build.is_scalar(document)),
    )


def compute_run_whole(problem: Problem, document: dict[str, Any]) -> tuple[Trace, Status, dict[str, Any]] | None:
    """`compute_run` when the whole-run path computes the run (`engine.whole`: compiled kernels loaded, one run of
    at most 2 dimensions in one chunk; microseconds for the course's 40 steps), the same values; else None."""
    computed = whole.compute(problem, int(document["record"]["every"]))
    if computed is None:
        return None
    trace, summary = computed
    return (
        trace,
        documents.status_of(summary),
        documents.summary_document(summary, problem, build.is_scalar(document)),
    )


def _finish_cancelled(runs: RunStore, job: Job, rows: Trace | None, summary: dict[str, object] | None) -> str:
    """Store a stopped run: `cancelled` when a client asked, `failed` when the server shut down; rows kept."""
    if runs.cancel_reason(job.id) == "shutdown":
        error = "The server shut down while the run was executing; the rows computed until then are kept."
        runs.finish(job.id, rows, Status.FAILED, now(), summary, error, owner=job.owner)
        return Status.FAILED
    runs.finish(job.id, rows, Status.CANCELLED, now(), summary, None, owner=job.owner)
    return Status.CANCELLED


def _sweep(job: Job, store: RunStore) -> str:
    def work() -> None:
        grid = build.sweep_grid(job.document)
        problem = build.build_sweep(job.document, grid)
        store.job_progress(job.id, -1, owner=job.owner)
        progress = _Progress(store, job)
        result = run_sweep(problem, job.document.get("max_points"), progress)
        progress.flush()
        arrays = documents.sweep_arrays(result, build.is_scalar(job.document["base"]))
        store.finish_job(job.id, Status.FINISHED, now(), arrays, owner=job.owner)

    return _guarded(job, store, "sweep", work)


def _lr_finder(job: Job, store: RunStore) -> str:
    def work() -> None:
        test = build.build_range_test(job.document, job.limits)
        store.job_progress(job.id, -1, owner=job.owner)
        curve = lr_finder.range_test(test.loss, test.optimizer, test.w0, test.schedule, test.smooth_f, test.diverge_th)
        arrays, facts = documents.range_test_result(curve, lr_finder.suggest(curve, test.num_iter))
        store.finish_job(job.id, Status.FINISHED, now(), arrays, facts, owner=job.owner)

    return _guarded(job, store, "range test", work)


def _landscape(job: Job, store: RunStore) -> str:
    def work() -> None:
        built = build.build_landscape(job.document)
        store.job_progress(job.id, -1, owner=job.owner)
        arrays, facts = documents.landscape_result(landscape.evaluate(built.loss, built.axes))
        store.finish_job(job.id, Status.FINISHED, now(), arrays, facts, owner=job.owner)

    return _guarded(job, store, "landscape", work)


def _guarded(job: Job, store: RunStore, what: str, work: Callable[[], None]) -> str:
    """Do a job's work; any failure is stored as the job's `failed` status with its reason."""
    try:
        work()
        return Status.FINISHED
    except NotOwnedError:
        raise
    except OverBudgetError:
        error = _budget_error(job, what, "its progress until then is kept")
        store.finish_job(job.id, Status.FAILED, now(), error=error, owner=job.owner)
        return Status.FAILED
    except Exception as exc:  # a worker must leave a final status behind whatever happens
        error = f"The {what} failed in the engine: {_named(exc)}"
        store.finish_job(job.id, Status.FAILED, now(), error=error, owner=job.owner)
        return Status.FAILED


class _Progress:
    """Writes the last step computed at most every FLUSH_SECONDS, and the true last one at the end (every point
    may have ended before `steps`); stops the job (OverBudgetError) past DESCENT_MAX_RUN_SECONDS."""

    def __init__(self, store: RunStore, job: Job) -> None:
        self.store, self.job = store, job
        self.step, self.written, self.flushed = -1, -1, 0.0
        self.started = time.monotonic()

    def __call__(self, step: int) -> None:
        self.step = step
        if time.monotonic() - self.flushed >= FLUSH_SECONDS:
            self.flush()
        if time.monotonic() - self.started > self.job.limits.max_run_seconds:
            raise OverBudgetError

    def flush(self) -> None:
        if self.step != self.written:
            self.store.job_progress(self.job.id, self.step, owner=self.job.owner)
            self.written, self.flushed = self.step, time.monotonic()


def _named(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


EXECUTORS: dict[JobKind, Callable[[Job, RunStore], str]] = {
    JobKind.RUN: _run,
    JobKind.SWEEP: _sweep,
    JobKind.LR_FINDER: _lr_finder,
    JobKind.LANDSCAPE: _landscape,
}


@cache
def open_store(location: str) -> RunStore:
    """One store per worker process, opened on its first job: the SQLite file's path, or the database's URL (one
    pooled connection)."""
    return _open(location, pool_size=1)
