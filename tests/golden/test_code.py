"""The run as code, replayed from `tests/golden/code.json` (written by `tests/golden/code.py`, which ran every
program in the real libraries): each program is still what the generator writes, and what it printed matches the
engine's trace at the fidelity tolerances, column by column, with the CSV download's header."""

import csv
import io
import json
from typing import Any

import numpy as np
import pytest

from service.codegen import plan
from service.codegen.counterparts import LIBRARIES, kinds_without_counterpart, library_of
from service.encodings import csv_text
from service.engine.execute import run_one
from service.specs.build import build_problem
from service.specs.catalog import KIND_MODELS
from service.specs.kinds.base import kind_of
from tests.golden.code import FIXTURE, cases, normalised, program_of
from tests.golden.fidelity import TOLERANCE, deviations, tolerance

pytestmark = pytest.mark.golden

AUTODIFF = {"float32": 1e-5, "float64": 1e-10}
"""Losses other than the quadratic: the library's autodiff gradient and the engine's closed form agree to rounding,
which a run carries along (the quadratic is written in TensorFlow's order and held to the fidelity rule)."""


def recorded() -> list[Any]:
    document = json.loads(FIXTURE.read_text())
    return [pytest.param(entry, id=f"{entry['library']}:{entry['name']}") for entry in document["cases"]]


def engine_csv(entry: dict[str, Any]) -> str:
    """The service's CSV download of the run the program reproduces (its schedule as the library writes it)."""
    document = normalised(entry["spec"])
    written = plan(document, entry["library"], "x")
    document = {**document, "schedule": dict(written.schedule)}
    result = run_one(build_problem(document), int(document["record"]["every"]))
    return csv_text(result.trace, not isinstance(document["w0"], list))


def columns(text: str) -> tuple[list[str], np.ndarray[Any, Any]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array([[float(x) for x in row] for row in rows[1:]])


def rule(entry: dict[str, Any]) -> float:
    document = normalised(entry["spec"])
    written = plan(document, entry["library"], "x")
    held = tolerance({"spec": {**document, "schedule": dict(written.schedule)}})
    if entry["library"] in ("torch", "optax"):  # library-neutral kinds in a torch or JAX program: their arithmetic
        held = max(held, TOLERANCE[document["dtype"]])
    if document["loss"]["kind"] != "quadratic":
        held = max(held, AUTODIFF[document["dtype"]])
    return held


def test_every_kind_with_a_counterpart_runs_in_every_library() -> None:
    """Per library: each of its own schedule and optimizer kinds, and each other library's schedule kind that it has
    a counterpart of, is in at least one recorded program."""
    recorded_kinds: dict[str, set[str]] = {library: set() for library in LIBRARIES}
    for entry in json.loads(FIXTURE.read_text())["cases"]:
        document = normalised(entry["spec"])
        recorded_kinds[entry["library"]] |= {document["schedule"]["kind"], document["optimizer"]["kind"]}
    schedules = [kind_of(model) for model in KIND_MODELS["schedules"]]
    optimizers = [kind_of(model) for model in KIND_MODELS["optimizers"]]
    missing = kinds_without_counterpart(schedules)
    for library in LIBRARIES:
        expected = {k for k in [*schedules, *optimizers] if library_of(k) == library}
        expected |= {k for k in schedules if library_of(k) not in (None, library) and k not in missing[library]}
        assert expected <= recorded_kinds[library], (
            f"{library}: no program for {sorted(expected - recorded_kinds[library])}"
        )


def test_the_table_is_recorded_whole() -> None:
    names = {(c["library"], c["name"]) for c in json.loads(FIXTURE.read_text())["cases"]}
    assert names == {(c["library"], c["name"]) for c in cases()}, "run `make golden` and commit tests/golden/code.json"
    assert len(names) >= 40


@pytest.mark.parametrize("entry", recorded())
def test_program_is_unchanged(entry: dict[str, Any]) -> None:
    assert program_of(entry) == entry["program"], "the generator changed: run `make golden` and commit code.json"


@pytest.mark.parametrize("entry", recorded())
def test_output_matches_the_engine(entry: dict[str, Any]) -> None:
    ours_header, ours = columns(engine_csv(entry))
    header, library = columns(entry["output"])
    assert header == ours_header
    assert library.shape == ours.shape, f"{len(library)} rows printed, the service's trace has {len(ours)}"
    held = rule(entry)
    for index, name in enumerate(header):
        off = deviations(ours[:, index], library[:, index]) > held
        if off.any():
            row = int(np.argmax(off))
            raise AssertionError(
                f"{name}: {off.sum()} of {off.size} values differ (tolerance {held or 'exact'}); first at row {row}: "
                f"service {ours[row, index]!r}, program {library[row, index]!r}"
            )


def test_tolerances_are_the_fidelity_rule() -> None:
    assert set(AUTODIFF) == set(TOLERANCE)
