"""Schemathesis fuzzes a real server from its own OpenAPI document, with all of Schemathesis's checks on every
operation: no 5xx, no response outside its schema, no accepted invalid input, no refused valid input. Valid input
may still be refused by a rule JSON Schema cannot state (README.md, "Rules the schema cannot state"): for exactly
those refusals, and nothing else, the positive data acceptance check is skipped.

The schema is built eagerly from the same app factory and settings as the server (Schemathesis's lazy
`from_fixture` uses a private pytest attribute that pytest 9 removed).
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import CheckContext, Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.config import Settings
from service.main import create_app
from tests.live import Server

pytestmark = [pytest.mark.fuzz, pytest.mark.live]

KEY = "fuzz-key"
LIMITS = {
    "DESCENT_MAX_STEPS": "2000",
    "DESCENT_MAX_DIMS": "8",
    "DESCENT_MAX_QUEUED_RUNS": "10000",
    "DESCENT_MAX_SWEEP_RUNS": "1000",
    "DESCENT_MAX_SWEEP_WORK": "200000",
    "DESCENT_API_KEYS": KEY,
    "DESCENT_MAX_VIEWS_PER_HOUR": "1000000",
}
DOCUMENT = create_app(
    Settings(
        store_path=":memory:",
        max_steps=2000,
        max_dims=8,
        max_queued_runs=10000,
        max_sweep_runs=1000,
        max_sweep_work=200_000,
        api_keys=[KEY],
    )
).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)

CANNOT_STATE: dict[str, re.Pattern[str]] = {
    # Each rule JSON Schema cannot state (README.md, "Rules the schema cannot state"), as `loc: msg` of its problem.
    # A list's length against w0's (or the bounds'): JSON Schema cannot compare two arrays' lengths.
    "per-dimension values": re.compile(r"loss\.[abc]: \w+ has \d+ values but w0 has \d+ dimensions"),
    "A against w0": re.compile(r"loss\.A: A is \d+×\d+ but w0 has"),
    "bounds against the loss": re.compile(r"^bounds: bounds has \d+ \[lo, hi\] pairs? but loss\.\w+ has"),
    # A square matrix: every row as long as the number of rows.
    "A is square": re.compile(r"loss\.A\.\d+: row \d+ of A has \d+ numbers but A has \d+ rows"),
    # A formula: its grammar and whitelist, and its variables against w0's dimensions (or the bounds').
    "formula": re.compile(r"loss\.formula: "),
    # The trace's size: (steps / record.every) × the numbers per row (w0's dimensions, the optimizer's state).
    "trace size": re.compile(r"record\.every: this run would record [\d,]+ numbers"),
    # A schedule's horizon against steps (OneCycleLR's total_steps, ConstantLR with factor 0, ...).
    "horizon": re.compile(r"(^|\.)steps: steps is \d+ but this schedule allows at most \d+"),
    # Lists whose lengths or order depend on each other: values one longer than boundaries, increasing boundaries
    # and milestones, SequentialLR's milestones and optax's join boundaries one fewer than their schedules.
    "piecewise lengths": re.compile(r"schedule(\.\w+\.\d+)*\.values: The length of boundaries should be 1 less"),
    "increasing boundaries": re.compile(r"\.boundaries\.\d+: boundaries must be increasing"),
    "milestones": re.compile(r"\.milestones: (Sequential Schedulers expects|milestones must be in increasing order)"),
    "join boundaries": re.compile(r"\.boundaries: optax expects one boundary fewer than schedules"),
    # optax: decay_steps (the total length) against warmup_steps; sums and products of steps beyond int32.
    "warmup within decay_steps": re.compile(r"\.decay_steps: .*it must exceed warmup_steps"),
    "optax int32 steps": re.compile(r"(the segment's end \(sum of decay_steps\)|a knot of the cycle) .* beyond int32"),
    # A sweep's axes against its base: the path must name a real-valued parameter there, each value must be one
    # that parameter takes, and the grid (points × steps × dimensions, and max_points × points) fits the limits.
    "axis path": re.compile(r"^axes\.\d+\.path: "),
    "axis values": re.compile(r"^axes\.\d+\.values: \S+ at [\w.]+: "),
    "grid": re.compile(r"^axes: (the grid has [\d,]+ points; this server|[\d,]+ points × [\d,]+ rows × )"),
    "kept traces": re.compile(r"^max_points: keeping [\d,]+ numbers exceeds"),
    # The range test's rates: end_lr above start_lr.
    "end_lr above start_lr": re.compile(r"^end_lr: end_lr must be larger than start_lr"),
    # A landscape's bounds: lo below hi (in the run's dtype).
    "lo below hi": re.compile(r"^bounds\.\d+: lo must be less than hi"),
    # OneCycleLR's phases against its total steps: a phase of 0 steps is torch's division by zero.
    "one-cycle phases": re.compile(r"^schedule\.pct_start: pct_start \S+ with \d+ total steps makes"),
    # A schedule preview: a schedule that reads the loss has no values without a run, and a schedule's horizon
    # against the steps previewed (a preview's `schedules.N` is read as a run's `schedule` for the rules above).
    "preview of a loss-driven schedule": re.compile(r"^schedule\.kind: \S+ decides its rate from the loss"),
    "preview horizon": re.compile(r"^steps: this schedule allows at most \d+ steps"),
    # A saved view holds any JSON object, but only what reads back as sent in a browser (no integer beyond 2**53,
    # no nesting deeper than 32) and no more than DESCENT_MAX_VIEW_BYTES as compact JSON: nested values and a
    # serialised size the schema cannot bound.
    "view integers": re.compile(r"^state(\..*)?: Give an integer within"),
    "view depth": re.compile(r"^state(\..*)?: The view nests deeper than"),
    "view size": re.compile(r"^state: The view is [\d,]+ bytes as compact JSON"),
}


def refused_only_for_rules_the_schema_cannot_state(response: Response) -> bool:
    """A 422 problem whose every error is one of CANNOT_STATE (anywhere, e.g. inside a sweep's base)."""
    if response.status_code != 422:
        return False
    errors = response.json().get("errors") or []
    located = [".".join(str(part) for part in error["loc"]) + ": " + error["msg"] for error in errors]
    return bool(located) and all(
        any(rule.search(re.sub(r"^(base\.|schedules\.\d+)", _as_run, line)) for rule in CANNOT_STATE.values())
        for line in located
    )


def _as_run(prefix: re.Match[str]) -> str:
    """A sweep's `base.` is the run itself; a preview's `schedules.N` is a run's `schedule`."""
    return "" if prefix.group(0) == "base." else "schedule"


def positive_data_acceptance_where_stated(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Schemathesis's positive data acceptance, except for a refusal by rules the schema cannot state."""
    if refused_only_for_rules_the_schema_cannot_state(response):
        return None
    return positive_data_acceptance(ctx, response, case)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("fuzz") / "runs.sqlite3", DESCENT_LOG_LEVEL="warning", **LIMITS)
    yield running
    running.stop()


@schema.parametrize()
@settings(max_examples=60, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: Case[Any], server: Server) -> None:
    """Every check of Schemathesis (`--checks all`) on every operation; positive data acceptance is relaxed for
    exactly the refusals by rules the schema cannot state (CANNOT_STATE), wherever they occur."""
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_acceptance_where_stated],
    )


@pytest.mark.parametrize("batch", [None, 7])
def test_streamed_events_conform_to_their_schema(server: Server, batch: int | None) -> None:
    """Each event of a real stream is validated against the document's `itemSchema` by Schemathesis."""
    auth = {"Authorization": f"Bearer {KEY}"}
    spec: Any = {
        "loss": {"kind": "quadratic", "a": [1, 2], "b": 1, "c": 0},
        "w0": [5, -3],
        "schedule": 0.2,
        "steps": 30,
    }
    query = {} if batch is None else {"batch": batch}
    posted = schema["/v1/runs"]["POST"].Case(body=spec, headers={**auth, "Accept": "text/event-stream"}, query=query)
    response = posted.call_and_validate(base_url=server.url, timeout=60)
    # Schemathesis reads the first events of a stream (a few KiB) and validates each against `itemSchema`;
    # complete streams are checked row by row in tests/api/test_live_runs.py.
    assert response.text.startswith("event: run\n")
    assert ("event: steps\n" in response.text) == (batch is not None)
    run_id = response.headers["location"][0].rsplit("/", 1)[-1]
    replay = schema["/v1/runs/{run_id}/events"]["GET"].Case(
        path_parameters={"run_id": run_id}, headers=auth, query=query
    )
    assert replay.call_and_validate(base_url=server.url, timeout=60).text.startswith("event: run\n")
