"""What hardening bought, measured on real servers: memory under concurrent big landscapes, and `/healthz` while a
million-row CSV is read.

`python -m bench.hardening [--repeats 3] [--compare REF]` starts `python -m service` (through `tests.live.Server`,
a throw-away SQLite store) for every measurement:
- landscapes: 20 concurrent `POST /v1/landscape`, 1000 x 1000, a 39-factor formula (+ y), in float32 and float64;
  the peak resident memory (`VmHWM`) of the server and of each worker process, summed.
- csv: a 1,000,000-step run stored with every row, then `GET /v1/runs/{id}?format=csv` while `/healthz` is asked
  every 20 ms over another connection; the CSV's time and `/healthz`'s p50, p95 and max.
Each measurement is repeated `--repeats` times, interleaved, and the medians are reported. With `--compare REF` the
CSV measurement also runs on the code at git revision REF (checked out in a temporary worktree), interleaved with
this checkout's: landscapes are not run on REF, whose landscapes are what took a server to 16.8 GB.
Results go to stdout as a table and to bench/results/hardening.json.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.report import publish
from tests.live import ROOT, answers_healthz, free_port

RESULTS = Path(__file__).resolve().parent / "results" / "hardening.json"
FORMULA = "*".join(f"(x + {i})" for i in range(1, 40)) + " + y"
CRAWL = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 1e-7, "steps": 1_000_000}


@contextmanager
def server(root: Path, **environment: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m service` from the checkout at `root` on a free loopback port, with a throw-away store."""
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(root), "DESCENT_STORE_PATH": f"{folder}/runs.sqlite3", **environment}
        command = [sys.executable, "-m", "service", "--port", str(port)]
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            if not answers_healthz(url, 60):
                raise RuntimeError(f"the server at {root} did not start")
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=60)


def peak_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) * 1024


def workers(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    return [int(child) for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def landscapes(dtype: str) -> dict[str, Any]:
    body = {"loss": {"kind": "expression", "formula": FORMULA}, "bounds": [[-3, 3], [-3, 3]], "resolution": 1000}
    with server(ROOT, DESCENT_MAX_CONCURRENT_RUNS="2") as (url, process):
        client = httpx.Client(base_url=url, timeout=300)
        started = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: client.post("/v1/landscape", json={**body, "dtype": dtype}), range(20)))
        seconds = time.perf_counter() - started
        peaks = [peak_bytes(process.pid), *(peak_bytes(pid) for pid in workers(process.pid))]
    return {
        "answered_200": sum(answer.status_code == 200 for answer in answers),
        "seconds": seconds,
        "server_mb": peaks[0] / 2**20,
        "total_mb": sum(peaks) / 2**20,
    }


def csv_read(root: Path) -> dict[str, Any]:
    with server(root) as (url, _):
        client = httpx.Client(base_url=url, timeout=300)
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=CRAWL).json()["id"]
        while client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["status"] in ("queued", "running"):
            time.sleep(0.2)
        latencies: list[float] = []

        def read() -> tuple[int, float]:
            started = time.perf_counter()
            size = len(client.get(f"/v1/runs/{run_id}", params={"format": "csv"}).content)
            return size, time.perf_counter() - started

        with ThreadPoolExecutor(1) as reader, httpx.Client(base_url=url, timeout=60) as probe:
            done = reader.submit(read)
            while not done.done():
                started = time.perf_counter()
                probe.get("/healthz")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)
            size, seconds = done.result()
    latencies.sort()
    return {
        "csv_mb": size / 1e6,
        "csv_seconds": seconds,
        "healthz_probes": len(latencies),
        "healthz_p50_ms": 1000 * statistics.median(latencies),
        "healthz_p95_ms": 1000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "healthz_max_ms": 1000 * latencies[-1],
    }


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """The code at `ref` in a temporary git worktree (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="descent-ref-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), ref], cwd=ROOT, check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)


def median_of(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", help="a git revision whose CSV read to measure in the same run")
    args = parser.parse_args()
    samples: dict[str, list[dict[str, Any]]] = {}
    with checkout(args.compare) if args.compare else _nothing() as reference:
        for _ in range(args.repeats):
            for dtype in ("float32", "float64"):
                samples.setdefault(f"landscapes {dtype}", []).append(landscapes(dtype))
            samples.setdefault("csv (this checkout)", []).append(csv_read(ROOT))
            if reference is not None:
                samples.setdefault(f"csv ({args.compare})", []).append(csv_read(reference))
    medians = {name: median_of(values) for name, values in samples.items()}
    lines = [f"medians of {args.repeats} interleaved repeats, {platform.machine()}, {os.cpu_count()} cores", ""]
    for name, values in medians.items():
        lines.append(f"{name}: " + ", ".join(f"{key} {value:,.1f}" for key, value in values.items()))
    document = {"when": datetime.now(UTC).isoformat(), "repeats": args.repeats, "medians": medians, "samples": samples}
    publish("\n".join(lines), document, RESULTS)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
