"""`GET /healthz` latency of a real server while 0, 2 or 4 long runs execute in its worker processes.

`python -m bench.healthz_under_load` starts `python -m service` through `tests.live.Server` (a throw-away
SQLite store, `DESCENT_MAX_CONCURRENT_RUNS=4`). For each level N it keeps N copies of `tests.live.LONG_RUN`
(1,000,000 SGD steps, every 10th row recorded, a few seconds of CPU each) in flight: a background thread polls
`GET /v1/runs` and submits `POST /v1/runs?wait=false` whenever a run reaches a terminal status. Once all N
runs are running it waits `--settle` seconds, then sends 20 warm-up and 500 timed sequential `GET /healthz`
over one keep-alive connection and reports the median, p90, p99 and max in ms, and the SGD steps the workers
computed per second over the window. The runs compute in worker processes, so the API's event loop should
answer as fast with runs in flight as without; with more runs than cores, everything competes for the CPU.
Each level ends by cancelling and deleting its runs. A control follows: the same N as plain busy-loop processes
(`python -c "while True: pass"`) and no runs, which tells what the service does from what the OS scheduler does
when the cores are full. The server is always stopped.
Results go to stdout as a table and to bench/results/healthz_under_load.json.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.http_latency import HEALTHZ, Summary, summarize
from bench.report import publish
from service.store.base import ENDED as TERMINAL
from tests.live import LONG_RUN, Server

RESULTS = Path(__file__).resolve().parent / "results" / "healthz_under_load.json"
LEVELS = (0, 2, 4)
RUNS, BUSY_LOOPS = "runs", "busy loops"
MAX_CONCURRENT_RUNS = 4
POLL_S = 0.2
START_TIMEOUT_S = 60.0
SLOW_MS = 5.0
PAGE_LIMIT = 100  # a level creates a handful of runs and deletes them at its end, so one page holds them all


@dataclass(frozen=True)
class Call:
    """One request the keeper thread sent, on the `time.perf_counter_ns` clock."""

    kind: str
    start_ns: int
    end_ns: int


class RunKeeper:
    """Keeps `target` long runs in flight from a background thread: every `poll_s` it lists the runs and submits
    a new one for each that reached a terminal status. It polls at N=0 too, so every level sees the same polling."""

    def __init__(self, url: str, target: int, poll_s: float) -> None:
        self._url, self._target, self._poll_s = url, target, poll_s
        self._lock = threading.Lock()
        self._status: dict[str, str] = {}  # every run this keeper submitted, with its last seen status
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.calls: list[Call] = []
        self._thread = threading.Thread(target=self._loop, name="run-keeper", daemon=True)

    def __enter__(self) -> "RunKeeper":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        try:
            with httpx.Client(base_url=self._url, timeout=30.0, trust_env=False) as client:
                while not self._stop.is_set():
                    self._tick(client)
                    self._stop.wait(self._poll_s)
        except BaseException as exc:  # reported by `check()` in the main thread
            self._error = exc

    def _request(self, client: httpx.Client, kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        start = time.perf_counter_ns()
        response = client.request(method, path, **kwargs)
        self.calls.append(Call(kind, start, time.perf_counter_ns()))
        return response

    def _tick(self, client: httpx.Client) -> None:
        page = self._request(client, "list", "GET", "/v1/runs", params={"limit": PAGE_LIMIT}).raise_for_status()
        document = page.json()
        if document["next_cursor"] is not None:
            raise RuntimeError(f"more than {PAGE_LIMIT} runs in the store; the keeper cannot see them all")
        seen = {item["id"]: item["status"] for item in document["items"]}
        with self._lock:
            for run_id in self._status:
                self._status[run_id] = seen.get(run_id, self._status[run_id])
            missing = self._target - sum(status not in TERMINAL for status in self._status.values())
        for _ in range(missing):
            response = self._request(client, "submit", "POST", "/v1/runs", params={"wait": "false"}, json=LONG_RUN)
            if response.status_code != 202:
                raise RuntimeError(f"POST /v1/runs?wait=false answered {response.status_code}: {response.text}")
            with self._lock:
                self._status[response.json()["id"]] = "queued"

    def check(self) -> None:
        """Raise the keeper thread's error, if it had one."""
        if self._error is not None:
            raise RuntimeError(f"the run keeper failed: {self._error!r}") from self._error

    def statuses(self) -> dict[str, str]:
        """Every run submitted so far, with the status the last poll saw."""
        with self._lock:
            return dict(self._status)


@dataclass(frozen=True)
class Level:
    """The measurements with `count` long runs (or busy-loop processes) in flight."""

    load: str
    count: int
    requests: int
    latency: Summary
    mean_ms: float
    slow_requests: int
    window_s: float
    steps: int
    steps_per_s: float
    runs_ended: int
    keeper_calls: dict[str, int]
    slow_overlapping_keeper: int
    p99_tail_overlapping_keeper: int
    samples_ms: list[float]
    sample_starts_ms: list[float]


def last_step(client: httpx.Client, run_id: str) -> int:
    """The last step a run has recorded so far (rows reach the store every 0.2 s), -1 before its first row."""
    response = client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).raise_for_status()
    steps: list[int] = response.json()["trace"]["step"]
    return steps[-1] if steps else -1


def progress(client: httpx.Client, run_ids: list[str]) -> dict[str, int]:
    return {run_id: last_step(client, run_id) for run_id in run_ids}


def wait_until_running(keeper: RunKeeper, runs: int) -> None:
    """Wait until `runs` runs have status `running`, so worker start-up (spawn, imports) is outside the window."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while sum(status == "running" for status in keeper.statuses().values()) < runs:
        keeper.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{runs} runs were not running after {START_TIMEOUT_S:.0f} s: {keeper.statuses()}")
        time.sleep(0.05)


def time_requests(client: httpx.Client, requests: int, warmup: int) -> tuple[list[int], list[int]]:
    """Send `warmup` then `requests` sequential healthz requests; the start and duration (ns) of the timed ones."""
    starts: list[int] = []
    durations: list[int] = []
    for i in range(warmup + requests):
        start = time.perf_counter_ns()
        response = client.request(HEALTHZ.method, HEALTHZ.path)
        elapsed = time.perf_counter_ns() - start
        if response.status_code != HEALTHZ.status:
            raise RuntimeError(f"GET /healthz answered {response.status_code}: {response.text}")
        if i >= warmup:
            starts.append(start)
            durations.append(elapsed)
    return starts, durations


def overlapping(starts: list[int], durations: list[int], calls: list[Call], indices: list[int]) -> int:
    """How many of the samples at `indices` overlap in time a request of the keeper thread."""
    return sum(
        any(call.start_ns < starts[i] + durations[i] and starts[i] < call.end_ns for call in calls) for i in indices
    )


def clean_up(client: httpx.Client, run_ids: list[str]) -> None:
    """Cancel the runs still going (`DELETE` waits until they stop), then delete them all so the next level's
    polls list as few runs as this one's did."""
    for run_id in run_ids:
        deadline = time.monotonic() + 30
        while (status := client.delete(f"/v1/runs/{run_id}").status_code) == 202:  # cancelled; delete it next
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} was still not deleted after 30 s")
        if status not in (204, 404):
            raise RuntimeError(f"DELETE /v1/runs/{run_id} answered {status}")


def measure(
    client: httpx.Client, url: str, load: str, count: int, requests: int, warmup: int, settle_s: float
) -> Level:
    """Keep `count` long runs (or busy loops, with the keeper polling but submitting nothing) in flight while
    timing healthz; stop them at the end, and cancel and delete the runs."""
    keeper = RunKeeper(url, count if load == RUNS else 0, POLL_S)
    loops: list[subprocess.Popen[bytes]] = []
    try:
        with keeper:
            if load == RUNS:
                wait_until_running(keeper, count)
            else:
                loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
            before = progress(client, list(keeper.statuses()))
            window_start = time.monotonic()
            time.sleep(settle_s)
            keeper.check()
            starts, durations = time_requests(client, requests, warmup)
            window_s = time.monotonic() - window_start
            ended_before = {run_id for run_id, status in keeper.statuses().items() if status in TERMINAL}
            after = progress(client, list(keeper.statuses()))
            keeper.check()
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
        clean_up(client, list(keeper.statuses()))
    steps = sum(step - max(before.get(run_id, -1), 0) for run_id, step in after.items() if step >= 0)
    calls = [call for call in keeper.calls if call.end_ns > starts[0] and call.start_ns < starts[-1] + durations[-1]]
    samples = [duration / 1e6 for duration in durations]
    slow = [i for i, sample in enumerate(samples) if sample > SLOW_MS]
    tail = sorted(range(len(samples)), key=samples.__getitem__)[-max(1, len(samples) // 100) :]
    return Level(
        load=load,
        count=count,
        requests=requests,
        latency=summarize(samples),
        mean_ms=statistics.fmean(samples),
        slow_requests=len(slow),
        window_s=window_s,
        steps=steps,
        steps_per_s=steps / window_s,
        runs_ended=len(ended_before),
        keeper_calls={kind: sum(call.kind == kind for call in calls) for kind in ("list", "submit")},
        slow_overlapping_keeper=overlapping(starts, durations, calls, slow),
        p99_tail_overlapping_keeper=overlapping(starts, durations, calls, tail),
        samples_ms=samples,
        sample_starts_ms=[(start - starts[0]) / 1e6 for start in starts],
    )


def run(requests: int, warmup: int, settle_s: float, levels: tuple[int, ...], control: bool) -> dict[str, object]:
    """Start the server, measure every level (then the busy-loop control), and always stop the server."""
    environment = {"DESCENT_MAX_CONCURRENT_RUNS": str(MAX_CONCURRENT_RUNS)}
    with tempfile.TemporaryDirectory(prefix="descent-bench-") as tmp:
        server = Server(Path(tmp) / "descent.sqlite3", **environment)
        try:
            # trust_env=False: a proxy from the environment must not sit between the client and the server.
            with httpx.Client(base_url=server.url, timeout=30.0, trust_env=False) as client:
                plan = [(RUNS, n) for n in levels] + [(BUSY_LOOPS, n) for n in levels if control and n > 0]
                results = [measure(client, server.url, load, n, requests, warmup, settle_s) for load, n in plan]
        except BaseException:
            tail = server.log.read_text("utf-8", errors="replace").splitlines()[-40:]
            print("\n".join(["server log (tail):", *tail]), file=sys.stderr)
            raise
        finally:
            server.stop()
    return {
        "benchmark": "healthz_under_load",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "server": "python -m service --port <free port>",
        "environment": environment,
        "long_run": LONG_RUN,
        "requests": requests,
        "warmup": warmup,
        "settle_s": settle_s,
        "poll_s": POLL_S,
        "slow_ms": SLOW_MS,
        "levels": [asdict(level) for level in results],
    }


def table(document: dict[str, object]) -> str:
    """The levels as an aligned plain-text table, with each median's ratio to the first level's median and how
    many of the slowest 1% overlapped a request of the keeper thread."""
    levels = document["levels"]
    assert isinstance(levels, list)
    baseline = levels[0]["latency"]["median_ms"]
    header = (
        f"{'in flight':<14}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{f'>{SLOW_MS:g} ms':>8}"
        f"{'ratio':>7}{'steps/s':>11}{'window s':>10}{'ended':>7}{'tail∩keeper':>13}"
    )
    lines = [header, "-" * len(header)]
    for level in levels:
        latency = level["latency"]
        label = f"{level['count']} {level['load']}"
        steps = f"{level['steps_per_s']:,.0f}" if level["load"] == RUNS else "-"
        tail = f"{level['p99_tail_overlapping_keeper']}/{max(1, level['requests'] // 100)}"
        lines.append(
            f"{label:<14}{latency['median_ms']:>11.2f}{latency['p90_ms']:>9.2f}{latency['p99_ms']:>9.2f}"
            f"{latency['max_ms']:>9.2f}{level['slow_requests']:>8}{latency['median_ms'] / baseline:>7.2f}"
            f"{steps:>11}{level['window_s']:>10.2f}{level['runs_ended']:>7}{tail:>13}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.healthz_under_load", description="healthz latency with long runs in flight."
    )
    parser.add_argument("--requests", type=int, default=500, help="timed requests per level (default 500)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per level first (default 20)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between runs running and timing (2)")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=list(LEVELS), help="runs in flight per level (default 0 2 4)"
    )
    parser.add_argument("--no-control", action="store_true", help="skip the busy-loop control levels")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    document = run(args.requests, args.warmup, args.settle, tuple(args.levels), not args.no_control)
    publish(table(document), document, args.output)


if __name__ == "__main__":
    main()
