"""Click to first point in the dashboard, in real Chromium: the median time from a click to the first row (or the
sweep or range-test picture) drawn on the page, for a course preset, the Run button, the chapter's sweep of 1,001
rates and the LR finder.

`python -m bench.dashboard` starts `python -m service` through `tests.live.Server` (a throw-away SQLite store) and
Debian's /usr/bin/chromium under Playwright at 1280x800. Each repeat opens a fresh page (not timed), then times in
the page itself, with `performance.now()`, from the click to the first animation frame at which the chart holds its
data. The actions are interleaved repeat by repeat; the baseline, measured the same way in the same run, is a
`fetch('/healthz')` from the page (the floor any click pays for a round trip). Results go to stdout and to
bench/results/dashboard.json.

`--long-tasks N` also streams a 1M-step run N times (a formula loss at rate 1e-6, so it lasts) into a fresh page
and reads, from Chromium's own trace, the CPU time (thread time) and wall time of every task of the page's main
thread, beside the `longtask` entries of a PerformanceObserver (wall clock, which other processes on a loaded
machine inflate). It also reads, from Linux's /proc/<pid>/task/<tid>/schedstat, how long the page's main thread
waited in the run queue for a core while the run streamed: on a 2-core machine the server computing the run, the
stream worker and Chromium's compositor take turns with it, and a task's wall time counts those waits.
`--server-nice 19` runs the server's threads and processes at that niceness, as if the server ran elsewhere (the
usual deployment: the dashboard on a laptop, the service on another machine).
"""

import argparse
import os
import platform
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import publish
from tests.dashboard.chromium_trace import MILLION, OBSERVE_LONG_TASKS, main_thread_pid, main_thread_tasks
from tests.live import Server

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"

# Each action: the click, and the test that its picture is drawn (checked once per animation frame).
WAIT = """async () => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const start = performance.now();
  await CLICK;
  for (;;) {
    await frame();
    if (READY) return performance.now() - start;
    if (performance.now() - start > 60000) return -1;
  }
}"""

ACTIONS: dict[str, tuple[str, str]] = {
    "baseline: fetch /healthz": ("fetch('/healthz').then((r) => r.text())", "true"),
    "preset rate 0.2": (
        "document.querySelector('[data-testid=\"preset-rate-0.2\"]').click()",
        "Number(document.querySelector('[data-testid=\"chart-loss\"]').dataset.drawnRows) > 0",
    ),
    "Run button": (
        "document.querySelector('[data-testid=\"run-submit\"]').click()",
        "Number(document.querySelector('[data-testid=\"chart-loss\"]').dataset.drawnRows) > 0",
    ),
    "sweep of 1,001 rates": (
        "document.querySelector('[data-testid=\"preset-chapter\"]').click()",
        "document.querySelector('[data-testid=\"sweep-view\"]').dataset.state === 'done'"
        " && !!document.querySelector('[data-testid=\"sweep-chart\"] canvas')",
    ),
    "LR finder": (
        "document.querySelector('[data-testid=\"lr-finder\"]').click()",
        "document.querySelector('[data-testid=\"finder-view\"]').dataset.state === 'done'"
        " && !!document.querySelector('[data-testid=\"finder-chart\"] canvas')",
    ),
}


def script(click: str, ready: str) -> str:
    """The timed function: the click and the readiness test are written into it (the page's CSP forbids eval)."""
    return WAIT.replace("CLICK", click).replace("READY", ready)


def measure(repeats: int, warmup: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[float]] = {name: [] for name in ACTIONS}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = Server(Path(tmp) / "descent.sqlite3", DESCENT_LOG_FORMAT="text")
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for repeat in range(warmup + repeats):
                for name, (click, ready) in ACTIONS.items():
                    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto("/")
                    page.locator('[name="steps"]').wait_for()
                    ms = float(page.evaluate(script(click, ready)))
                    context.close()
                    if ms < 0:
                        raise RuntimeError(f"{name}: nothing drawn within 60 s")
                    if repeat >= warmup:
                        samples[name].append(ms)
        finally:
            browser.close()
            server.stop()
    return samples


FINISHED = """(id) => {
  const card = document.querySelector(`[data-testid=run-card][data-run-id="${id}"]`);
  return !!card && card.dataset.status === 'finished' && card.dataset.points === '1000001';
}"""


def renderer_schedstats() -> dict[int, tuple[int, int]]:
    """(ns on a CPU, ns waiting in the run queue) of the main thread of every Chromium renderer process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"--type=renderer" not in (entry / "cmdline").read_bytes():
                continue
            on_cpu, waited, _ = (entry / "task" / entry.name / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        found[int(entry.name)] = (int(on_cpu), int(waited))
    return found


def renice_tree(pid: int, niceness: int) -> None:
    """Every thread of `pid` and of its descendants at `niceness` (Linux: niceness is per thread)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    tree, grew = {pid}, True
    while grew:
        grown = tree | {child for child, parent in parents.items() if parent in tree}
        grew, tree = grown != tree, grown
    for process in tree:
        for task in Path(f"/proc/{process}/task").glob("*"):
            try:
                os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)
            except OSError:
                continue


def long_tasks(repeats: int, server_nice: int = 0) -> list[dict[str, Any]]:
    """Per repeat: the longest main-thread task (CPU and wall), the main thread's CPU in all, the long tasks seen,
    and how long the main thread waited for a core."""
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = Server(Path(tmp) / "descent.sqlite3", DESCENT_LOG_FORMAT="text")
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for _ in range(repeats):
                context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto("/")
                page.locator('[name="steps"]').wait_for()
                page.evaluate(OBSERVE_LONG_TASKS)
                before = renderer_schedstats()
                with server.client() as client:
                    run_id = client.post("/v1/runs?wait=false", json=MILLION).json()["id"]
                if server_nice:
                    renice_tree(server.process.pid, server_nice)
                browser.start_tracing(page=page, categories=["toplevel", "disabled-by-default-devtools.timeline"])
                page.evaluate("(id) => { window.location.hash = `#runs=${id}`; }", run_id)
                page.wait_for_function(FINISHED, arg=run_id, timeout=300_000)
                trace = browser.stop_tracing()
                after = renderer_schedstats()
                tasks = main_thread_tasks(trace)
                renderer = main_thread_pid(trace)
                waited_ms = (after[renderer][1] - before[renderer][1]) / 1e6 if renderer in before else None
                observed = page.evaluate("() => window.longTasks")
                context.close()
                rows.append(
                    {
                        "longest_cpu_ms": max(c for c, _ in tasks),
                        "longest_wall_ms": max(w for _, w in tasks),
                        "main_thread_cpu_ms": sum(c for c, _ in tasks),
                        "tasks": len(tasks),
                        "long_tasks": len(observed),
                        "longest_long_task_ms": max(observed, default=0.0),
                        "main_thread_waited_for_cpu_ms": waited_ms,
                        "server_nice": server_nice,
                        "load_average": os.getloadavg()[0],
                    }
                )
        finally:
            browser.close()
            server.stop()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--long-tasks", type=int, default=0, help="also stream a 1M-step run this many times")
    parser.add_argument("--server-nice", type=int, default=0, help="the server's niceness during the 1M stream")
    args = parser.parse_args(argv)
    samples = measure(args.repeats, args.warmup)
    base = statistics.median(samples["baseline: fetch /healthz"])
    lines = [f"{'action':<28} {'median ms':>10} {'min':>8} {'max':>8} {'x baseline':>11}"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<28} {median:>10.1f} {min(values):>8.1f} {max(values):>8.1f} {median / base:>11.1f}")
    document: dict[str, Any] = {
        "benchmark": "dashboard click to first point",
        "when": datetime.now(UTC).isoformat(),
        "machine": platform.platform(),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "samples_ms": samples,
        "medians_ms": {name: statistics.median(values) for name, values in samples.items()},
    }
    if args.long_tasks:
        rows = long_tasks(args.long_tasks, args.server_nice)
        document["long_tasks_1m_stream"] = rows
        lines.append("")
        lines.append(
            "1M-step stream: longest main-thread task CPU / wall ms, main-thread CPU ms, long tasks (longest),"
            " main thread's wait for a core ms"
        )
        for row in rows:
            waited = row["main_thread_waited_for_cpu_ms"]
            lines.append(
                f"  {row['longest_cpu_ms']:6.1f} / {row['longest_wall_ms']:6.1f}   {row['main_thread_cpu_ms']:8.0f}"
                f"   {row['long_tasks']:3d} ({row['longest_long_task_ms']:.0f})"
                f"   {'-' if waited is None else f'{waited:.0f}'}   load {row['load_average']:.1f}"
            )
    publish("\n".join(lines), document, args.output)


if __name__ == "__main__":
    main()
