"""Delivery of big traces: CSV against JSON, per-row SSE's first event and throughput, the torch cosine schedule.

`python -m bench.delivery [--only formats sse cosine]` times, medians over interleaved repeats (each repeat runs
every case once, in turn, so that a load change on the shared machine hits all cases alike; garbage collection off
while timing):
- `csv` / `csv.numpy` / `csv.joined` / `csv.numpy.joined` / `csv.row_by_row` / `json` of two real runs' traces,
  encoded as `GET /v1/runs/{id}` answers them: the pieces of `csv_pieces` encoded one after another, each dropped
  once done as the streamed answer drops it once sent (`csv`, `csv.numpy`), or all of them joined into one body
  (`.joined`), by the compiled writer (`service.csv_kernel`, loaded first) and by the NumPy writer
  (`service.numbers_text`: what served before it, and serves until it is loaded); the row-by-row encoder they
  replaced (`astype(str)` per column, `csv.writer` per row; `--no-row-by-row` skips it); and `json_bytes` of the
  run's `trace` document. All CSVs are checked equal byte for byte before timing. Wall and CPU time (the process's
  user and system time: page faults included) are both kept. The runs: 1,000,000 steps of the course loss at rate
  1e-7 (float32, never settles: every row differs) and a 2-D `torch.Adam` run of 200,000 steps in float64 with its
  optimizer state recorded.
- per-row SSE of the 1,000,000-row run from a SQLite store, as `GET /v1/runs/{id}/events` streams it
  (`run_events` read from the store, framed by `service.api.sse.encoded`): the time to the first `step` bytes
  (after the `run` event: reading the trace from the store included) and the events per second of the whole
  stream;
- `torch.CosineAnnealingLR` over 1,000,001 steps: torch's recursion as the engine now computes it (eta_min 0 and
  0.001; T_max 37, 1,000 and 2,000,000) against the closed form it replaced.
Results go to stdout and bench/results/delivery.json.
"""

import argparse
import gc
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt

from bench.report import publish
from bench.sweep import machine
from bench.trace_formats import run_trace
from service import csv_kernel
from service.api.sse import encoded
from service.clock import now
from service.documents import trace_document
from service.encodings import csv_pieces, json_bytes, trace_columns
from service.engine import kernels
from service.engine.schedules.torch import CosineAnnealingLR
from service.engine.trace import Trace
from service.limits import Limits
from service.runs import worker
from service.runs.events import polling, run_events
from service.runs.job import Job, JobKind
from service.specs.run import RunSpec
from service.store.base import RunRecord, Status
from service.store.sqlite import SQLiteStore

RESULTS = Path(__file__).resolve().parent / "results" / "delivery.json"
PARTS = ["formats", "sse", "cosine"]
CRAWL = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 1e-7}
ADAM = {
    "loss": {"kind": "quadratic", "a": [1, 10], "b": [1, -2], "c": 0},
    "w0": [5, 5],
    "schedule": 0.05,
    "optimizer": {"kind": "torch.Adam"},
    "dtype": "float64",
    "record": {"state": True},
}


def interleaved(
    cases: dict[str, Callable[[], object]], repeats: int, cpu: dict[str, list[float]] | None = None
) -> dict[str, list[float]]:
    """Milliseconds of each case in each of `repeats` rounds (one untimed round first); the process's CPU
    milliseconds (user and system: page faults included) of each go into `cpu` when it is given."""
    for body in cases.values():
        body()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, body in cases.items():
            gc.collect()
            gc.disable()
            try:
                start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
                body()
                samples[name].append((time.perf_counter_ns() - start) / 1e6)
                if cpu is not None:
                    cpu.setdefault(name, []).append((time.process_time_ns() - start_cpu) / 1e6)
            finally:
                gc.enable()
    return samples


def row_by_row_csv(trace: Trace, scalar: bool) -> str:
    """The CSV encoder before issue 16 (kept in tests/test_encodings.py as the reference)."""
    import csv
    import io

    columns = trace_columns(trace, scalar)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*(column.astype(str) for column in columns.values()), strict=True))
    return buffer.getvalue()


def json_of(trace: Trace, scalar: bool) -> bytes:
    """The run's `trace` as `GET /v1/runs/{id}` encodes it."""
    return json_bytes(trace_document(trace, scalar))


def served_csv(trace: Trace, scalar: bool, writer: kernels.Mode = "compiled") -> bytes:
    """The CSV answer's pieces, joined, by the compiled writer or (`numpy`) the NumPy one."""
    with csv_kernel.use(writer):
        return b"".join(piece() for piece in csv_pieces(trace, scalar))


def streamed_csv(trace: Trace, scalar: bool, writer: kernels.Mode = "compiled") -> int:
    """The CSV answer's pieces encoded one after another, as the streamed answer sends them (each is dropped once
    sent); their bytes."""
    with csv_kernel.use(writer):
        return sum(len(piece()) for piece in csv_pieces(trace, scalar))


def recursion(lr: npt.NDArray[Any], t_max: int, eta_min: npt.NDArray[Any], steps: npt.NDArray[Any]) -> object:
    return CosineAnnealingLR(lr=lr, T_max=t_max, eta_min=eta_min)(steps)


def closed_form(lr: npt.NDArray[Any], t_max: int, eta_min: npt.NDArray[Any], steps: npt.NDArray[Any]) -> object:
    """The engine's closed form before issue 16."""
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * steps.astype(np.float64)[:, None] / t_max)) / 2


def formats(repeats: int, row_by_row: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table, spec, steps in (("crawl_1000000_f32", CRAWL, 1_000_000), ("adam_f64_state_200000", ADAM, 200_000)):
        trace, scalar = run_trace(spec, steps)
        served = served_csv(trace, scalar)
        if served != served_csv(trace, scalar, "numpy"):
            raise SystemExit(f"{table}: the compiled CSV differs from the NumPy CSV")
        if row_by_row and served.decode() != row_by_row_csv(trace, scalar):
            raise SystemExit(f"{table}: the CSV differs from the row-by-row CSV")
        cases: dict[str, Callable[[], object]] = {
            "json": partial(json_of, trace, scalar),
            "csv": partial(streamed_csv, trace, scalar),
            "csv.numpy": partial(streamed_csv, trace, scalar, "numpy"),
            "csv.joined": partial(served_csv, trace, scalar),
            "csv.numpy.joined": partial(served_csv, trace, scalar, "numpy"),
        }
        if row_by_row:
            cases["csv.row_by_row"] = partial(row_by_row_csv, trace, scalar)
        cpu: dict[str, list[float]] = {}
        samples = interleaved(cases, repeats, cpu)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
        out[table] = {
            "rows": len(trace),
            "bytes": {"csv": len(served), "json": len(json_bytes(trace_document(trace, scalar)))},
            "median_ms": medians,
            "samples_ms": samples,
            "cpu_median_ms": cpu_medians,
            "cpu_samples_ms": cpu,
        }
        for name in cases:
            if name != "json":
                out[table][f"{name} / json"] = medians[name] / medians["json"]
                out[table][f"{name} / json, CPU"] = cpu_medians[name] / cpu_medians["json"]
        print(f"  {table}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in medians.items()), flush=True)
        print(f"  {table}, CPU: " + ", ".join(f"{k} {v:.1f} ms" for k, v in cpu_medians.items()), flush=True)
    return out


def stored_run(directory: str) -> tuple[SQLiteStore, str]:
    """The 1,000,000-step crawl executed by the worker into a SQLite store, as the service runs it."""
    store = SQLiteStore(str(Path(directory) / "bench.db"))
    document = RunSpec.model_validate({**CRAWL, "steps": 1_000_000}).normalised()
    run_id = str(uuid.uuid4())
    store.insert(RunRecord(run_id, None, Status.QUEUED, now(), None, document, None, "float32", 0), "bench:0:0")
    worker.execute(Job(JobKind.RUN, run_id, document, Limits()), store)
    return store, run_id


async def stream_once(store: SQLiteStore, run_id: str) -> tuple[float, float, int]:
    """(ms to the first `step` bytes, ms to the end, step events) of one per-row stream of the stored run."""
    start = time.perf_counter()
    first = None
    events = 0
    async for chunk in encoded(run_events(store, run_id, wait=polling(0.01))):
        steps = chunk.count(b"event: step\n")
        if steps and first is None:
            first = time.perf_counter()
        events += steps
    end = time.perf_counter()
    assert first is not None
    return (first - start) * 1e3, (end - start) * 1e3, events


def sse(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        store, run_id = stored_run(directory)
        anyio.run(stream_once, store, run_id)  # warm-up
        firsts, totals = [], []
        events = 0
        for _ in range(repeats):
            gc.collect()
            first, total, events = anyio.run(stream_once, store, run_id)
            firsts.append(first)
            totals.append(total)
    median_total = statistics.median(totals)
    result = {
        "rows": events,
        "first_step_ms": statistics.median(firsts),
        "first_step_samples_ms": firsts,
        "total_ms": median_total,
        "total_samples_ms": totals,
        "events_per_s": events / (median_total / 1e3),
    }
    print(
        f"  sse per row: first step {result['first_step_ms']:.1f} ms, {events:,} events in {median_total:.0f} ms "
        f"({result['events_per_s']:,.0f}/s)",
        flush=True,
    )
    return result


def cosine(repeats: int) -> dict[str, Any]:
    steps = np.arange(1_000_001, dtype=np.int64)
    cases: dict[str, Callable[[], object]] = {}
    for t_max in (37, 1_000, 2_000_000):
        for eta_min in (0.0, 0.001):
            lr, eta = np.array([0.1]), np.array([eta_min])
            cases[f"recursion T_max={t_max} eta_min={eta_min}"] = partial(recursion, lr, t_max, eta, steps)
            cases[f"closed form T_max={t_max} eta_min={eta_min}"] = partial(closed_form, lr, t_max, eta, steps)
    samples = interleaved(cases, repeats)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"  cosine 1,000,001 steps, {name}: {value:.1f} ms", flush=True)
    return {"median_ms": medians, "samples_ms": samples}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timed rounds (default 5)")
    parser.add_argument("--no-row-by-row", action="store_true", help="skip the old row-by-row CSV (4+ s a round)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="the parts to run (default all)")
    args = parser.parse_args(argv)
    document: dict[str, Any] = {
        "benchmark": "delivery",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(None, None),
        "repeats": args.repeats,
    }
    if "formats" in args.only:
        document["formats"] = formats(args.repeats, not args.no_row_by_row)
    if "sse" in args.only:
        document["sse"] = sse(args.repeats)
    if "cosine" in args.only:
        document["cosine"] = cosine(args.repeats)
    lines = [
        f"{table}: csv / json {f['csv / json']:.2f}, CPU {f['csv / json, CPU']:.2f} (the NumPy writer "
        f"{f['csv.numpy / json']:.2f}, CPU {f['csv.numpy / json, CPU']:.2f}); joined {f['csv.joined / json']:.2f} "
        f"(NumPy {f['csv.numpy.joined / json']:.2f})"
        for table, f in document.get("formats", {}).items()
    ]
    publish("\n".join(lines), document, args.output)


if __name__ == "__main__":
    main()
