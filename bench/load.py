"""Throughput of a real Descent server under concurrent load, measured with wrk.

`python -m bench.load` starts `python -m service` through `tests.live.Server` (what `make run` starts, on a free
port with a throw-away SQLite store), by default with `DESCENT_LOG_LEVEL=warning` (no access log) and
`DESCENT_MAX_QUEUED_RUNS=1000`. For each case, `POST /v1/runs` with the course run (`bench/wrk/course.lua`) and
`GET /healthz` (`bench/wrk/report.lua`), it runs one untimed wrk warm-up (2 connections), then wrk with 1, 16 and
64 keep-alive connections (threads = min(connections, 2)) for 10 s each, with `--latency`. The Lua hooks count
the responses by status and print wrk's totals, socket errors and latency percentiles as one JSON line.

Each row also gives the CPU time the server process, its worker processes and wrk used over the window (in
cores), and the number of runs in the store after it. Any non-2xx response or socket error is reported with the
server log's tail and makes the script exit with 1. The server is always stopped.
Results go to stdout as a table and to bench/results/load.json.
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http_latency import COURSE_RUN, Summary
from bench.report import publish
from tests.live import Server

BENCH = Path(__file__).resolve().parent
WRK_SCRIPTS = BENCH / "wrk"
RESULTS = BENCH / "results" / "load.json"
CONNECTIONS = (1, 16, 64)
DURATION_S = 10
WARMUP_S = 2
WARMUP_CONNECTIONS = 2
WRK_TIMEOUT_S = 2  # wrk's default, passed explicitly: a response slower than this counts as a timeout error
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
STALL_S = 5.0
LOG_TAIL_LINES = 40
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Case:
    """One request for wrk: the Lua script that describes it and the status a success answers with."""

    name: str
    method: str
    path: str
    script: Path
    status: int


CASES = {
    "course": Case("course", "POST", "/v1/runs", WRK_SCRIPTS / "course.lua", 201),
    "healthz": Case("healthz", "GET", "/healthz", WRK_SCRIPTS / "report.lua", 200),
}


@dataclass(frozen=True)
class Row:
    """One wrk run: throughput, latency (ms, wrk's histogram), failures, CPU use and the store's size after it."""

    case: str
    method: str
    path: str
    connections: int
    threads: int
    duration_s: float
    requests: int
    requests_per_s: float
    latency: Summary
    mean_ms: float
    p99_9_ms: float
    statuses: dict[str, int]
    non_2xx: int
    unexpected: int
    socket_errors: dict[str, int]
    cpu_cores: dict[str, float]
    runs_stored: int
    runs_unfinished: int
    server_log_bytes: int
    command: list[str]


def check_course_body() -> None:
    """Fail if `course.lua` no longer sends `bench.http_latency.COURSE_RUN`, the body the README documents."""
    match = re.search(r"^wrk\.body = '(.*)'$", CASES["course"].script.read_text(), re.MULTILINE)
    if match is None or json.loads(match.group(1)) != COURSE_RUN:
        raise SystemExit(f"{CASES['course'].script} does not send {json.dumps(COURSE_RUN)}")


def queue_setting(value: str) -> int | None:
    """`--max-queued-runs`: a number, or `default` to leave the service's own default (64)."""
    return None if value == "default" else int(value)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid`: the server's worker processes (and multiprocessing's resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return found


def machine_busy_s() -> float:
    """CPU seconds all cores have spent on anything but idle and I/O wait since boot (`/proc/stat`)."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS  # user..steal; guest time is already in user


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server process, of its children (summed per pid), of this script's reaped
    children (over a window that only runs wrk: wrk's CPU time), and of the whole machine."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot = {
        "server": process_cpu_s(server_pid),
        "wrk": reaped.ru_utime + reaped.ru_stime,
        "machine": machine_busy_s(),
    }
    snapshot.update({f"child.{pid}": process_cpu_s(pid) for pid in children(server_pid)})
    return snapshot


def cpu_cores(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
    """CPU seconds used between two snapshots per wall second: server, workers (all children), wrk, their total,
    the whole machine, and `other`, what the rest of the machine (this script, the kernel, other processes) used."""
    workers = sum(after[key] - before.get(key, 0.0) for key in after if key.startswith("child."))
    used = {
        "server": after["server"] - before["server"],
        "workers": workers,
        "wrk": after["wrk"] - before["wrk"],
    }
    cores = {name: seconds / wall_s for name, seconds in used.items()}
    cores["total"] = sum(cores.values())
    cores["machine"] = (after["machine"] - before["machine"]) / wall_s
    cores["other"] = cores["machine"] - cores["total"]
    return cores


def stored_runs(store: Path) -> dict[str, int]:
    """Runs in the SQLite store by status, read through a separate read-only connection (the store is in WAL)."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        rows: list[tuple[str, int]] = db.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
    return dict(rows)


def settle(store: Path) -> dict[str, int]:
    """Wait until no run is queued or running (the runs wrk left in flight end) and return the counts by status;
    give up once that number has not changed for `STALL_S` (runs that will never end are reported, not waited for).
    """
    last, deadline = -1, 0.0
    while True:
        counts = stored_runs(store)
        unfinished = counts.get("queued", 0) + counts.get("running", 0)
        if unfinished == 0:
            return counts
        if unfinished != last:
            last, deadline = unfinished, time.monotonic() + STALL_S
        elif time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def run_wrk(server: Server, case: Case, connections: int, duration_s: int) -> tuple[dict[str, Any], list[str]]:
    """Run wrk once; return the JSON line the Lua `done()` hook printed and the command."""
    command = [
        "wrk",
        f"--threads={min(connections, 2)}",
        f"--connections={connections}",
        f"--duration={duration_s}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        f"--script={case.script}",
        f"{server.url}{case.path}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("WRK_JSON ")]
    if completed.returncode != 0 or len(lines) != 1:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    report: dict[str, Any] = json.loads(lines[0].removeprefix("WRK_JSON "))
    return report, command


def measure(server: Server, store: Path, case: Case, connections: int, duration_s: int) -> Row:
    """One row: wrk against `case` with `connections` connections, CPU use around it, then the store's size."""
    log_before = server.log.stat().st_size
    before, start = cpu_snapshot(server.process.pid), time.monotonic()
    report, command = run_wrk(server, case, connections, duration_s)
    after, wall_s = cpu_snapshot(server.process.pid), time.monotonic() - start
    runs = settle(store)
    statuses: dict[str, int] = report["statuses"]
    errors: dict[str, int] = report["errors"]
    latency, centiles = report["latency_us"], report["latency_us"]["percentiles"]
    seconds = report["duration_us"] / 1e6
    return Row(
        case=case.name,
        method=case.method,
        path=case.path,
        connections=connections,
        threads=min(connections, 2),
        duration_s=seconds,
        requests=report["requests"],
        requests_per_s=report["requests"] / seconds,
        latency=Summary(
            median_ms=centiles["50"] / 1e3,
            p90_ms=centiles["90"] / 1e3,
            p99_ms=centiles["99"] / 1e3,
            min_ms=latency["min"] / 1e3,
            max_ms=latency["max"] / 1e3,
        ),
        mean_ms=latency["mean"] / 1e3,
        p99_9_ms=centiles["99.9"] / 1e3,
        statuses=statuses,
        non_2xx=sum(n for status, n in statuses.items() if not 200 <= int(status) < 300),
        unexpected=sum(n for status, n in statuses.items() if int(status) != case.status),
        # wrk's "status" error is its own count of responses >= 400, already in non_2xx: not a socket error.
        socket_errors={kind: errors[kind] for kind in ("connect", "read", "write", "timeout")},
        cpu_cores=cpu_cores(before, after, wall_s),
        runs_stored=sum(runs.values()),
        runs_unfinished=runs.get("queued", 0) + runs.get("running", 0),
        server_log_bytes=server.log.stat().st_size - log_before,
        command=command,
    )


def failures(row: Row) -> int:
    """Responses other than the case's success status, plus socket errors (runs that never end are counted once,
    for the whole document)."""
    return row.unexpected + sum(row.socket_errors.values())


def source_version() -> dict[str, Any]:
    """The commit measured and the files of `service/` that differ from it (read-only git commands)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=BENCH.parent, capture_output=True, text=True, check=False).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--", "service").splitlines()]
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted_service_files": changed}


def run(
    cases: list[Case], connections: list[int], duration_s: int, warmup_s: int, log_level: str, queue: int | None
) -> dict[str, Any]:
    """Start the server, warm up and measure every case at every connection count; always stop the server."""
    environment = {"DESCENT_LOG_LEVEL": log_level}
    if queue is not None:
        environment["DESCENT_MAX_QUEUED_RUNS"] = str(queue)
    with tempfile.TemporaryDirectory(prefix="descent-load-") as tmp:
        store = Path(tmp) / "descent.sqlite3"
        server = Server(store, **environment)
        completed = False
        try:
            warmups, rows = [], []
            for case in cases:
                # The first runs spawn the worker processes (about half a second); keep that out of the rows.
                warmups.append(measure(server, store, case, WARMUP_CONNECTIONS, warmup_s))
                for count in connections:
                    rows.append(measure(server, store, case, count, duration_s))
                    print(f"  {case.name} x{count}: {rows[-1].requests_per_s:,.0f} req/s", file=sys.stderr)
            runs = settle(store)
            completed = True
        finally:
            log = server.stop()
            if not completed:
                tail = "\n".join(log.splitlines()[-LOG_TAIL_LINES:])
                print(f"the load test stopped early; server log, last {LOG_TAIL_LINES} lines:\n{tail}", file=sys.stderr)
        store_bytes = sum(path.stat().st_size for path in Path(tmp).glob("descent.sqlite3*"))
    return {
        "benchmark": "load",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "source": source_version(),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0],
        "server": {"command": "python -m service --port <free port>", "environment": environment},
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "warmups": [asdict(row) for row in warmups],
        "rows": [asdict(row) for row in rows],
        "runs_stored": runs,
        "store_bytes": store_bytes,
        "runs_unfinished": runs.get("queued", 0) + runs.get("running", 0),
        "failures": sum(failures(row) for row in [*warmups, *rows]) + runs.get("queued", 0) + runs.get("running", 0),
        "server_log_tail": log.splitlines()[-LOG_TAIL_LINES:],
    }


def table(document: dict[str, Any]) -> str:
    """The rows as an aligned plain-text table."""
    header = (
        f"{'case':<9}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'sock err':>10}"
        f"{'server':>8}{'workers':>8}{'wrk':>6}{'machine':>8}{'runs stored':>13}"
    )
    lines = [header, "-" * len(header)]
    for row in document["rows"]:
        cores = row["cpu_cores"]
        lines.append(
            f"{row['case']:<9}{row['connections']:>6}{row['requests_per_s']:>9,.0f}"
            f"{row['latency']['median_ms']:>9.2f}{row['latency']['p99_ms']:>9.2f}"
            f"{row['non_2xx']:>9}{sum(row['socket_errors'].values()):>10}"
            f"{cores['server']:>8.2f}{cores['workers']:>8.2f}{cores['wrk']:>6.2f}"
            f"{cores['machine']:>8.2f}{row['runs_stored']:>13,}"
        )
    lines.append(f"(server, workers, wrk, machine: CPU cores used over the row, of {os.cpu_count()})")
    runs = document["runs_stored"]
    lines.append(f"runs stored at the end: {sum(runs.values()):,} {runs}, store {document['store_bytes']:,} bytes")
    return "\n".join(lines)


def diagnosis(document: dict[str, Any]) -> str:
    """What failed, row by row, and the server log's tail, for a run with failures."""
    lines = ["FAILURES:"]
    for row in [*document["warmups"], *document["rows"]]:
        if row["unexpected"] or any(row["socket_errors"].values()):
            errors = row["socket_errors"]
            lines.append(f"  {row['case']} x{row['connections']}: statuses {row['statuses']}, socket errors {errors}")
    if document["runs_unfinished"]:
        lines.append(
            f"  {document['runs_unfinished']} runs are still queued or running {STALL_S:.0f} s after the last row"
            f" and no longer progress: {document['runs_stored']}"
        )
    lines.append(f"server log, last {LOG_TAIL_LINES} lines:")
    lines.extend(f"  {line}" for line in document["server_log_tail"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description="Load test of a real server with wrk.")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES), help="default: both")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=list(CONNECTIONS), help="connection counts (default 1 16 64)"
    )
    parser.add_argument("--duration", type=int, default=DURATION_S, help=f"seconds per row (default {DURATION_S})")
    parser.add_argument("--warmup", type=int, default=WARMUP_S, help=f"untimed seconds per case (default {WARMUP_S})")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="warning", help="DESCENT_LOG_LEVEL (warning)")
    parser.add_argument(
        "--max-queued-runs",
        type=queue_setting,
        default=1000,
        help="DESCENT_MAX_QUEUED_RUNS, or 'default' to leave it unset (default 1000)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    check_course_body()
    cases = [CASES[name] for name in args.cases]
    document = run(cases, args.connections, args.duration, args.warmup, args.log_level, args.max_queued_runs)
    publish(table(document), document, args.output)
    if document["failures"]:
        print(diagnosis(document), file=sys.stderr)
        raise SystemExit(f"{document['failures']} failed requests or socket errors")


if __name__ == "__main__":
    main()
