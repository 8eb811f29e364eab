"""Replicas: course runs per second with one server on SQLite, one on PostgreSQL and two on PostgreSQL, and the
time from a replica's death to its run being failed by another.

`python -m bench.replicas` starts a real PostgreSQL server (`tests.postgres`: Debian's package, a temporary folder,
loopback) and real servers (`tests.live.Server`, `python -m service`) with `DESCENT_LOG_LEVEL=warning` and
`DESCENT_MAX_QUEUED_RUNS=1000`, all at once, then runs wrk (`bench/wrk/course.lua`: waited `POST /v1/runs` of the
course run, 8 keep-alive connections in all) against each set-up in turn, `--rounds` times interleaved, and reports
medians. Two replicas are driven by two wrk processes at once, 4 connections each (a client-side balancer), and
their runs/s summed. Non-2xx answers or socket errors fail the bench.

Failover: a replica executing a crawl is SIGKILLed, and another (same database) is asked every 20 ms for the run's
status until it reads `failed`; with the default lease (`DESCENT_LEASE_SECONDS`, 10 s) unless `--lease` says.
Results go to stdout and bench/results/replicas.json.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import COURSE_RUN
from tests.live import LONG_RUN, Server
from tests.postgres import PostgresServer, binaries

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "replicas.json"
SETTINGS = {"DESCENT_LOG_LEVEL": "warning", "DESCENT_MAX_QUEUED_RUNS": "1000"}
CONNECTIONS = 8


def wrk(urls: list[str], seconds: int) -> float:
    """Runs/s over all `urls` at once (CONNECTIONS split between them)."""
    each = CONNECTIONS // len(urls)
    command = ["wrk", "-t", "1", "-c", str(each), "-d", f"{seconds}s", "-s", str(BENCH / "wrk" / "course.lua")]
    processes = [subprocess.Popen([*command, f"{url}/v1/runs"], stdout=subprocess.PIPE, text=True) for url in urls]
    total = 0.0
    for process in processes:
        out, _ = process.communicate(timeout=seconds + 60)
        report = json.loads(next(line for line in out.splitlines() if line.startswith("WRK_JSON "))[9:])
        bad = {status: count for status, count in report["statuses"].items() if not status.startswith("2")}
        assert not bad, out
        assert not any(report["errors"].values()), out
        total += report["requests"] / (report["duration_us"] / 1e6)
    return total


def failover(database: str, folder: Path, lease: float) -> float:
    """Seconds from SIGKILL of the replica executing a run to another replica reading it `failed`."""
    settings = {**SETTINGS, "DESCENT_STORE_URL": database, "DESCENT_LEASE_SECONDS": str(lease)}
    a = Server(folder / "fa.sqlite3", **settings)
    with a.client() as on_a:
        run_id = on_a.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        while not on_a.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["trace"]["step"]:
            time.sleep(0.02)  # A is executing it: rows are stored
    b = Server(folder / "fb.sqlite3", **settings)
    try:
        a.kill()
        killed = time.monotonic()
        with b.client() as on_b:
            while on_b.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["status"] != "failed":
                time.sleep(0.02)
        return time.monotonic() - killed
    finally:
        b.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    bin_dir = binaries()
    assert bin_dir is not None, "PostgreSQL is not installed (apt-get install postgresql)"
    postgres = PostgresServer(bin_dir)
    folder = Path(tempfile.mkdtemp(prefix="descent-bench-"))
    servers: list[Server] = []
    try:
        one_db, two_db = postgres.new_database(), postgres.new_database()
        sqlite = Server(folder / "s.sqlite3", **SETTINGS)
        pg = Server(folder / "p.sqlite3", DESCENT_STORE_URL=one_db, **SETTINGS)
        pg_a = Server(folder / "a.sqlite3", DESCENT_STORE_URL=two_db, **SETTINGS)
        pg_b = Server(folder / "b.sqlite3", DESCENT_STORE_URL=two_db, **SETTINGS)
        servers = [sqlite, pg, pg_a, pg_b]
        for server in servers:
            assert httpx.post(f"{server.url}/v1/runs", json=COURSE_RUN, timeout=30).status_code == 201
        setups = {
            "1 replica, SQLite": [sqlite.url],
            "1 replica, PostgreSQL": [pg.url],
            "2 replicas, PostgreSQL": [pg_a.url, pg_b.url],
        }
        for urls in setups.values():
            wrk(urls, 2)  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in setups}
        for _ in range(args.rounds):
            for name, urls in setups.items():
                rates[name].append(wrk(urls, args.seconds))
        for server in servers:
            server.stop()
        servers = []
        for name, values in rates.items():
            print(f"{name:<24} runs/s per round: {', '.join(f'{value:.1f}' for value in values)}", flush=True)
        deaths = [failover(postgres.new_database(), folder, args.lease) for _ in range(args.failovers)]
    finally:
        for server in servers:
            server.stop()
        postgres.stop()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    base = medians["1 replica, SQLite"]
    result: dict[str, Any] = {
        "connections": CONNECTIONS,
        "seconds": args.seconds,
        "runs_per_second": rates,
        "median": medians,
        "ratio_to_sqlite": {name: value / base for name, value in medians.items()},
        "lease_seconds": args.lease,
        "death_to_failed_seconds": deaths,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    for name, value in medians.items():
        print(f"{name:<24} {value:8.1f} runs/s  ({value / base:.2f} x SQLite)  rounds: {rates[name]}")
    print(f"death -> failed (lease {args.lease:g} s): {', '.join(f'{d:.2f}' for d in deaths)} s")


if __name__ == "__main__":
    main()
