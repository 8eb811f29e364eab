"""Request latency of a real Descent server, course runs against `GET /healthz` as the baseline.

`python -m bench.http_latency` starts `python -m service` on a free port with a throw-away SQLite store, waits
for `/healthz` and then until the server is idle (its compiled kernels loaded), then sends sequential requests
over one keep-alive connection (20 warm-up per case, then N timed per case in 10 interleaved rounds) for:
`GET /healthz` (what the framework and the network stack cost), `POST /v1/runs` with the course run (constant
rate 0.2, 40 steps), and the same run with the TF1 exponential-decay schedule. It reports median, p90 and p99
in ms and the ratio of each median to the healthz median; the server is always terminated at the end.
Results go to stdout as a table and to bench/results/http_latency.json.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.report import publish

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "http_latency.json"
STARTUP_TIMEOUT_S = 30.0
IDLE_CORES = 0.2
IDLE_WAIT_S = 180.0

COURSE_RUN: dict[str, object] = {
    "loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0},
    "w0": 5,
    "schedule": 0.2,
    "steps": 40,
}
DECAY_SCHEDULE: dict[str, object] = {
    "kind": "tf1.exponential_decay",
    "learning_rate": 0.1,
    "decay_steps": 1,
    "decay_rate": 0.99,
    "staircase": True,
}


@dataclass(frozen=True)
class Case:
    """One request to repeat: method, path, JSON body (None for GET) and the status a success answers with."""

    name: str
    method: str
    path: str
    body: dict[str, object] | None
    status: int


@dataclass(frozen=True)
class Summary:
    """Summary statistics of latency samples (ms); percentiles by `statistics.quantiles`, inclusive method."""

    median_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float


def summarize(samples_ms: list[float]) -> Summary:
    """Median, p90, p99, min and max of at least two samples."""
    centiles = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return Summary(
        median_ms=statistics.median(samples_ms),
        p90_ms=centiles[89],
        p99_ms=centiles[98],
        min_ms=min(samples_ms),
        max_ms=max(samples_ms),
    )


@dataclass(frozen=True)
class Latency:
    """The timed samples of one case (ms) and their summary statistics."""

    case: str
    method: str
    path: str
    requests: int
    response_bytes: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    samples_ms: list[float]


HEALTHZ = Case("healthz", "GET", "/healthz", None, 200)
CASES = [
    HEALTHZ,
    Case("course.constant", "POST", "/v1/runs", COURSE_RUN, 201),
    Case("course.exponential_decay", "POST", "/v1/runs", {**COURSE_RUN, "schedule": DECAY_SCHEDULE}, 201),
]


def free_port() -> int:
    """A TCP port the OS reports free on the loopback interface (a tiny race with other processes is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_healthy(client: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `/healthz` until it answers 200; fail early, with the server's log, if the process exits or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"the server did not answer /healthz within {STARTUP_TIMEOUT_S:.0f} s:\n{log.read_text()[-4000:]}")


def timed(client: httpx.Client, case: Case, count: int) -> tuple[list[float], int]:
    """Send `count` sequential requests; the time of each from send to fully read response, and the body size."""
    content = None if case.body is None else json.dumps(case.body).encode()
    headers = {} if content is None else {"Content-Type": "application/json"}
    samples: list[float] = []
    size = 0
    for _ in range(count):
        start = time.perf_counter_ns()
        response = client.request(case.method, case.path, content=content, headers=headers)
        elapsed = time.perf_counter_ns() - start
        if response.status_code != case.status:
            raise SystemExit(f"{case.name}: expected {case.status}, got {response.status_code}: {response.text}")
        samples.append(elapsed / 1e6)
        size = len(response.content)
    return samples, size


def time_cases(client: httpx.Client, requests: int, warmup: int, rounds: int) -> list[Latency]:
    """`warmup` untimed requests per case, then `requests` timed ones per case in `rounds` interleaved rounds
    (each case in turn, requests / rounds at a time), so that the machine's other load weighs on every case
    alike."""
    for case in CASES:
        timed(client, case, warmup)
    samples: dict[str, list[float]] = {case.name: [] for case in CASES}
    sizes: dict[str, int] = {}
    for index in range(rounds):
        count = requests // rounds + (1 if index < requests % rounds else 0)
        for case in CASES:
            taken, sizes[case.name] = timed(client, case, count)
            samples[case.name] += taken
    latencies = []
    for case in CASES:
        stats = summarize(samples[case.name])
        latencies.append(
            Latency(
                case=case.name,
                method=case.method,
                path=case.path,
                requests=requests,
                response_bytes=sizes[case.name],
                median_ms=stats.median_ms,
                p90_ms=stats.p90_ms,
                p99_ms=stats.p99_ms,
                min_ms=stats.min_ms,
                max_ms=stats.max_ms,
                samples_ms=samples[case.name],
            )
        )
    return latencies


def wait_idle(server: subprocess.Popen[bytes]) -> None:
    """Wait (up to IDLE_WAIT_S) until the server uses less than IDLE_CORES over a second: its compiled kernels
    load (or compile, on a cold cache) in the background after it starts answering, and requests take the NumPy
    path until then."""
    from bench.load import process_cpu_s  # bench.load imports this module

    started = time.monotonic()
    while time.monotonic() - started < IDLE_WAIT_S:
        before = process_cpu_s(server.pid)
        time.sleep(1.0)
        if process_cpu_s(server.pid) - before < IDLE_CORES:
            return


def run(requests: int, warmup: int, rounds: int) -> dict[str, object]:
    """Start the server, measure every case, and always stop the server; return the JSON document."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="descent-bench-") as tmp:
        log = Path(tmp) / "server.log"
        env = {**os.environ, "DESCENT_STORE_PATH": str(Path(tmp) / "descent.sqlite3")}
        command = [sys.executable, "-m", "service", "--port", str(port)]
        with log.open("wb") as log_file:
            server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                # trust_env=False: a proxy from the environment must not sit between the client and the server.
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0, trust_env=False) as client:
                    wait_until_healthy(client, server, log)
                    wait_idle(server)
                    latencies = time_cases(client, requests, warmup, rounds)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
    baseline = latencies[0].median_ms
    return {
        "benchmark": "http_latency",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "server": " ".join(["python", *command[1:]]),
        "requests": requests,
        "warmup": warmup,
        "rounds": rounds,
        "cases": [asdict(latency) for latency in latencies],
        "ratios": {f"{latency.case}/healthz": latency.median_ms / baseline for latency in latencies[1:]},
    }


def table(document: dict[str, object]) -> str:
    """The cases as an aligned plain-text table, with each median's ratio to the healthz median."""
    cases = document["cases"]
    assert isinstance(cases, list)
    baseline = cases[0]["median_ms"]
    header = f"{'case':<26}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'bytes':>8}{'/healthz':>10}"
    lines = [header, "-" * len(header)]
    for case in cases:
        lines.append(
            f"{case['case']:<26}{case['median_ms']:>11.2f}{case['p90_ms']:>9.2f}{case['p99_ms']:>9.2f}"
            f"{case['response_bytes']:>8}{case['median_ms'] / baseline:>10.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_latency", description="HTTP latency of a real server.")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per case first (default 20)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds of the cases (default 10)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    document = run(args.requests, args.warmup, args.rounds)
    publish(table(document), document, args.output)


if __name__ == "__main__":
    main()
