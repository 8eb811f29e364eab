"""Numbers at the edge, against a real server (`python -m service`): a number out of range anywhere in a request is
a 422 problem naming its field, never a 500 or a reset connection, and nothing of it is stored; a whole-number float
is taken for an integer field; a stream resumed beyond any step is refused, one resumed after the run's last row
ends at once."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import orjson
import pytest
from httpx_sse import connect_sse

from service.api import schemas
from tests.conftest import COURSE_RUN
from tests.live import Server

pytestmark = pytest.mark.live

BIG = "1" + "0" * 400
"""10**400 as a JSON integer literal (401 digits): Python parses it exactly, and float() of it overflows."""
INT32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("numbers") / "runs.sqlite3"


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[Server]:
    running = Server(store, DESCENT_LOG_LEVEL="warning")
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def raw(template: dict[str, Any], **literals: str) -> bytes:
    """`template` as JSON with each string "<name>" replaced by the literal JSON text `literals[name]`."""
    text = orjson.dumps(template).decode()
    for name, literal in literals.items():
        text = text.replace(f'"<{name}>"', literal)
    return text.encode()


def stored(store: Path) -> list[int]:
    """How many runs and jobs (sweeps, range tests, landscapes) the store holds (read beside the running server)."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("runs", "jobs")]


def assert_problem(response: httpx.Response, loc: list[Any], words: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["type"] == "urn:descent:problem:invalid-request", problem
    messages = [error["msg"] for error in problem["errors"] if error["loc"] == loc]
    assert messages, f"no error at {loc}: {problem['errors']}"
    assert words in messages[0], messages


RUN: dict[str, Any] = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 10}
SWEEP: dict[str, Any] = {"base": RUN, "axes": [{"path": "schedule.learning_rate", "values": [0.1, 0.2]}]}
LR_FINDER: dict[str, Any] = {"loss": {"kind": "quadratic", "a": 1}, "w0": 5, "num_iter": 10}
LANDSCAPE: dict[str, Any] = {"loss": {"kind": "quadratic", "a": 1}, "bounds": [[-1, 1]], "resolution": 5}

HUGE_LITERALS = [
    pytest.param("/v1/runs", {**RUN, "w0": "<n>"}, ["w0"], id="w0"),
    pytest.param("/v1/runs", {**RUN, "w0": ["<n>", 1]}, ["w0"], id="w0 item"),
    pytest.param("/v1/runs", {**RUN, "loss": {"kind": "quadratic", "a": "<n>"}}, ["loss", "a"], id="loss.a"),
    pytest.param("/v1/runs", {**RUN, "loss": {"kind": "quadratic", "b": "<-n>"}}, ["loss", "b"], id="loss.b negative"),
    pytest.param(
        "/v1/runs",
        {**RUN, "loss": {"kind": "polynomial", "coefficients": [1, "<n>"]}},
        ["loss", "coefficients", 1],
        id="loss.coefficients",
    ),
    pytest.param("/v1/runs", {**RUN, "schedule": "<n>"}, ["schedule"], id="schedule as a number"),
    pytest.param(
        "/v1/runs",
        {**RUN, "optimizer": {"kind": "torch.SGD", "momentum": "<n>"}},
        ["optimizer", "momentum"],
        id="optimizer.momentum",
    ),
    pytest.param("/v1/runs", {**RUN, "stop": {"loss_tol": "<n>"}}, ["stop", "loss_tol"], id="stop.loss_tol"),
    pytest.param("/v1/sweeps", {**SWEEP, "base": {**RUN, "w0": "<n>"}}, ["base", "w0"], id="sweep base.w0"),
    pytest.param(
        "/v1/sweeps",
        {**SWEEP, "axes": [{"path": "w0", "values": [1, "<n>"]}]},
        ["axes", 0, "values", 1],
        id="sweep axis values",
    ),
    pytest.param("/v1/lr-finder", {**LR_FINDER, "w0": "<n>"}, ["w0"], id="lr-finder w0"),
    pytest.param("/v1/lr-finder", {**LR_FINDER, "end_lr": "<n>"}, ["end_lr"], id="lr-finder end_lr"),
    pytest.param("/v1/landscape", {**LANDSCAPE, "bounds": [[-1, "<n>"]]}, ["bounds", 0, 1], id="landscape bounds"),
]


@pytest.mark.parametrize(("path", "template", "loc"), HUGE_LITERALS)
def test_an_integer_literal_beyond_float32_is_a_problem_naming_its_field(
    server: Server, store: Path, path: str, template: dict[str, Any], loc: list[Any]
) -> None:
    """A 401-digit integer literal where a number goes was a 500 (float() of it overflowed)."""
    before = stored(store)
    with server.client() as client:
        body = raw(template, n=BIG, **{"-n": "-" + BIG})
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, loc, "within ±3.4e38 (float32's range)")
    assert "about 1e400" in response.text  # the number by its size, not its 401 digits
    assert stored(store) == before


BEYOND = [
    pytest.param(2**63, id="2**63"),
    pytest.param(2**63 + 5, id="2**63+5"),
    pytest.param(2**64, id="2**64"),
    pytest.param(10**400, id="10**400"),
]
"""Integers past every integer field's range: 2**64 reset the connection, 2**63 + 5 was stored and failed the run."""
TOP = {"seed": 2**63 - 1, "num": 1_000_000, "max_points": 10_000, "num_iter": 10_000, "resolution": 1000}
"""The fields whose largest value is not int32's (TF1's seed is an int64; the others are this service's caps)."""
OUT_OF_RANGE = [
    pytest.param("/v1/runs", {**RUN, "record": {"every": "<n>"}}, ["record", "every"], id="record.every"),
    pytest.param("/v1/runs", {**RUN, "steps": "<n>"}, ["steps"], id="steps"),
    pytest.param(
        "/v1/runs",
        {**RUN, "schedule": {"kind": "torch.StepLR", "lr": 0.1, "step_size": "<n>"}},
        ["schedule", "step_size"],
        id="torch step_size",
    ),
    pytest.param(
        "/v1/runs",
        {**RUN, "schedule": {"kind": "torch.MultiStepLR", "lr": 0.1, "milestones": [2, "<n>"]}},
        ["schedule", "milestones", 1],
        id="torch milestones",
    ),
    pytest.param(
        "/v1/runs",
        {
            **RUN,
            "schedule": {
                "kind": "torch.SequentialLR",
                "lr": 0.1,
                "schedulers": [{"kind": "torch.StepLR", "step_size": "<n>"}],
                "milestones": [],
            },
        },
        ["schedule", "schedulers", 0, "step_size"],
        id="torch child step_size",
    ),
    pytest.param(
        "/v1/runs",
        {
            **RUN,
            "schedule": {
                "kind": "keras.CosineDecay",
                "initial_learning_rate": 0.1,
                "decay_steps": 10,
                "warmup_steps": "<n>",
            },
        },
        ["schedule", "warmup_steps"],
        id="keras warmup_steps",
    ),
    pytest.param(
        "/v1/runs",
        {**RUN, "schedule": {"kind": "keras.PiecewiseConstantDecay", "boundaries": ["<n>"], "values": [0.1, 0.01]}},
        ["schedule", "boundaries", 0],
        id="keras boundaries",
    ),
    pytest.param(
        "/v1/runs",
        {
            **RUN,
            "schedule": {
                "kind": "optax.linear_schedule",
                "init_value": 0.1,
                "end_value": 0.01,
                "transition_steps": "<n>",
            },
        },
        ["schedule", "transition_steps"],
        id="optax transition_steps",
    ),
    pytest.param(
        "/v1/runs",
        {
            **RUN,
            "schedule": {
                "kind": "tf1.noisy_linear_cosine_decay",
                "learning_rate": 0.1,
                "decay_steps": 10,
                "seed": "<n>",
            },
        },
        ["schedule", "seed"],
        id="tf1 seed",
    ),
    pytest.param(
        "/v1/sweeps",
        {**SWEEP, "axes": [{"path": "w0", "linspace": {"start": 0, "stop": 1, "num": "<n>"}}]},
        ["axes", 0, "linspace", "num"],
        id="sweep linspace num",
    ),
    pytest.param("/v1/sweeps", {**SWEEP, "max_points": "<n>"}, ["max_points"], id="sweep max_points"),
    pytest.param("/v1/sweeps", {**SWEEP, "base": {**RUN, "steps": "<n>"}}, ["base", "steps"], id="sweep base.steps"),
    pytest.param("/v1/lr-finder", {**LR_FINDER, "num_iter": "<n>"}, ["num_iter"], id="lr-finder num_iter"),
    pytest.param("/v1/landscape", {**LANDSCAPE, "resolution": "<n>"}, ["resolution"], id="landscape resolution"),
]


@pytest.mark.parametrize("number", [pytest.param("top + 1", id="top+1"), *BEYOND])
@pytest.mark.parametrize(("path", "template", "loc"), OUT_OF_RANGE)
def test_an_integer_field_beyond_its_range_is_a_problem_naming_it(
    server: Server, store: Path, path: str, template: dict[str, Any], loc: list[Any], number: int | str
) -> None:
    """Each integer field just past its largest value (int32's, or the field's own), and far past it."""
    literal = str(TOP.get(loc[-1], INT32_MAX) + 1 if number == "top + 1" else number)
    before = stored(store)
    with server.client() as client:
        response = client.post(path, content=raw(template, n=literal), headers={"Content-Type": "application/json"})
        assert_problem(response, loc, "at most")
        assert client.get("/healthz").status_code == 200
    assert stored(store) == before


def test_record_every_at_the_top_of_its_range_runs(server: Server) -> None:
    """record.every between 2**63 and 2**64 was accepted, and the run failed in the worker (OverflowError)."""
    with server.client() as client:
        response = client.post("/v1/runs", json={**RUN, "record": {"every": INT32_MAX}})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "finished"
    assert run["trace"]["step"] == [0, 10]  # the first and the last row


def events(client: httpx.Client, url: str, **kwargs: Any) -> list[str]:
    with connect_sse(client, "GET", url, **kwargs) as source:
        assert source.response.status_code == 200
        return [event.event for event in source.iter_sse()]


@pytest.fixture(scope="module")
def finished_run(server: Server) -> str:
    with server.client() as client:
        response = client.post("/v1/runs", json=COURSE_RUN)  # 40 steps: rows 0..40
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "finished"
    return str(response.json()["id"])


@pytest.mark.parametrize("number", [pytest.param(INT32_MAX + 1, id="2**31"), *BEYOND])
def test_a_resume_point_beyond_any_step_is_refused(server: Server, finished_run: str, number: int) -> None:
    """Last-Event-ID (or ?after=) of 2**63 or more sent one event and ended the stream with neither end nor error."""
    url, step = f"/v1/runs/{finished_run}/events", str(number)
    with server.client() as client:
        assert_problem(client.get(url, headers={"Last-Event-ID": step}), ["header", "Last-Event-ID"], "at most")
        assert_problem(client.get(url, params={"after": step}), ["query", "after"], "at most")


@pytest.mark.parametrize("step", [40, 41, INT32_MAX])
def test_a_resume_point_after_the_last_row_ends_at_once(server: Server, finished_run: str, step: int) -> None:
    url = f"/v1/runs/{finished_run}/events"
    with server.client() as client:
        assert events(client, url, headers={"Last-Event-ID": str(step)}) == ["run", "end"]
        assert events(client, url, params={"after": step}) == ["run", "end"]
        assert events(client, url, headers={"Last-Event-ID": "39"}) == ["run", "step", "end"]


def test_whole_number_floats_are_integers(server: Server) -> None:
    """JSON has one number type: 40.0 steps is 40 steps (Schemathesis sends such numbers for `integer` fields)."""
    with server.client() as client:
        exact = client.post("/v1/runs", json={**COURSE_RUN, "record": {"every": 4}}).json()
        written = client.post("/v1/runs", json={**COURSE_RUN, "steps": 40.0, "record": {"every": 4.0}}).json()
        assert written["spec"]["steps"] == 40
        assert written["spec"]["record"]["every"] == 4
        assert written["trace"] == exact["trace"]
        schedule = {"kind": "torch.StepLR", "lr": 0.2, "step_size": 10.0, "gamma": 0.5}
        assert client.post("/v1/runs", json={**COURSE_RUN, "schedule": schedule}).status_code == 201
        sweep = {**SWEEP, "axes": [{"path": "w0", "linspace": {"start": 0, "stop": 1, "num": 3.0}}], "max_points": 5.0}
        swept = client.post("/v1/sweeps", json=sweep)
        assert swept.status_code == 201, swept.text
        assert swept.json()["shape"] == [3]
        assert client.post("/v1/lr-finder", json={**LR_FINDER, "num_iter": 10.0}).status_code == 200
        assert client.post("/v1/landscape", json={**LANDSCAPE, "resolution": 5.0}).status_code == 200
        assert_problem(client.post("/v1/runs", json={**COURSE_RUN, "steps": 40.5}), ["steps"], "whole number")
        assert_problem(client.post("/v1/runs", json={**COURSE_RUN, "steps": "40"}), ["steps"], "whole number")
        assert_problem(client.post("/v1/runs", json={**COURSE_RUN, "steps": True}), ["steps"], "whole number")


def test_an_optimizer_state_that_overflows_is_null_in_the_documented_answer(server: Server) -> None:
    """A row is kept while w, loss, lr and grad are finite; Adadelta's square_avg overflowed first and was written
    as null, which the response schema did not admit (Schemathesis's response conformance check found it)."""
    spec = {
        "loss": {"kind": "rosenbrock", "b": 1.259686648660362e38},
        "w0": [-5.616531011543507e-210, -380505136220256.6],
        "schedule": {
            "kind": "keras.InverseTimeDecay",
            "initial_learning_rate": -3.084829225029269e38,
            "decay_steps": 3.2854900499973245e38,
            "decay_rate": -6.794660044541275e-233,
        },
        "optimizer": {"kind": "torch.Adadelta", "rho": 0.47107519583414426, "eps": 9.486242130267831e37},
        "steps": 1999,
        "dtype": "float64",
        "record": {"every": 1046, "state": True},
    }
    with server.client() as client:
        response = client.post("/v1/runs", json=spec)
    assert response.status_code == 201, response.text
    run = response.json()
    assert None in run["trace"]["state"]["square_avg"][1]
    schemas.Run.model_validate(run)


ENDPOINTS = {"RunSpec": "/v1/runs", "SweepSpec": "/v1/sweeps", "LRFinderSpec": "/v1/lr-finder"}
AXIS = {"path": "schedule.learning_rate"}
AGREEMENT = [
    # a whole-number float for an integer field: schema-valid (JSON Schema's integer), and now taken
    pytest.param("RunSpec", {**RUN, "steps": 10.0, "record": {"every": 2.0}}, id="whole-number floats"),
    pytest.param("LRFinderSpec", {**LR_FINDER, "num_iter": 10.0}, id="whole-number num_iter"),
    # a sweep axis with no source, or two: schema-valid before (no oneOf), refused by the server
    pytest.param("SweepSpec", {**SWEEP, "axes": [AXIS]}, id="axis without a source"),
    pytest.param(
        "SweepSpec",
        {**SWEEP, "axes": [{**AXIS, "values": [0.1], "linspace": {"start": 0.1, "stop": 0.2, "num": 2}}]},
        id="axis with two sources",
    ),
    pytest.param("SweepSpec", {**SWEEP, "axes": [{**AXIS, "values": [0.1], "logspace": None}]}, id="axis with one"),
    # a library's own rule, and a cross-field rule JSON Schema can state
    pytest.param("RunSpec", {**RUN, "optimizer": {"kind": "torch.SGD", "momentum": -0.5}}, id="torch momentum"),
    pytest.param("RunSpec", {**RUN, "optimizer": {"kind": "torch.SGD", "nesterov": True}}, id="nesterov"),
    pytest.param("RunSpec", {**RUN, "loss": {"kind": "booth"}, "w0": 1.0}, id="booth in 1-D"),
]


@pytest.fixture(scope="module")
def served(server: Server) -> dict[str, Any]:
    with server.client() as client:
        document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def admits(document: dict[str, Any], name: str, body: Any) -> bool:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return bool(jsonschema_rs.validator_for(schema).is_valid(body))


@pytest.mark.parametrize(("name", "body"), AGREEMENT)
def test_the_served_document_admits_what_the_server_takes(
    server: Server, served: dict[str, Any], name: str, body: dict[str, Any]
) -> None:
    """Schemathesis found schema-valid bodies the server refused (3.0 for an integer, an axis without a source)."""
    with server.client() as client:
        response = client.post(ENDPOINTS[name], json=body)
    assert response.status_code in (200, 201, 422), response.text
    assert admits(served, name, body) == (response.status_code != 422), response.text


def test_the_served_documents_examples_fit_together(server: Server, served: dict[str, Any]) -> None:
    """Schemathesis sends the document's examples together: every formula example with every w0 example (and every
    bounds example) must be a spec the server runs; the 1-D and 3-D formula examples fitted no common w0."""
    schemas_ = served["components"]["schemas"]
    formulas = schemas_["Expression"]["properties"]["formula"]["examples"]
    starts = schemas_["RunSpec"]["properties"]["w0"].get("examples", [])
    bounds = schemas_["LandscapeSpec"]["properties"]["bounds"].get("examples", [])
    assert formulas
    assert starts
    assert bounds
    with server.client() as client:
        for formula in formulas:
            loss = {"kind": "expression", "formula": formula}
            for w0 in starts:
                assert client.post("/v1/runs", json={**RUN, "loss": loss, "w0": w0}).status_code == 201
                assert client.post("/v1/lr-finder", json={**LR_FINDER, "loss": loss, "w0": w0}).status_code == 200
            for pairs in bounds:
                assert client.post("/v1/landscape", json={"loss": loss, "bounds": pairs}).status_code == 200


def test_an_integer_of_more_digits_than_the_json_reader_takes_is_a_problem_saying_so(
    server: Server, store: Path
) -> None:
    """Python's JSON reader refuses an integer of more than 4300 digits before any field exists: a 400 problem
    that says why (it said "send UTF-8 encoded JSON"), and nothing stored."""
    before = stored(store)
    with server.client() as client:
        body = raw({**RUN, "w0": "<n>"}, n="1" + "0" * 5000)
        response = client.post("/v1/runs", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "more than 4300 digits" in response.json()["detail"]
    assert "±3.4e38" in response.json()["detail"]
    assert stored(store) == before
