"""How closely each kind matches its library: the comparison, the rule, and the page (`docs/fidelity.md`).

A golden case is a run spec of our API plus what the library computed: the rate of every row and, for full runs,
the weights, the optimizer's state, the momentum each update used and (some cases) the loss of every row.
`compare` computes the same columns with our engine (full runs through the adapter, as the API runs them).

The rule: float32 runs of TF1 and Keras kinds (alone or with library-neutral kinds) match bit for bit; float32 runs
involving torch or Optax within 1e-6, and every float64 run within 1e-12, relative to the magnitude of the column
compared (so that values crossing zero are judged at the scale of the run). Regenerate the page with
`python -m tests.golden.fidelity` after the fixtures or the engine change; a test fails when it is stale.
"""

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.engine import schedules
from service.engine.loop import Problem, iterate
from service.engine.schedules import build as build_schedule
from service.specs.build import build_problem, schedule_document
from service.specs.run import RunSpec

FIXTURES = Path(__file__).parent / "fixtures"
FIDELITY_PAGE = Path(__file__).parents[2] / "docs" / "fidelity.md"
EXACT = 0.0
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}
Columns = dict[str, tuple[npt.NDArray[Any], npt.NDArray[Any]]]
"""name -> (ours, the library's)"""


def fixtures() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]


def tolerance(case: dict[str, Any]) -> float:
    """Bit for bit when only TF1/Keras (or library-neutral) kinds run in float32; otherwise the dtype's tolerance."""
    spec = case["spec"]
    dtype = spec.get("dtype", "float32")
    kinds = [spec.get("optimizer", {"kind": "sgd"})["kind"]]
    if isinstance(spec["schedule"], dict):
        kinds.append(spec["schedule"]["kind"])
    libraries = {k.split(".")[0] for k in kinds if "." in k}
    return EXACT if dtype == "float32" and libraries <= {"tf1", "keras"} else TOLERANCE[dtype]


def compare(case: dict[str, Any]) -> Columns:
    """Our columns beside the library's. Schedule-only cases build just the schedule (their plain `sgd` would be
    refused next to a momentum-cycling torch schedule)."""
    spec = RunSpec.model_validate_json(json.dumps(case["spec"]))
    dtype = np.dtype(spec.dtype)
    steps = np.arange(spec.steps + 1, dtype=np.int64)
    document = spec.normalised()
    schedule = build_schedule(schedule_document(document["schedule"]), dtype)
    columns: Columns = {}
    if "w" in case:
        ours = run(build_problem(document))
        columns["w"] = ours["w"], np.asarray(case["w"], dtype)
        columns["lr"] = ours["lr"], np.asarray(case["lr"], dtype)
        if "loss" in case:  # the loss at every row's w
            columns["loss"] = ours["loss"], np.asarray(case["loss"], dtype)
        for name, values in case.get("state", {}).items():
            if f"state.{name}" not in ours:
                raise AssertionError(f"the optimizer does not record {name}; it records {sorted(ours)}")
            columns[f"state {name}"] = ours[f"state.{name}"], np.asarray(values, dtype)
    else:
        if isinstance(schedule, schedules.ReadsLoss):
            raise AssertionError("a schedule that reads the loss needs a full run")
        columns["lr"] = schedule(steps)[:, 0].astype(dtype), np.asarray(case["lr"], dtype)
    if "momentum" in case:  # the optimizer's momentum (or beta1) that each update used
        library = np.asarray(case["momentum"], dtype)
        if isinstance(schedule, schedules.CyclesMomentum):
            columns["momentum"] = schedule.momentum(steps[: len(library)])[:, 0].astype(dtype), library
        elif (library != library[0]).any():
            raise AssertionError("the library cycled momentum; ours does not")
    return columns


def run(problem: Problem) -> dict[str, npt.NDArray[Any]]:
    """Every row of a single run: w, lr and the optimizer state."""
    chunks = list(iterate(replace(problem, record_state=True)))
    rows = [int(chunk.rows[0]) for chunk in chunks]

    def joined(pick: Any) -> npt.NDArray[Any]:
        return np.concatenate([pick(chunk)[:n, 0] for chunk, n in zip(chunks, rows, strict=True)])

    columns = {"w": joined(lambda c: c.w), "lr": joined(lambda c: c.lr), "loss": joined(lambda c: c.loss)}
    for name in chunks[0].state:
        columns[f"state.{name}"] = joined(lambda c, name=name: c.state[name])
    return columns


def deviations(ours: npt.NDArray[Any], library: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Per value: |ours - library| relative to max(|library value|, the largest finite |value| of the column);
    0 where both are equal (NaN included), inf where only one is finite."""
    if ours.shape != library.shape:
        raise AssertionError(f"shape {ours.shape}, library {library.shape}")
    a, b = ours.astype(np.float64), library.astype(np.float64)
    scale = np.max(np.abs(b[np.isfinite(b)]), initial=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.abs(a - b) / np.maximum(np.abs(b), scale)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, np.nan_to_num(relative, nan=np.inf))


def worst(case: dict[str, Any]) -> float:
    """The largest deviation of any value of the case."""
    return max(float(deviations(ours, library).max(initial=0.0)) for ours, library in compare(case).values())


def table() -> str:
    """The page: every kind with its library, its golden cases, the tolerance each dtype is held to and the largest
    difference measured."""
    lines = [
        "# Fidelity: every kind against its library",
        "",
        "Generated by `python -m tests.golden.fidelity` from the golden fixtures in `tests/golden/fixtures/`, which",
        "`make golden` writes by running the real libraries (`tests/golden/README.md`). `tests/golden/test_golden.py`",
        "holds every case to the tolerance shown, relative to the magnitude of the column compared (w, the rate, the",
        "optimizer's state, torch's cycled momentum). \"measured\" is the largest difference over the kind's cases,",
        "in the same unit; 0 means every value is bit-identical.",
        "",
        "| kind | library | cases | float32 held to | float32 measured | float64 held to | float64 measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for fixture in fixtures():
        held: dict[str, set[float]] = defaultdict(set)
        measured: dict[str, float] = defaultdict(float)
        for case in fixture["cases"]:
            if "stats" in case:
                continue
            dtype = case["spec"].get("dtype", "float32")
            held[dtype].add(tolerance(case))
            measured[dtype] = max(measured[dtype], worst(case))
        kind = fixture["kind"]
        library = kind.split(".")[0] if "." in kind else "all"
        cells = [f"{_rule(held[d])} | {_number(measured[d]) if held[d] else '–'}" for d in ("float32", "float64")]
        lines.append(f"| `{kind}` | {library} | {len(fixture['cases'])} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def _rule(tolerances: set[float]) -> str:
    if not tolerances:
        return "–"
    return "bit for bit" if max(tolerances) == EXACT else f"{max(tolerances):g}"


def _number(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


if __name__ == "__main__":
    FIDELITY_PAGE.parent.mkdir(exist_ok=True)
    FIDELITY_PAGE.write_text(table())
    print(f"wrote {FIDELITY_PAGE}")
