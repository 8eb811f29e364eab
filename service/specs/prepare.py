"""The edge's one step per job: a validated spec in, its normalised document out, after building the engine
objects once (refusing what the engine refuses) and checking this server's limits. Runs off the event loop."""

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from service.engine.loop import Problem
from service.errors import FieldError, InvalidSpec
from service.limits import Limits
from service.specs import build, cost
from service.specs.landscape import LandscapeSpec
from service.specs.lr_finder import LRFinderSpec
from service.specs.messages import validation_errors
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec


@dataclass(frozen=True)
class Prepared:
    """A job ready to store: its normalised spec `document`, its label, its length in steps (for progress), and
    plain facts about it (`meta`: a sweep's grid shape and axis values)."""

    document: dict[str, Any]
    name: str | None = None
    steps: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    problem: Problem | None = None
    """A run's engine problem, built once (a tiny run is computed from it in the request)."""


def prepare_run(spec: RunSpec, limits: Limits) -> Prepared:
    document = spec.normalised()
    problem = build.build_problem(document)
    build.check_run_limits(document, problem, limits)
    cost.check(cost.run_bytes(document, problem), limits, "run", ["steps"])
    return Prepared(document, spec.name, spec.steps, problem=problem)


def prepare_sweep(spec: SweepSpec, limits: Limits) -> Prepared:
    """Every point is checked as a run would be: each axis's smallest and largest value as a single run (the
    limits of every parameter are ranges), so a value the library refuses is refused on its axis."""
    document = spec.model_dump(mode="json")
    grid = build.sweep_grid(document)
    build.check_sweep_limits(document, grid, limits)
    base = spec.base.normalised()
    errors: list[FieldError] = []
    for index, (path, values) in enumerate(zip(grid.paths, grid.values, strict=True)):
        for value in sorted({float(values.min()), float(values.max())}):
            errors += _corner_errors(base, path, value, index)
    if errors:
        raise InvalidSpec(errors)
    problem = build.build_sweep(document, grid)
    cost.check(cost.sweep_bytes(document, problem), limits, "sweep", ["axes"])
    axes = [{"path": path, "values": values.tolist()} for path, values in zip(grid.paths, grid.values, strict=True)]
    return Prepared(document, spec.name, spec.base.steps, {"shape": list(grid.shape), "axes": axes})


def _corner_errors(base: dict[str, Any], path: str, value: float, index: int) -> list[FieldError]:
    """What a single run with `value` at `path` would be refused for, located on the axis."""
    document = deepcopy(base)
    build.put(document, path, value)
    try:
        build.build_problem(RunSpec.model_validate(document).normalised())
    except ValidationError as exc:
        return [
            (["axes", index, "values"], f"{value:g} at {path}: {msg}", type_)
            for _, msg, type_ in validation_errors(exc.errors())
        ]
    except InvalidSpec as exc:
        return [(["axes", index, "values"], f"{value:g} at {path}: {msg}", type_) for _, msg, type_ in exc.errors]
    return []


def prepare_lr_finder(spec: LRFinderSpec, limits: Limits) -> Prepared:
    document = spec.model_dump(mode="json")
    build.build_range_test(document, limits)
    return Prepared(document, None, spec.num_iter)


def prepare_landscape(spec: LandscapeSpec, limits: Limits) -> Prepared:
    document = spec.model_dump(mode="json")
    job = build.build_landscape(document)
    points = int(np.prod([axis.size for axis in job.axes]))
    estimate = cost.landscape_bytes(points, cost.loss_width(job.loss), job.axes[0].dtype.itemsize)
    cost.check(estimate, limits, "landscape", ["resolution"])
    return Prepared(document)
