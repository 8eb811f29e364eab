"""JSON against Apache Arrow (and CSV) for big traces: encode time, decode time and size, medians over repeats.

`python -m bench.trace_formats` encodes, with the service's own encoders (`orjson` with OPT_SERIALIZE_NUMPY as
`json_response` does, `arrow_stream`, `csv_text`):
- `sweep.w`: the weights of the 10,000-rate x 1,000-step SGD sweep of `bench.sweep` (float32, rows 0..1000 of every
  run), as {"step": (1001,), "w": (1001, 10000)}: JSON nests lists, Arrow writes a fixed_size_list<10000> column;
- `sweep.trace`: the same sweep's w, loss, lr and grad, four such matrices;
- three real runs, computed by the engine and encoded as `GET /v1/runs/{id}` answers them (the trace part: JSON's
  `trace` object, CSV, the Arrow stream): the course run of 40 steps, the course run of 100,000 steps (float32), and
  a 2-D torch.Adam run of 10,000 steps in float64 with its optimizer state recorded.
It also times the decoding a Python client does (`orjson.loads`, `pyarrow.ipc.open_stream(...).read_all()`) and,
for the sweep, the engine computing it (the figure JSON is compared with). Results go to stdout as a table and to
bench/results/trace_formats.json.
"""

import argparse
import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from bench.report import publish
from bench.sweep import SGD_RUNS, SGD_STEPS, engine_trace, machine, measure, sgd_problem
from service.documents import trace_document
from service.encodings import JSON_OPTIONS, arrow_stream, csv_text, trace_columns
from service.engine.execute import run_one
from service.engine.trace import Trace
from service.specs.build import build_problem
from service.specs.run import RunSpec

RESULTS = Path(__file__).resolve().parent / "results" / "trace_formats.json"
COURSE = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2}
ADAM = {
    "loss": {"kind": "quadratic", "a": [1, 10], "b": [1, -2], "c": 0},
    "w0": [5, 5],
    "schedule": 0.05,
    "optimizer": {"kind": "torch.Adam"},
    "dtype": "float64",
    "record": {"state": True},
}


@dataclass(frozen=True)
class Encoding:
    """One table in one format: size, and the medians (ms) of encoding and of decoding it."""

    table: str
    format: str
    rows: int
    values: int
    bytes: int
    encode_ms: float
    decode_ms: float | None
    encode_samples_ns: list[int]


def sweep_tables() -> tuple[dict[str, dict[str, npt.NDArray[Any]]], Callable[[], object]]:
    """The sweep's rows, step-major, as the two tables; and the engine call that computes them."""
    rates = np.linspace(1e-4, 1.2, SGD_RUNS).astype(np.float32)
    problem = sgd_problem(rates, SGD_STEPS)
    chunks = engine_trace(problem)
    step = np.concatenate([c.step for c in chunks])
    matrices = {name: np.concatenate([getattr(c, name) for c in chunks]) for name in ("w", "loss", "lr", "grad")}
    matrices = {name: values.reshape(step.size, -1) for name, values in matrices.items()}
    tables = {"sweep.w": {"step": step, "w": matrices["w"]}, "sweep.trace": {"step": step, **matrices}}
    return tables, lambda: engine_trace(problem)


def run_trace(spec: dict[str, Any], steps: int) -> tuple[Trace, bool]:
    """A real run through the service's adapter and the engine; whether its w is a scalar."""
    run_spec = RunSpec.model_validate({**spec, "steps": steps})
    return run_one(build_problem(run_spec.normalised())).trace, not isinstance(run_spec.w0, list)


def time_formats(
    table: str, columns: dict[str, npt.NDArray[Any]], json_body: Any, csv_of: Callable[[], str] | None, repeats: int
) -> list[Encoding]:
    """Encode (and decode) one table in each format; check that Arrow gives back the same bits."""
    rows = int(next(iter(columns.values())).shape[0])
    values = sum(int(v.size) for v in columns.values())
    arrow = arrow_stream(columns)
    back = pa.ipc.open_stream(arrow).read_all()
    for name, column in columns.items():
        got = back.column(name).combine_chunks()
        flat = got.values.to_numpy() if column.ndim == 2 else got.to_numpy()
        if not np.array_equal(flat.view(np.uint8), np.ascontiguousarray(column).reshape(-1).view(np.uint8)):
            raise SystemExit(f"{table}: column {name} did not round-trip through Arrow bit for bit")
    encoded = orjson.dumps(json_body, option=JSON_OPTIONS)
    cases: list[tuple[str, Callable[[], object], bytes | str, Callable[[], object] | None]] = [
        ("json", lambda: orjson.dumps(json_body, option=JSON_OPTIONS), encoded, lambda: orjson.loads(encoded)),
        ("arrow", lambda: arrow_stream(columns), arrow, lambda: pa.ipc.open_stream(arrow).read_all()),
    ]
    if csv_of is not None:
        text = csv_of()
        cases.append(("csv", csv_of, text, lambda: list(csv.reader(io.StringIO(text)))))
    out = []
    for name, encode, body, decode in cases:
        size = len(body.encode()) if isinstance(body, str) else len(body)
        timing = measure(f"{table}:{name}", 1, 1, encode, repeats, 1, "")
        decoded = None if decode is None else measure("decode", 1, 1, decode, repeats, 1, "").median_ns / 1e6
        out.append(Encoding(table, name, rows, values, size, timing.median_ns / 1e6, decoded, timing.samples_ns))
        print(f"  {table} {name}: {timing.median_ns / 1e6:.1f} ms, {size:,} bytes", flush=True)
    return out


def csv_writer(trace: Trace, scalar: bool) -> Callable[[], str]:
    return lambda: csv_text(trace, scalar)


def run(repeats: int) -> dict[str, Any]:
    tables, compute = sweep_tables()
    computed = measure("sweep.compute:engine", SGD_RUNS, SGD_STEPS, compute, repeats, 1, "")
    encodings: list[Encoding] = []
    for name, columns in tables.items():
        encodings += time_formats(name, columns, columns, None, repeats)
    del tables
    for name, spec, steps in (
        ("run.course_40", COURSE, 40),
        ("run.course_100000", COURSE, 100_000),
        ("run.adam_f64_state_10000", ADAM, 10_000),
    ):
        trace, scalar = run_trace(spec, steps)
        columns = trace_columns(trace, scalar)
        body = trace_document(trace, scalar)
        encodings += time_formats(name, columns, body, csv_writer(trace, scalar), repeats)
    by = {(e.table, e.format): e for e in encodings}
    ratios = {
        f"{table}: json / arrow": {
            "encode": by[(table, "json")].encode_ms / by[(table, "arrow")].encode_ms,
            "bytes": by[(table, "json")].bytes / by[(table, "arrow")].bytes,
        }
        for table in dict.fromkeys(e.table for e in encodings)
    }
    compute_ms = computed.median_ns / 1e6
    for table in ("sweep.w", "sweep.trace"):
        for fmt in ("json", "arrow"):
            ratios[f"{table}: {fmt} encode / engine compute"] = {"encode": by[(table, fmt)].encode_ms / compute_ms}
    return {
        "benchmark": "trace_formats",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(None, None), "orjson": orjson.__version__, "pyarrow": pa.__version__},
        "repeats": repeats,
        "engine_compute_ms": compute_ms,
        "encodings": [asdict(e) for e in encodings],
        "ratios": ratios,
    }


def table(document: dict[str, Any]) -> str:
    header = f"{'table':<28}{'format':>7}{'rows':>9}{'values':>12}{'bytes':>14}{'encode ms':>11}{'decode ms':>11}"
    lines = [header, "-" * len(header)]
    for e in document["encodings"]:
        decode = "" if e["decode_ms"] is None else f"{e['decode_ms']:.2f}"
        lines.append(
            f"{e['table']:<28}{e['format']:>7}{e['rows']:>9,}{e['values']:>12,}{e['bytes']:>14,}"
            f"{e['encode_ms']:>11.2f}{decode:>11}"
        )
    lines += ["", f"engine computing the sweep (rows kept): {document['engine_compute_ms']:.1f} ms", ""]
    lines += [
        f"{name:<48}" + "  ".join(f"{k} {v:.1f}x" for k, v in r.items()) for name, r in document["ratios"].items()
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trace_formats", description="JSON against Arrow for traces.")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (default 5)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    document = run(args.repeats)
    publish(table(document), document, args.output)


if __name__ == "__main__":
    main()
