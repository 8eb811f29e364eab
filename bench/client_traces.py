"""The Python client reading a stored run's trace as JSON against Arrow, end to end, by trace length.

`python -m bench.client_traces` starts `python -m service` (a throw-away SQLite store), stores course runs
(`(w+1)²`, rate 1e-6 so that no row repeats) of 1,000 to 1,000,000 steps, then times
`descent_client.Client.get(run_id, trace="json")` against `trace="arrow"`: the request, the server reading and
encoding the trace, the transfer over loopback and the client's decoding into typed NumPy arrays (`trace="arrow"`
makes two requests, the run's status and then its trace, `trace="json"` one). The two are
interleaved, after a warm-up of each, and the medians reported with their ratio; both answers are checked equal
(bit for bit) first. `Client.get(trace="auto")` switches to Arrow above `ARROW_ROWS`; this is where that threshold
comes from. Results go to stdout as a table and to bench/results/client_traces.json.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np

from bench.report import publish
from descent_client import Client
from descent_client._core import ARROW_ROWS
from tests.live import Server

RESULTS = Path(__file__).resolve().parent / "results" / "client_traces.json"
STEPS = (1_000, 3_000, 5_000, 10_000, 30_000, 100_000, 1_000_000)
COURSE = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 1e-6}


def interleaved(bodies: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall times (ms) of each body, one of each per round, after one untimed call of each."""
    for body in bodies.values():
        body()
    times: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(repeats):
        for name, body in bodies.items():
            start = time.perf_counter()
            body()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "runs.sqlite3")
        try:
            with Client(server.url) as client:
                for steps in STEPS:
                    run_id = client.wait(client.submit({**COURSE, "steps": steps}).id).id
                    json_trace = client.get(run_id, trace="json").trace
                    arrow_trace = client.get(run_id, trace="arrow").trace
                    for column in ("step", "w", "loss", "lr", "grad"):
                        assert np.array_equal(getattr(json_trace, column), getattr(arrow_trace, column))
                    times = interleaved(
                        {
                            "json": partial(client.get, run_id, trace="json"),
                            "arrow": partial(client.get, run_id, trace="arrow"),
                        },
                        arguments.repeats,
                    )
                    json_ms, arrow_ms = (statistics.median(times[name]) for name in ("json", "arrow"))
                    rows.append(
                        {
                            "rows": steps + 1,
                            "json_ms": json_ms,
                            "arrow_ms": arrow_ms,
                            "json_over_arrow": json_ms / arrow_ms,
                        }
                    )
        finally:
            server.stop()
    lines = [
        f"Client.get, JSON against Arrow: medians of {arguments.repeats} interleaved repeats (ARROW_ROWS {ARROW_ROWS})",
        "| rows | JSON | Arrow | JSON / Arrow |",
        "|---:|---:|---:|---:|",
        *(
            f"| {row['rows']:,} | {row['json_ms']:,.1f} ms | {row['arrow_ms']:,.1f} ms | {row['json_over_arrow']:.2f} |"
            for row in rows
        ),
    ]
    document = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "repeats": arguments.repeats,
        "rows": rows,
    }
    publish("\n".join(lines), document, arguments.output)


if __name__ == "__main__":
    main()
