"""Sweeps: one batch for the whole grid, the same numbers as single runs, and the chapter's four regions."""

from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from httpx_sse import connect_sse

from service.config import Settings
from service.engine.sweep import run_sweep
from service.errors import InvalidSpec
from service.main import create_app
from service.specs.build import _check_batches, build_sweep, sweep_grid
from service.specs.sweep import SweepSpec
from tests.conftest import COURSE_RUN

RATES = {"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 10_001}}


def sweep(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/sweeps", json={"base": COURSE_RUN, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_ten_thousand_rates_show_the_chapters_four_regions(client: TestClient) -> None:
    result = sweep(client, axes=[RATES])
    rates = np.asarray(result["axes"][0]["values"])
    verdict = np.asarray(result["summary"]["verdict"])
    assert result["shape"] == [10_001]
    assert result["status"] == "finished"
    assert (verdict[(rates > 0) & (rates < 0.001)] == "slow").all()  # crawl
    assert (verdict[(rates > 0.1) & (rates < 0.9)] == "converged").all()
    assert verdict[rates == 1.0].tolist() == ["oscillating"]  # exactly 1: bounces between 5 and -7 for ever
    assert (verdict[rates > 1] == "diverged").all()
    stability = result["summary"]["stability"]
    assert stability["predicted_max_lr"] == 1.0
    assert stability["largest_stable_lr"] == 1.0
    assert stability["smallest_diverged_lr"] == pytest.approx(1.0002)
    assert stability["agrees"] is True
    assert sum(result["summary"]["counts"].values()) == 10_001


def test_heavy_ball_boundary_moves_with_momentum(client: TestClient) -> None:
    """For momentum β the stable rates on a·(w+b)² are 0 < lr < 2(1+β)/(2a)."""
    betas = [0.0, 0.5, 0.9]
    result = sweep(
        client,
        base={**COURSE_RUN, "steps": 400, "optimizer": {"kind": "torch.SGD", "momentum": 0.5}},
        axes=[
            {"path": "optimizer.momentum", "values": betas},
            {**RATES, "linspace": {"start": 0.01, "stop": 4, "num": 400}},
        ],
    )
    stability = result["summary"]["stability"]
    assert stability["predicted_max_lr"] == pytest.approx([1 + beta for beta in betas])
    assert stability["agrees"] is True
    assert np.asarray(result["summary"]["verdict"]).shape == (3, 400)


def test_every_grid_point_equals_its_single_run(client: TestClient) -> None:
    """One batch, the same numbers: each point's final loss is the single run's, bit for bit."""
    loss = {"kind": "quadratic", "a": [1.0, 0.25], "b": [1.0, -2.0], "c": 0.0}
    base = {
        "loss": loss,
        "w0": [5.0, 3.0],
        "schedule": {"kind": "torch.ExponentialLR", "lr": 0.1, "gamma": 0.95},
        "optimizer": {"kind": "torch.Adam"},
        "steps": 30,
    }
    axes = [
        {"path": "optimizer.betas.0", "values": [0.5, 0.9]},
        {"path": "loss.a.1", "values": [0.25, 2.0]},
        {"path": "w0", "values": [-1.0, 4.0]},
    ]
    result = client.post("/v1/sweeps", json={"base": base, "axes": axes}).json()
    final_loss = np.asarray(result["summary"]["final_loss"])
    assert final_loss.shape == (2, 2, 2)
    for i, beta in enumerate([0.5, 0.9]):
        for j, a1 in enumerate([0.25, 2.0]):
            for k, w in enumerate([-1.0, 4.0]):
                single = {
                    **base,
                    "optimizer": {"kind": "torch.Adam", "betas": [beta, 0.999]},
                    "loss": {**loss, "a": [1.0, a1]},
                    "w0": [w, w],
                }
                run = client.post("/v1/runs", json=single).json()
                assert final_loss[i, j, k] == run["summary"]["final"]["loss"]


def test_traces_are_kept_thinned_when_asked(client: TestClient) -> None:
    result = sweep(client, axes=[{"path": "schedule.learning_rate", "values": [0.1, 0.2, 3.0]}], max_points=11)
    traces = result["traces"]
    assert traces["step"] == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    assert np.asarray(traces["w"], dtype=float).shape == (3, 11)
    w02 = client.post("/v1/runs", json={**COURSE_RUN, "schedule": 0.2}).json()["trace"]["w"]
    assert traces["w"][1] == [w02[step] for step in traces["step"]]
    assert traces["loss"][2][-1] is None or np.isfinite(traces["loss"][2][-1])  # diverged runs end early


def test_background_sweep_streams_progress(client: TestClient) -> None:
    response = client.post("/v1/sweeps?wait=false", json={"base": {**COURSE_RUN, "steps": 2000}, "axes": [RATES]})
    assert response.status_code == 202
    sweep_id = response.json()["id"]
    assert response.headers["Location"] == f"/v1/sweeps/{sweep_id}"
    with connect_sse(client, "GET", f"/v1/sweeps/{sweep_id}/events") as source:
        events = [(event.event, event.json()) for event in source.iter_sse()]
    assert events[-1] == ("end", {"status": "finished", "error": None})
    steps = [data["step"] for name, data in events if name == "progress"]
    assert steps == sorted(steps)
    assert steps[-1] == 2000
    assert client.get(f"/v1/sweeps/{sweep_id}").json()["summary"]["counts"]["diverged"] == 5000


@pytest.mark.parametrize(
    ("axes", "loc", "message"),
    [
        ([{"path": "schedule.rate", "values": [1]}], ["axes", 0, "path"], "is not in the base spec"),
        ([{"path": "steps", "values": [10, 20]}], ["axes", 0, "path"], "not a real-valued parameter"),
        ([{"path": "schedule.learning_rate"}], ["axes", 0], "give exactly one of values, linspace, logspace"),
        (
            [{"path": "schedule.learning_rate", "logspace": {"start": 0, "stop": 1, "num": 1_000_000}}],
            ["axes"],
            "this server sweeps at most 100,000",
        ),
    ],
)
def test_bad_axes_are_refused_naming_the_axis(
    client: TestClient, axes: list[dict[str, Any]], loc: list[Any], message: str
) -> None:
    response = client.post("/v1/sweeps", json={"base": COURSE_RUN, "axes": axes})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == loc
    assert message in error["msg"]


def test_a_value_a_run_would_refuse_is_refused_on_its_axis(client: TestClient) -> None:
    base = {**COURSE_RUN, "optimizer": {"kind": "keras.SGD", "momentum": 0.5}}
    axes = [{"path": "optimizer.momentum", "values": [0.0, 0.9, 1.5]}]
    response = client.post("/v1/sweeps", json={"base": base, "axes": axes})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["axes", 0, "values"]
    assert error["msg"].startswith("1.5 at optimizer.momentum: ")
    assert "`momentum` must be a float between [0, 1]" in error["msg"]


def test_unknown_sweep_is_404(client: TestClient) -> None:
    assert client.get("/v1/sweeps/nope").status_code == 404


def test_a_finished_sweep_reads_as_an_arrow_table(client: TestClient) -> None:
    """One row per grid point, the axes' values beside the summary, traces as fixed-size lists, in float32."""
    rates = [0.1, 0.2, 3.0]
    result = sweep(client, axes=[{"path": "schedule.learning_rate", "values": rates}], max_points=5)
    response = client.get(f"/v1/sweeps/{result['id']}", headers={"Accept": "application/vnd.apache.arrow.stream"})
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.column("schedule.learning_rate").to_pylist() == rates
    assert table.column("verdict").to_pylist() == result["summary"]["verdict"]
    assert table.column("final_loss").type == pa.float32()
    np.testing.assert_array_equal(
        as_float32(table.column("final_loss").to_pylist()), as_float32(result["summary"]["final_loss"])
    )
    np.testing.assert_array_equal(
        as_float32(table.column("trace.w").to_pylist()[1]), as_float32(result["traces"]["w"][1])
    )
    assert table.column("diverged_at").to_pylist() == result["summary"]["diverged_at"]
    by_format = client.get(f"/v1/sweeps/{result['id']}?format=arrow")
    assert by_format.content == response.content


def as_float32(values: list[Any]) -> npt.NDArray[np.float32]:
    return np.asarray(values, dtype=float).astype(np.float32)


def test_the_worker_honours_the_apps_limits_not_the_defaults(tmp_path: Path) -> None:
    """A sweep bigger than the default limit runs when the app's settings allow it: the worker process gets the
    app's limits, it does not read its own."""
    points = 150_000
    assert Settings().max_sweep_runs < points
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), max_sweep_runs=200_000, max_concurrent_runs=1)
    assert settings.executor == "process"
    base = {**COURSE_RUN, "steps": 10}
    axis = {"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": points}}
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/sweeps", json={"base": base, "axes": [axis]})
        assert response.status_code == 201, response.text[:500]
        result = response.json()
    assert result["status"] == "finished", result["error"]
    assert result["shape"] == [points]
    assert sum(result["summary"]["counts"].values()) == points


def test_arrow_holds_the_computed_numbers_bit_for_bit_and_json_writes_null_for_non_finite(client: TestClient) -> None:
    """Diverged points keep their NaN and infinities in Arrow (JSON has no such numbers: null)."""
    body: dict[str, Any] = {
        "base": {**COURSE_RUN, "steps": 400},
        "axes": [{"path": "schedule.learning_rate", "values": [0.2, 1.5, 8.0]}],
        "max_points": 5,
    }
    result = client.post("/v1/sweeps", json=body).json()
    spec = SweepSpec.model_validate(body)
    document = spec.model_dump(mode="json")
    computed = run_sweep(build_sweep(document, sweep_grid(document)), spec.max_points)
    table = pa.ipc.open_stream(client.get(f"/v1/sweeps/{result['id']}?format=arrow").content).read_all()
    for name, values in (("final_loss", computed.summary.final_loss), ("best_loss", computed.summary.best_loss)):
        np.testing.assert_array_equal(table.column(name).to_numpy().view(np.uint32), values.view(np.uint32))
    assert computed.traces is not None
    kept = np.stack(table.column("trace.loss").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(kept.view(np.uint32), computed.traces.loss.view(np.uint32))
    assert not np.isfinite(computed.traces.loss).all(), "the case must have non-finite numbers to mean anything"
    listed = np.asarray(result["traces"]["loss"], dtype=object)
    assert ((listed == None) == ~np.isfinite(computed.traces.loss)).all()  # noqa: E711 (elementwise)


@pytest.mark.parametrize(
    ("schedule", "path"),
    [
        ({"kind": "tf1.piecewise_constant", "boundaries": [5], "values": [0.1, 0.01]}, "schedule.values.0"),
        ({"kind": "keras.PiecewiseConstantDecay", "boundaries": [5], "values": [0.1, 0.01]}, "schedule.values.1"),
        ({"kind": "optax.linear_onecycle_schedule", "transition_steps": 20, "peak_value": 0.1}, "schedule.pct_start"),
        ({"kind": "optax.linear_onecycle_schedule", "transition_steps": 20, "peak_value": 0.1}, "schedule.pct_final"),
        ({"kind": "optax.cosine_onecycle_schedule", "transition_steps": 20, "peak_value": 0.1}, "schedule.pct_start"),
    ],
)
def test_parameters_the_engine_once_could_not_batch_equal_their_single_runs(
    client: TestClient, schedule: dict[str, Any], path: str
) -> None:
    """Piecewise `values` and optax's onecycle `pct_start` / `pct_final` per grid point: each point is its single
    run, bit for bit (they were refused with a 422 before the engine could batch them)."""
    values = [0.2, 0.3, 0.45]
    base = {**COURSE_RUN, "steps": 20, "schedule": schedule}
    body = {"base": base, "axes": [{"path": path, "values": values}]}
    response = client.post("/v1/sweeps", json=body)
    assert response.status_code == 201, response.text
    final_loss = response.json()["summary"]["final_loss"]
    assert len(set(final_loss)) == len(values)  # each point its own value
    *parents, last = path.split(".")[1:]
    for point, value in enumerate(values):
        single = deepcopy(schedule)
        target: Any = single
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        run = client.post("/v1/runs", json={**base, "schedule": single})
        assert run.status_code == 201, run.text
        assert final_loss[point] == run.json()["summary"]["final"]["loss"]


def test_a_schedule_the_engine_cannot_batch_is_refused_not_a_500() -> None:
    """The guard for any parameter the engine cannot batch (none is known today): a schedule that raises, or
    gives rates of another shape than (n, 1) or (n, points), is a 422 on the axes."""

    def raises(steps: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        raise TypeError("only length-1 arrays can be converted to Python scalars")

    def misshapen(steps: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.zeros((steps.size, 1, 3))

    def other_runs(steps: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.zeros((steps.size, 2))

    for schedule in (raises, misshapen, other_runs):
        with pytest.raises(InvalidSpec) as refused:
            _check_batches(schedule, 3)
        assert refused.value.errors[0][0] == ["axes"]
        assert "per grid point" in refused.value.errors[0][1]
    _check_batches(lambda steps: np.zeros((steps.size, 3)), 3)
    _check_batches(lambda steps: np.zeros((steps.size, 1)), 3)
