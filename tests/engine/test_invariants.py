"""Invariants every schedule and every optimizer keeps, whatever its library: each stated once, for every kind in
the registries (`schedules.SCHEDULES`, `optimizers.OPTIMIZERS`).

The parameters come from the golden fixtures (tests/golden/fixtures): every case there was run through the real
library, so its spec is valid and means something. A schedule kind's examples are the distinct schedules of all the
cases (a bare-number rate is the `constant` kind); an optimizer kind's are the cases that ran the library's
optimizer (those with `w`). Hypothesis varies them (`schedule_variant`, `optimizer_variant`): a few parameters take
the value the same parameter has in another golden case of the kind, or a nearby number, and only specs the API and
the engine accept are kept. The libraries' own numbers are checked by tests/golden; what each library does at its
corners, by the per-library files under tests/engine/schedules and tests/engine/optimizers.

Schedules:
- rates have the library's precision and one column per parameter set;
- the rate of a step depends on the step alone: a chunk in pieces, or steps in any order, give one evaluation's rates;
- no floating-point error up to the last step a schedule allows (where the library raises, the horizon ends first);
- a batch of parameter sets (one per run, as a sweep builds it) gives each run exactly its rates alone.

Optimizers:
- `update` writes only `out`, and the state it records is shaped like the weights;
- a batch of runs with their own hyperparameters and starts gives each run exactly its trace alone;
- with a zero gradient no optimizer moves (weight decay aside);
- every optimizer converges on a quadratic at the rate of its golden cases.

Where the engine breaks an invariant, the case is a strict xfail (FLOATING_POINT_FAILURES, KNOWN_BATCH_FAILURES).
"""

import copy
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.engine import optimizers, schedules
from service.engine.arrays import Array, IntArray
from service.engine.errors import ParameterError
from service.engine.loop import Problem, iterate
from service.errors import InvalidSpec
from service.specs.build import build_problem
from service.specs.run import RunSpec
from tests.golden.fidelity import fixtures

F32: np.dtype[np.floating] = np.dtype(np.float32)
F64: np.dtype[np.floating] = np.dtype(np.float64)
DTYPES = (F32, F64)
LAST_STEP = 2**31 - 1
"""The largest step a run can have (the API's int32 step counter)."""

Document = dict[str, Any]
Path = tuple[str | int, ...]
Table = dict[str, list["Example"]]


# ----------------------------------------------------------------------------------------------------------------
# Examples: the golden cases, by kind


@dataclass(frozen=True, eq=False)
class Example:
    """A golden case: a run spec (normalised: defaults filled in, a bare-number rate written as `constant`) that
    was run through the real library."""

    name: str
    document: Document
    full_run: bool
    """The library ran the optimizer too (the case records `w`), not only the schedule."""

    def __repr__(self) -> str:
        return self.name

    def run(self, dtype: np.dtype[np.floating], **changes: Any) -> RunSpec:
        """The case as a run spec in `dtype`, with parts of it replaced."""
        return RunSpec.model_validate({**self.document, "dtype": dtype.name, **changes})


def golden_examples() -> list[Example]:
    return [
        Example(
            f"{fixture['kind']}/{case['name']}",
            RunSpec.model_validate_json(json.dumps(case["spec"])).normalised(),
            "w" in case,
        )
        for fixture in fixtures()
        for case in fixture["cases"]
    ]


def by_kind(examples: Sequence[Example], part: str, same: Callable[[Example], object]) -> Table:
    """The examples by the kind of their `part`, one per distinct `same(example)`."""
    distinct: dict[str, dict[str, Example]] = {}
    for example in examples:
        key = json.dumps(same(example), sort_keys=True)
        distinct.setdefault(example.document[part]["kind"], {}).setdefault(key, example)
    return {kind: list(found.values()) for kind, found in sorted(distinct.items())}


EXAMPLES = golden_examples()
SCHEDULE_EXAMPLES = by_kind(EXAMPLES, "schedule", lambda e: e.document["schedule"])  # every test picks its dtypes
OPTIMIZER_EXAMPLES = by_kind(
    [e for e in EXAMPLES if e.full_run], "optimizer", lambda e: {**e.document, "name": None, "steps": None}
)
SCHEDULE_KINDS = sorted(schedules.SCHEDULES)
OPTIMIZER_KINDS = sorted(optimizers.OPTIMIZERS)


def examples_of(table: Table, kind: str) -> list[Example]:
    if not table.get(kind):
        pytest.fail(
            f"{kind} has no golden case: add cases for it to tests/golden (gen_schedules.py or gen_optimizers.py) "
            "and regenerate the fixtures, so that every invariant is checked for it with parameters the library ran"
        )
    return table[kind]


@pytest.mark.parametrize(
    ("registry", "table"),
    [(schedules.SCHEDULES, SCHEDULE_EXAMPLES), (optimizers.OPTIMIZERS, OPTIMIZER_EXAMPLES)],
    ids=["schedules", "optimizers"],
)
def test_every_registered_kind_has_a_golden_example(registry: Mapping[str, object], table: Table) -> None:
    """The invariants below are parametrised over the registries; each kind needs golden cases to draw from."""
    assert without_examples(registry, table) == []
    assert sorted(set(table) - set(registry)) == [], "golden cases of kinds that are not registered"


def without_examples(registry: Mapping[str, object], table: Table) -> list[str]:
    return sorted(set(registry) - set(table))


def test_a_new_kind_without_golden_cases_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind registered without golden cases is reported, and every invariant parametrised with it fails."""
    monkeypatch.setitem(schedules.SCHEDULES, "tf1.new_decay", schedules.constant)
    assert without_examples(schedules.SCHEDULES, SCHEDULE_EXAMPLES) == ["tf1.new_decay"]
    with pytest.raises(pytest.fail.Exception, match=r"tf1\.new_decay has no golden case"):
        examples_of(SCHEDULE_EXAMPLES, "tf1.new_decay")


# ----------------------------------------------------------------------------------------------------------------
# Parameters: paths into a spec, and the values they take in the golden cases


def leaves(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every parameter value of a spec with its path; `kind` tags are structure, not parameters."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "kind":
                yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path, node


def real_valued(document: Document) -> list[Path]:
    """The parameters a sweep may vary: real numbers (as `service.specs.build` decides: whole numbers such as step
    counts change the loop itself)."""
    return [path for path, value in leaves(document) if isinstance(value, float)]


def put(document: Document, path: Path, value: Any) -> Document:
    """A copy of `document` with `value` at `path`."""
    changed = copy.deepcopy(document)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def value_at(document: Document, path: Path) -> Any:
    node: Any = document
    for part in path:
        node = node[part]
    return node


def pools(table: Table, part: str) -> dict[str, dict[Path, list[Any]]]:
    """Per kind and parameter path, every value the golden cases give it."""
    found: dict[str, dict[Path, list[Any]]] = {}
    for kind, examples in table.items():
        for example in examples:
            for path, value in leaves(example.document[part]):
                values = found.setdefault(kind, {}).setdefault(path, [])
                if not any(same(value, other) for other in values):
                    values.append(value)
    return found


def same(value: Any, other: Any) -> bool:
    """Equal and of the same type (1, 1.0 and True are different parameter values)."""
    return type(value) is type(other) and value == other


SCHEDULE_POOLS = pools(SCHEDULE_EXAMPLES, "schedule")
OPTIMIZER_POOLS = pools(OPTIMIZER_EXAMPLES, "optimizer")


def nearby(value: Any, pool: Sequence[Any]) -> st.SearchStrategy[Any]:
    """Another value for a parameter: one it has in another golden case, or (numbers) a nearby one."""
    others = [other for other in pool if not same(other, value)]
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(others)] if others else []
    if isinstance(value, float):
        options += [st.floats(0.5, 1.0).map(lambda factor: value * factor), st.just(0.0)]
    elif isinstance(value, int) and not isinstance(value, bool):
        options.append(st.integers(2 * min(value, 0), 2 * max(value, 0) + 1))
    return st.one_of(options) if options else st.just(value)


def varied(
    data: st.DataObject, document: Document, pool: Mapping[Path, Sequence[Any]], paths: Sequence[Path]
) -> Document:
    """`document` with up to three of `paths` given another value (none: the golden case itself)."""
    changed = data.draw(st.sets(st.sampled_from(paths), max_size=3)) if paths else set()
    for path in sorted(changed, key=repr):
        document = put(document, path, data.draw(nearby(value_at(document, path), pool.get(path, []))))
    return document


def accepted_schedule(example: Example, document: Document, dtype: np.dtype[np.floating]) -> bool:
    """Whether the API and the engine accept this schedule in the example's run."""
    try:
        example.run(dtype, schedule=document)
        schedules.build(document, dtype)
    except (ValidationError, ParameterError):
        return False
    return True


def accepted_optimizer(example: Example, document: Document, dtype: np.dtype[np.floating]) -> Problem | None:
    """The example's run with this optimizer, or None if the API or the engine refuses it."""
    try:
        return build_problem(example.run(dtype, optimizer=document).normalised())
    except (ValidationError, InvalidSpec):
        return None


def schedule_variant(data: st.DataObject, kind: str, dtype: np.dtype[np.floating]) -> tuple[Example, Document]:
    """A golden schedule of the kind, a few of its parameters varied."""
    example = data.draw(st.sampled_from(examples_of(SCHEDULE_EXAMPLES, kind)))
    original = example.document["schedule"]
    document = varied(data, original, SCHEDULE_POOLS.get(kind, {}), [path for path, _ in leaves(original)])
    assume(accepted_schedule(example, document, dtype))
    return example, document


def optimizer_variant(
    data: st.DataObject, kind: str, dtype: np.dtype[np.floating]
) -> tuple[Example, Document, Problem]:
    """A golden run of the optimizer kind, a few of the optimizer's parameters varied."""
    example = data.draw(st.sampled_from(examples_of(OPTIMIZER_EXAMPLES, kind)))
    original = example.document["optimizer"]
    document = varied(data, original, OPTIMIZER_POOLS.get(kind, {}), [path for path, _ in leaves(original)])
    problem = accepted_optimizer(example, document, dtype)
    assume(problem is not None)
    assert problem is not None
    return example, document, problem


def batched(document: Document, runs: Sequence[Document], paths: Sequence[Path]) -> Document:
    """One spec for all `runs` (which differ only at `paths`): each of those parameters becomes the list of the
    runs' values, as a sweep writes it."""
    for path in paths:
        document = put(document, path, [value_at(run, path) for run in runs])
    return document


def run_values(
    data: st.DataObject, base: Document, pool: Mapping[Path, Sequence[Any]], paths: Sequence[Path], runs: int
) -> list[Document]:
    """`runs` specs: the base, then the base with other real values at `paths` (each drawn on its own)."""
    documents = [base]
    for _ in range(runs - 1):
        document = base
        for path in paths:
            reals = [value for value in pool.get(path, []) if isinstance(value, float)]
            document = put(document, path, data.draw(nearby(value_at(base, path), reals)))
        documents.append(document)
    return documents


# ----------------------------------------------------------------------------------------------------------------
# Schedules


def library(kind: str) -> str:
    return kind.split(".")[0] if "." in kind else "all"


PRECISION: dict[str, Callable[[np.dtype[np.floating]], set[np.dtype[np.floating]]]] = {
    "tf1": lambda run: {F32},  # Python floats become float32 tensors, whatever the variables' dtype
    "keras": lambda run: {F32},
    "torch": lambda run: {F64},  # Python doubles
    "optax": lambda run: {F32} if run == F32 else {F32, F64},  # an int32 count divided stays float32 under x64
    "all": lambda run: {run},
}
"""The dtypes a library's schedule computes in, for a run's dtype (the loop casts to the run's dtype)."""


def horizon(schedule: schedules.Schedule) -> int:
    """The last step the schedule may be evaluated at."""
    if isinstance(schedule, schedules.Bounded) and schedule.max_steps is not None:
        return min(schedule.max_steps, LAST_STEP)
    return LAST_STEP


def plateau_rates(schedule: schedules.ReadsLoss, losses: Array) -> Array:
    """The rates a schedule that reads the loss gives, row by row, for losses shaped (T, R): (T + 1, R)."""
    state = schedule.start(losses.shape[1])
    seen = [schedule.rate(state).copy()]
    for row in losses:
        schedule.observe(state, row)
        seen.append(schedule.rate(state).copy())
    return np.stack(seen)


def assert_same_rates(ours: Array, expected: Array, to_an_ulp: bool) -> None:
    """Bit for bit, or `to_an_ulp` for float64 rates that NumPy computes with `power` or `cos` in more than one way:
    its float64 functions take a SIMD path (AVX-512) for some operand shapes and strides and the scalar libm one for
    others, so the same rate can come out an ulp apart from two evaluations. The project's float32 functions
    (schedules/libm.py: TF1, Keras, Optax in float32) have no such paths. tests/golden holds float64 to 1e-12."""
    if to_an_ulp and ours.dtype == F64:
        np.testing.assert_allclose(ours, expected, rtol=4e-16, atol=0)
    else:
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("kind", SCHEDULE_KINDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_rates_have_the_library_precision_and_one_column(kind: str, dtype: np.dtype[np.floating]) -> None:
    """Rates (n, 1) in the library's precision for every golden schedule of the kind, in both run dtypes; momentum
    that a schedule cycles (torch) is float64 like its rates, and the rate of a schedule that reads the loss is
    (R,) float64."""
    for example in examples_of(SCHEDULE_EXAMPLES, kind):
        schedule = schedules.build(example.document["schedule"], dtype)
        if isinstance(schedule, schedules.ReadsLoss):
            rates = plateau_rates(schedule, np.ones((3, 4), dtype))
            assert rates.dtype == F64
            assert rates.shape == (4, 4)
            continue
        rates = schedule(np.arange(7, dtype=np.int64))
        assert rates.dtype in PRECISION[library(kind)](dtype), example
        assert rates.shape == (7, 1), example
        if isinstance(schedule, schedules.CyclesMomentum):
            momentum = schedule.momentum(np.arange(7, dtype=np.int64))
            assert momentum.dtype == F64
            assert momentum.shape == (7, 1)


@pytest.mark.parametrize("kind", SCHEDULE_KINDS)
@settings(max_examples=20)
@given(data=st.data())
def test_rates_depend_on_the_step_alone(kind: str, data: st.DataObject) -> None:
    """Steps evaluated in one chunk, in pieces (as the loop's chunks cut a run), or picked in any order with
    repeats, give each step the same rate and momentum, anywhere up to the schedule's last step. A schedule that
    reads the loss cannot be evaluated by step at all, and says so."""
    dtype = data.draw(st.sampled_from(DTYPES))
    _, document = schedule_variant(data, kind, dtype)
    schedule = schedules.build(document, dtype)
    if isinstance(schedule, schedules.ReadsLoss):
        with pytest.raises(TypeError, match="reads the loss"):
            schedule(np.arange(3, dtype=np.int64))
        return
    last = horizon(schedule)
    length = data.draw(st.integers(1, min(240, last + 1)))
    start = data.draw(st.just(0) | st.integers(0, last + 1 - length))
    steps = np.arange(start, start + length, dtype=np.int64)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, length - 1)), max_size=4)))) if length > 1 else []
    picks = data.draw(st.lists(st.integers(0, length - 1), min_size=1, max_size=20))
    evaluations: list[Callable[[IntArray], Array]] = [schedule]
    if isinstance(schedule, schedules.CyclesMomentum):
        evaluations.append(schedule.momentum)
    with np.errstate(all="ignore"):  # as in the loop (floating-point errors have their own test)
        for evaluate in evaluations:
            whole = evaluate(steps)
            pieces = [evaluate(steps[a:b]) for a, b in itertools.pairwise([0, *cuts, length])]
            # torch's float64 rates: MultiStepLR's gamma ** count for one step differs from the same step in a chunk
            assert_same_rates(np.concatenate(pieces), whole, to_an_ulp=library(kind) == "torch")
            assert_same_rates(evaluate(steps[picks]), whole[picks], to_an_ulp=library(kind) == "torch")


FLOATING_POINT_FAILURES: dict[str, str] = {}
"""Golden schedules that meet a floating-point error before their last step (strict xfails below)."""


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(
            example,
            id=example.name,
            marks=[
                pytest.mark.xfail(strict=True, raises=FloatingPointError, reason=FLOATING_POINT_FAILURES[example.name])
            ]
            if example.name in FLOATING_POINT_FAILURES
            else [],
        )
        for kind in SCHEDULE_KINDS
        for example in SCHEDULE_EXAMPLES.get(kind, [])
    ],
)
def test_schedules_meet_no_floating_point_error_up_to_their_last_step(example: Example) -> None:
    """Every golden schedule, in both dtypes, at its first 300 steps and its last 300 (its horizon, or the int32
    step counter's end) raises no overflow, invalid operation or division by zero. Where a library computes inf or
    NaN silently (TensorFlow, JAX) the engine does so deliberately (`np.errstate`); where a library raises (torch's
    Python floats), the schedule's horizon must end first, so that the API refuses such a run."""
    for dtype in DTYPES:
        schedule = schedules.build(example.document["schedule"], dtype)
        if isinstance(schedule, schedules.ReadsLoss):
            falling, rising = np.linspace(1, 0, 300, dtype=dtype), np.linspace(0, 1, 300, dtype=dtype)
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                plateau_rates(schedule, np.stack([falling, rising], axis=1))
            continue
        last = horizon(schedule)
        for steps in (np.arange(min(last, 299) + 1), np.arange(max(0, last - 299), last + 1)):
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                schedule(steps)
                if isinstance(schedule, schedules.CyclesMomentum):
                    schedule.momentum(steps)


@dataclass(frozen=True)
class KnownFailure:
    """A batch of schedules the engine gets wrong: its general property skips such batches (`applies`), and a
    strict xfail (from the golden case `example`, with `values` per run) shows it, so that a fix turns it into an
    XPASS."""

    kind: str
    applies: Callable[[str, Sequence[Document], Sequence[Path], np.dtype[np.floating]], bool]
    example: str
    values: dict[Path, list[float]]
    dtype: np.dtype[np.floating]
    error: type[BaseException]
    reason: str


def varies_under(name: str, kinds: set[str]) -> Callable[[str, Sequence[Document], Sequence[Path], Any], bool]:
    """The batch gives one of `kinds` its own values of a parameter under `name`."""
    return lambda kind, runs, paths, dtype: kind in kinds and any(path[0] == name for path in paths)


def zero_rate_among_others(kind: str, runs: Sequence[Document], paths: Sequence[Path], dtype: Any) -> bool:
    """A float64 batch of optax.exponential_decay (alone, or a child of join_schedules) where some run, but not
    every one, has decay_rate 0. (warmup_exponential_decay_schedule is float32 either way.)"""
    rates = [[value_at(run, path) for run in runs] for path in paths if path[-1] == "decay_rate"]
    exponential = kind in {"optax.exponential_decay", "optax.join_schedules"}
    return exponential and dtype == F64 and any(0.0 in r and any(r) for r in rates)


KNOWN_BATCH_FAILURES: list[KnownFailure] = []
"""Batches the engine gets wrong today (strict xfails below); none is known."""

FIXED_BATCH_FAILURES = [
    KnownFailure(
        "tf1.piecewise_constant",
        varies_under("values", {"tf1.piecewise_constant"}),
        "tf1.piecewise_constant/boundary_in_lower_segment",
        {("values", 1): [0.05, 0.02]},
        F32,
        ValueError,
        "values cannot be given per run (NumPy ValueError: an inhomogeneous list, or rates shaped (n, 1, R) when "
        "every value is a list), though the API accepts a sweep of schedule.values.N",
    ),
    KnownFailure(
        "keras.PiecewiseConstantDecay",
        varies_under("values", {"keras.PiecewiseConstantDecay"}),
        "keras.PiecewiseConstantDecay/boundary_in_lower_segment",
        {("values", 1): [0.05, 0.02]},
        F32,
        ValueError,
        "values cannot be given per run (NumPy ValueError), though the API accepts a sweep of schedule.values.N",
    ),
    KnownFailure(
        "optax.linear_onecycle_schedule",
        varies_under("pct_start", {"optax.linear_onecycle_schedule"}),
        "optax.linear_onecycle_schedule/t_100_past_end",
        {("pct_start",): [0.3, 0.2]},
        F32,
        TypeError,
        "pct_start cannot be given per run (int() of a list: TypeError), though the API accepts a sweep of it",
    ),
    KnownFailure(
        "optax.linear_onecycle_schedule",
        varies_under("pct_final", {"optax.linear_onecycle_schedule"}),
        "optax.linear_onecycle_schedule/t_100_past_end",
        {("pct_final",): [0.85, 0.9]},
        F32,
        TypeError,
        "pct_final cannot be given per run (int() of a list: TypeError), though the API accepts a sweep of it",
    ),
    KnownFailure(
        "optax.cosine_onecycle_schedule",
        varies_under("pct_start", {"optax.cosine_onecycle_schedule"}),
        "optax.cosine_onecycle_schedule/t_100_past_end",
        {("pct_start",): [0.3, 0.2]},
        F32,
        TypeError,
        "pct_start cannot be given per run (int() of a list: TypeError), though the API accepts a sweep of it",
    ),
    KnownFailure(
        "optax.exponential_decay",
        zero_rate_among_others,
        "optax.exponential_decay/staircase_7_f64",
        {("decay_rate",): [0.9, 0.0]},
        F64,
        AssertionError,
        "in a float64 batch a run with decay_rate 0 gets init_value rounded to float32, where alone it is optax's "
        "constant, a float64 Python number (also inside join_schedules)",
    ),
    KnownFailure(
        "optax.join_schedules",
        zero_rate_among_others,
        "optax.join_schedules/three_children",
        {("schedules", 0, "decay_rate"): [0.5, 0.0]},
        F64,
        AssertionError,
        "the zero-rate run's constant is a weak float64 and stays so beside the weak cosine and piecewise children, "
        "while the other run's float32 decay rounds them to float32",
    ),
    KnownFailure(
        "optax.join_schedules",
        zero_rate_among_others,
        "optax.join_schedules/warmup_then_exponential_f64",
        {("schedules", 1, "decay_rate"): [0.7, 0.0]},
        F64,
        AssertionError,
        "behind a float32 linear warmup even the zero-rate run's constant is float32",
    ),
]
"""Batches the engine once got wrong (each with the error it raised and why): they must pass now."""


def check_batch(
    kind: str,
    documents: Sequence[Document],
    paths: Sequence[Path],
    dtype: np.dtype[np.floating],
    start: int = 0,
    losses: Array | None = None,
) -> None:
    """The batch of `documents` (which differ at `paths`) against each document alone: rates from `start` on (or
    from `losses` for a schedule that reads the loss) and cycled momentum."""
    runs = len(documents)
    alone = [schedules.build(document, dtype) for document in documents]
    together = schedules.build(batched(documents[0], documents, paths), dtype)
    if isinstance(together, schedules.ReadsLoss):
        losses = np.ones((3, runs), dtype) if losses is None else losses
        rates = plateau_rates(together, losses)
        for run, schedule in enumerate(alone):
            assert isinstance(schedule, schedules.ReadsLoss)
            np.testing.assert_array_equal(rates[:, run], plateau_rates(schedule, losses[:, run : run + 1])[:, 0])
        return
    last = min(horizon(schedule) for schedule in [together, *alone])
    length = min(200, last + 1)
    steps = np.arange(min(start, last + 1 - length), min(start, last + 1 - length) + length, dtype=np.int64)
    # torch's float64 rates (PolynomialLR, and SequentialLR or ChainedScheduler around it, batched), and Optax's
    # float64 ones when an exponent is given per run (cosine_decay_schedule's `exponent` as an array)
    to_an_ulp = library(kind) == "torch" or (
        library(kind) == "optax" and any(path[-1] in {"exponent", "power"} for path in paths)
    )
    with np.errstate(all="ignore"):  # as in the loop
        values = together(steps)
        assert values.shape in {(length, runs if paths else 1), (length, 1)}  # one column if the values go unused
        for run, schedule in enumerate(alone):
            assert_same_rates(np.broadcast_to(values, (length, runs))[:, run], schedule(steps)[:, 0], to_an_ulp)
        if isinstance(together, schedules.CyclesMomentum):
            momentum = np.broadcast_to(together.momentum(steps), (length, runs))
            for run, schedule in enumerate(alone):
                assert isinstance(schedule, schedules.CyclesMomentum)
                np.testing.assert_array_equal(momentum[:, run], schedule.momentum(steps)[:, 0])


@pytest.mark.parametrize("kind", SCHEDULE_KINDS)
@settings(max_examples=20)
@given(data=st.data())
def test_batched_parameters_equal_separate_schedules(kind: str, data: st.DataObject) -> None:
    """Real-valued parameters given one value per run (lists, as a sweep builds them) give rates (n, R) whose column
    r is run r's schedule alone, and so for cycled momentum and for rates that follow the loss (each run its own
    losses). Batches in KNOWN_BATCH_FAILURES are left to their strict xfails."""
    dtype = data.draw(st.sampled_from(DTYPES))
    example, base = schedule_variant(data, kind, dtype)
    candidates = real_valued(base)
    paths = sorted(data.draw(st.sets(st.sampled_from(candidates))) if candidates else set(), key=repr)
    runs = data.draw(st.integers(1, 4))
    documents = run_values(data, base, SCHEDULE_POOLS.get(kind, {}), paths, runs)
    assume(all(accepted_schedule(example, document, dtype) for document in documents))
    assume(not any(failure.applies(kind, documents, paths, dtype) for failure in KNOWN_BATCH_FAILURES))
    losses = None
    if isinstance(schedules.build(base, dtype), schedules.ReadsLoss):
        row = st.lists(st.floats(0, 10, width=32), min_size=runs, max_size=runs)
        losses = np.array(data.draw(st.lists(row, max_size=40)), dtype).reshape(-1, runs)
    check_batch(kind, documents, paths, dtype, data.draw(st.just(0) | st.integers(0, LAST_STEP)), losses)


def named(name: str) -> Example:
    (example,) = [example for example in EXAMPLES if example.name == name]
    return example


@pytest.mark.parametrize(
    "failure",
    [
        *(
            pytest.param(
                failure,
                id=f"{failure.kind}-{'.'.join(map(str, next(iter(failure.values))))}",
                marks=pytest.mark.xfail(strict=True, raises=failure.error, reason=failure.reason),
            )
            for failure in KNOWN_BATCH_FAILURES
        ),
        *(
            pytest.param(failure, id=f"fixed-{failure.kind}-{'.'.join(map(str, next(iter(failure.values))))}")
            for failure in FIXED_BATCH_FAILURES
        ),
    ],
)
def test_known_batches_the_engine_gets_wrong(failure: KnownFailure) -> None:
    """Each known failure of the batching property, from its golden case (see KNOWN_BATCH_FAILURES), and each one
    fixed since, which must pass (FIXED_BATCH_FAILURES)."""
    base = named(failure.example).document["schedule"]
    assert base["kind"] == failure.kind
    paths = list(failure.values)
    documents = []
    for run in range(len(next(iter(failure.values.values())))):
        document = base
        for path, values in failure.values.items():
            document = put(document, path, values[run])
        documents.append(document)
    assert failure.applies(failure.kind, documents, paths, failure.dtype)
    check_batch(failure.kind, documents, paths, failure.dtype)


# ----------------------------------------------------------------------------------------------------------------
# Optimizers


def traces(problem: Problem) -> list[dict[str, Array]]:
    """Every row of every run, each run's own rows only: w, its gradient, the rate and the optimizer's state (by
    the library's names)."""
    chunks = list(iterate(replace(problem, record_state=True)))
    runs = []
    for run in range(problem.w0.shape[0]):
        rows = [(chunk, int(chunk.rows[run])) for chunk in chunks]
        trace = {
            "w": np.concatenate([chunk.w[:n, run] for chunk, n in rows]),
            "grad": np.concatenate([chunk.grad[:n, run] for chunk, n in rows]),
            "lr": np.concatenate([chunk.lr[:n, run] for chunk, n in rows]),
        }
        for name in chunks[0].state:
            trace[f"state.{name}"] = np.concatenate([chunk.state[name][:n, run] for chunk, n in rows])
        runs.append(trace)
    return runs


def starts(dims: int, runs: int) -> st.SearchStrategy[Array]:
    """`runs` starting points in [-10, 10]^dims."""
    point = st.lists(st.floats(-10, 10, width=32), min_size=dims, max_size=dims)
    return st.lists(point, min_size=runs, max_size=runs).map(np.array)


def minimum(spec: RunSpec) -> Array:
    """Where the run's quadratic `a·(w + b)² + c` is smallest: w = −b."""
    document = spec.normalised()
    assert document["loss"]["kind"] == "quadratic", document["loss"]
    return np.broadcast_to(-np.asarray(document["loss"]["b"], spec.dtype), (len(document["w0"]),))


@pytest.mark.parametrize("kind", OPTIMIZER_KINDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_update_writes_only_out_and_the_state_is_shaped_like_w(kind: str, dtype: np.dtype[np.floating]) -> None:
    """`update` leaves w and g alone (the loop records w as the row before the update) and writes `out`; every
    state it records (by the library's names) is shaped (R, D) like w, from `init` on."""
    rng = np.random.default_rng(0)
    for example in examples_of(OPTIMIZER_EXAMPLES, kind):
        optimizer = optimizers.build(example.document["optimizer"], dtype)
        w = rng.uniform(-5, 5, size=(3, 2)).astype(dtype)
        state = optimizer.init(w)
        for _ in range(3):
            assert all(value.shape == w.shape for value in optimizer.slots(state).values()), example
            g, w_before = rng.uniform(-5, 5, size=(3, 2)).astype(dtype), w.copy()
            g_before, out = g.copy(), np.full_like(w, np.nan)
            state = optimizer.update(w, g, np.full((3, 1), 0.1, dtype), state, out)
            np.testing.assert_array_equal(w, w_before)
            np.testing.assert_array_equal(g, g_before)
            assert np.isfinite(out).all(), example
            w = out
        assert all(value.shape == w.shape for value in optimizer.slots(state).values()), example


@pytest.mark.parametrize("kind", OPTIMIZER_KINDS)
@settings(max_examples=15)
@given(data=st.data())
def test_batched_runs_equal_separate_runs(kind: str, data: st.DataObject) -> None:
    """R runs in one batch, each with its own start and its own values of any real-valued hyperparameters (lists,
    as a sweep builds them), under the case's schedule: each run's weights, rates and state are, bit for bit, those
    of the run alone (momentum cycled by a torch schedule and rates cut on a plateau included). A slot that only
    some values create (Keras and torch keep no momentum buffer for momentum 0) is recorded for the whole batch."""
    dtype = data.draw(st.sampled_from(DTYPES))
    example, base, problem = optimizer_variant(data, kind, dtype)
    candidates = real_valued(base)
    paths = sorted(data.draw(st.sets(st.sampled_from(candidates))) if candidates else set(), key=repr)
    runs = data.draw(st.integers(1, 4))
    documents = run_values(data, base, OPTIMIZER_POOLS.get(kind, {}), paths, runs)
    assume(all(accepted_optimizer(example, document, dtype) is not None for document in documents))
    w0 = data.draw(starts(problem.w0.shape[1], runs)).astype(dtype)
    problem = replace(problem, steps=min(problem.steps, 60))
    together = traces(replace(problem, optimizer=optimizers.build(batched(base, documents, paths), dtype), w0=w0))
    for run, document in enumerate(documents):
        (alone,) = traces(replace(problem, optimizer=optimizers.build(document, dtype), w0=w0[run : run + 1]))
        assert alone.keys() <= together[run].keys()  # a slot one run needs is kept for all (Keras' momentum)
        for name, column in alone.items():
            np.testing.assert_array_equal(together[run][name], column, err_msg=f"run {run}, {name}")


def without_weight_decay(document: Document) -> Document:
    return {**document, "weight_decay": 0.0} if document.get("weight_decay") else document


@pytest.mark.parametrize("kind", OPTIMIZER_KINDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_the_minimum_is_a_fixed_point(kind: str, dtype: np.dtype[np.floating]) -> None:
    """Started exactly at the minimum, where every gradient is 0, no optimizer moves w by a bit, whatever its
    state and the case's schedule do (decoupled or coupled weight decay, which pulls towards 0, is set to 0)."""
    for example in examples_of(OPTIMIZER_EXAMPLES, kind):
        at = minimum(example.run(dtype))
        optimizer = without_weight_decay(example.document["optimizer"])
        problem = build_problem(example.run(dtype, optimizer=optimizer, w0=at.tolist()).normalised())
        (trace,) = traces(problem)
        assert len(trace["w"]) == problem.steps + 1, example
        np.testing.assert_array_equal(trace["w"], np.broadcast_to(at, trace["w"].shape), err_msg=example.name)


CONVERGENCE_STEPS = 2000
CONVERGENCE_TOLERANCE = 0.05


def tolerance(example: Example) -> float:
    """0.05; for the Adam family, whose steps stay about as long as the rate whatever the gradient so that they
    hover around the minimum, twice the rate if larger (seen at rate 0.1: torch's NAdam 0.062 away, Keras' Nadam
    with β2 = 0.99 0.088 and, from another start, 0.126 away)."""
    rate = float(example.document["schedule"]["learning_rate"])
    adam_like = "adam" in example.document["optimizer"]["kind"].lower()
    return max(CONVERGENCE_TOLERANCE, 2 * rate) if adam_like else CONVERGENCE_TOLERANCE


def converges(example: Example) -> bool:
    """Golden runs that must end near the minimum after 2000 updates from anywhere in [-10, 10]: a constant rate
    that nothing decays (torch Adagrad's lr_decay does), weight decay of at most 0.01 (more moves the minimum by more
    than the tolerance), and for Adadelta an epsilon of at least 1e-4 (its steps start about lr·√ε long: with the
    defaults 1e-6 to 1e-8 it needs far more updates)."""
    optimizer = example.document["optimizer"]
    epsilon = optimizer.get("epsilon", optimizer.get("eps", 1.0))
    return (
        example.document["schedule"]["kind"] == "constant"
        and (optimizer.get("weight_decay") or 0.0) <= 0.01
        and not optimizer.get("lr_decay")
        and ("adadelta" not in optimizer["kind"].lower() or epsilon >= 1e-4)
    )


@pytest.mark.parametrize("kind", OPTIMIZER_KINDS)
@settings(max_examples=4)
@given(data=st.data())
def test_every_optimizer_converges_on_a_parabola(kind: str, data: st.DataObject) -> None:
    """From 8 starts in [-10, 10] (one batch), 2000 updates at the golden case's rate on its quadratic, moved to a
    minimum anywhere in [-2, 2] per dimension, end within `tolerance` of the minimum in every dimension (weight decay
    up to 0.01 moves it a little)."""
    converging = [example for example in examples_of(OPTIMIZER_EXAMPLES, kind) if converges(example)]
    assert converging, f"{kind} has no golden run that `converges` selects"
    example = data.draw(st.sampled_from(converging))
    dtype = data.draw(st.sampled_from(DTYPES))
    dims = len(example.document["w0"])
    shift = data.draw(st.lists(st.floats(-2, 2), min_size=dims, max_size=dims))
    spec = example.run(dtype, steps=CONVERGENCE_STEPS, loss={**example.document["loss"], "b": shift})
    problem = build_problem(spec.normalised())
    w0 = data.draw(starts(dims, 8)).astype(dtype)
    for trace in traces(replace(problem, w0=w0)):
        assert len(trace["w"]) == CONVERGENCE_STEPS + 1
        np.testing.assert_allclose(trace["w"][-1], minimum(spec), rtol=0, atol=tolerance(example))
