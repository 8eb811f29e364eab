"""The course run over HTTP at 8 connections: runs/s, p50 and CPU per request against `/healthz`, in the same run.

`python -m bench.http_runs` starts one real server per `DESCENT_WORKERS` value (`--workers`, default 1 and 2)
through `tests.live.Server` (`python -m service`, a throw-away SQLite store, `DESCENT_LOG_LEVEL=warning`,
`DESCENT_MAX_QUEUED_RUNS=1000`), waits until each is idle (the compiled kernels load or compile at start), then
interleaves, `--repeats` times, wrk with 8 connections and 2 threads for `--duration` seconds on `POST /v1/runs`
with the course run (`bench/wrk/course.lua`) and on `GET /healthz`, per server. The machine is shared, so absolute
rates move with the other load: each figure is the median over the repeats, and the robust one is the CPU time the
server's processes spent per request (`/proc/PID/stat` utime + stime of the server and its children), with its
ratio to `/healthz`'s measured in the same repeat. The issue's targets ("Done when": p50 at most 2 x /healthz p50,
at least 2,000 runs/s at 8 connections) are printed next to the figures.

Any non-2xx response or socket error makes the script exit with 1. Results go to stdout as a table and to
bench/results/http_runs.json.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import CASES, Row, check_course_body, children, failures, measure, process_cpu_s, source_version
from bench.report import publish
from tests.live import Server

RESULTS = Path(__file__).resolve().parent / "results" / "http_runs.json"
CONNECTIONS = 8
IDLE_CORES = 0.2
"""A server is idle (its kernels loaded or compiled) once it uses less than this many cores over a second."""
IDLE_WAIT_S = 180.0
TARGET_RUNS_PER_S = 2_000
TARGET_P50_RATIO = 2.0


def server_cpu_s(server: Server) -> float:
    """CPU seconds so far of the server process and its children (uvicorn's worker processes, the pool's)."""
    pid = server.process.pid
    return process_cpu_s(pid) + sum(process_cpu_s(child) for child in children(pid))


def wait_idle(server: Server) -> float:
    """Wait until the server uses less than IDLE_CORES over a second; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < IDLE_WAIT_S:
        before = server_cpu_s(server)
        time.sleep(1.0)
        if server_cpu_s(server) - before < IDLE_CORES:
            break
    return time.monotonic() - started


def idle_cores(server: Server, seconds: float = 3.0) -> float:
    """Cores the idle server uses (the claims thread's polling, lease heartbeats)."""
    before = server_cpu_s(server)
    time.sleep(seconds)
    return (server_cpu_s(server) - before) / seconds


def cpu_ms_per_request(row: Row) -> float:
    """CPU milliseconds the server's processes spent per answered request over the row's window."""
    cores = row.cpu_cores["server"] + row.cpu_cores["workers"]
    return 1e3 * cores / row.requests_per_s


@contextlib.contextmanager
def servers(workers: list[int], folder: Path) -> Iterator[dict[int, Server]]:
    """One server per worker count, each on its own store; always stopped."""
    started: dict[int, Server] = {}
    try:
        for count in workers:
            environment = {
                "DESCENT_LOG_LEVEL": "warning",
                "DESCENT_MAX_QUEUED_RUNS": "1000",
                "DESCENT_WORKERS": str(count),
            }
            started[count] = Server(folder / f"workers-{count}.sqlite3", **environment)
        yield started
    finally:
        for server in started.values():
            server.stop()


def summary(rows: list[Row]) -> dict[str, float]:
    return {
        "requests_per_s": statistics.median(row.requests_per_s for row in rows),
        "p50_ms": statistics.median(row.latency.median_ms for row in rows),
        "p99_ms": statistics.median(row.latency.p99_ms for row in rows),
        "cpu_ms_per_request": statistics.median(cpu_ms_per_request(row) for row in rows),
        "server_cores": statistics.median(row.cpu_cores["server"] + row.cpu_cores["workers"] for row in rows),
        "machine_cores": statistics.median(row.cpu_cores["machine"] for row in rows),
    }


def run(workers: list[int], repeats: int, duration_s: int) -> dict[str, Any]:
    rows: dict[int, dict[str, list[Row]]] = {count: {"course": [], "healthz": []} for count in workers}
    ratios: dict[int, dict[str, list[float]]] = {count: {"p50": [], "cpu": []} for count in workers}
    with tempfile.TemporaryDirectory(prefix="descent-http-runs-") as tmp, servers(workers, Path(tmp)) as started:
        waited = {count: wait_idle(server) for count, server in started.items()}
        idle = {count: idle_cores(server) for count, server in started.items()}
        for repeat in range(repeats):
            for count, server in started.items():
                pair = {}
                for name in ("course", "healthz"):
                    store = Path(tmp) / f"workers-{count}.sqlite3"
                    pair[name] = measure(server, store, CASES[name], CONNECTIONS, duration_s)
                    rows[count][name].append(pair[name])
                ratios[count]["p50"].append(pair["course"].latency.median_ms / pair["healthz"].latency.median_ms)
                ratios[count]["cpu"].append(cpu_ms_per_request(pair["course"]) / cpu_ms_per_request(pair["healthz"]))
                print(
                    f"  repeat {repeat + 1}, {count} worker(s): {pair['course'].requests_per_s:,.0f} runs/s, "
                    f"{pair['healthz'].requests_per_s:,.0f} healthz/s",
                    file=sys.stderr,
                )
    results = []
    for count in workers:
        course, healthz = summary(rows[count]["course"]), summary(rows[count]["healthz"])
        results.append(
            {
                "workers": count,
                "course": course,
                "healthz": healthz,
                "p50_ratio": statistics.median(ratios[count]["p50"]),
                "cpu_ratio": statistics.median(ratios[count]["cpu"]),
                "idle_server_cores": idle[count],
                "waited_for_idle_s": waited[count],
                "meets_runs_per_s": course["requests_per_s"] >= TARGET_RUNS_PER_S,
                "meets_p50_ratio": statistics.median(ratios[count]["p50"]) <= TARGET_P50_RATIO,
            }
        )
    every = [row for count in workers for pair in rows[count].values() for row in pair]
    return {
        "benchmark": "http_runs",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_version(),
        "connections": CONNECTIONS,
        "repeats": repeats,
        "duration_s": duration_s,
        "results": results,
        "failures": sum(failures(row) for row in every),
    }


def table(document: dict[str, Any]) -> str:
    header = (
        f"{'workers':>7}{'runs/s':>9}{'healthz/s':>11}{'run p50':>9}{'hz p50':>8}{'p50 x':>7}"
        f"{'run CPU':>9}{'hz CPU':>8}{'CPU x':>7}{'srv cores':>10}{'idle':>6}"
    )
    lines = [header, "-" * len(header)]
    for result in document["results"]:
        course, healthz = result["course"], result["healthz"]
        lines.append(
            f"{result['workers']:>7}{course['requests_per_s']:>9,.0f}{healthz['requests_per_s']:>11,.0f}"
            f"{course['p50_ms']:>9.2f}{healthz['p50_ms']:>8.2f}{result['p50_ratio']:>7.2f}"
            f"{course['cpu_ms_per_request']:>9.3f}{healthz['cpu_ms_per_request']:>8.3f}{result['cpu_ratio']:>7.2f}"
            f"{course['server_cores']:>10.2f}{result['idle_server_cores']:>6.2f}"
        )
    lines.append(
        f"\n{document['connections']} connections, wrk -t2, {document['duration_s']} s x {document['repeats']} "
        "interleaved repeats, medians; p50 in ms, CPU in ms of the server's processes per request; "
        f"targets: >= {TARGET_RUNS_PER_S:,} runs/s, p50 <= {TARGET_P50_RATIO:g} x healthz."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="DESCENT_WORKERS values (1 2)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    check_course_body()
    document = run(args.workers, args.repeats, args.duration)
    publish(table(document), document, args.output)
    if document["failures"]:
        raise SystemExit(f"{document['failures']} failed requests (non-2xx or socket errors)")


if __name__ == "__main__":
    main()
