"""Reading Chromium's own trace (`browser.start_tracing` / `stop_tracing`): the tasks of the page's main thread, and
the renderer process behind it. Shared by the long-run browser tests and `bench.dashboard`."""

import json
from typing import Any

MILLION: dict[str, Any] = {
    "loss": {"kind": "expression", "formula": "(w + 1)**2"},
    "w0": 5,
    "schedule": 1e-6,
    "steps": 1_000_000,
}
"""A 1M-step run that lasts: a formula loss (the NumPy path) at a rate that never settles."""

OBSERVE_LONG_TASKS = """() => {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
  }).observe({ type: 'longtask' });
}"""
"""Collects the page's `longtask` entries (wall clock) in `window.longTasks`."""


def _events(trace: bytes) -> list[dict[str, Any]]:
    events = json.loads(trace)
    return list(events["traceEvents"] if isinstance(events, dict) else events)


def _main_threads(events: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }


def main_thread_tasks(trace: bytes) -> list[tuple[float, float]]:
    """(CPU ms, wall ms) of each task of the renderer's main thread ("toplevel" RunTask events): the CPU time is
    the thread's own (other processes on a loaded machine do not inflate it), the wall time is not."""
    events = _events(trace)
    main = _main_threads(events)
    return [
        (e.get("tdur", 0) / 1000, e.get("dur", 0) / 1000)
        for e in events
        if (e.get("pid"), e.get("tid")) in main and e.get("name") == "RunTask" and e.get("ph") == "X"
    ]


def main_thread_pid(trace: bytes) -> int | None:
    """The OS process id of the page's renderer (its main thread's id is the process's), or None."""
    main = _main_threads(_events(trace))
    return next(iter(main))[0] if main else None
