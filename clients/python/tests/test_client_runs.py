"""The client against a real server: typed answers hold exactly what the server's JSON says."""

import dataclasses
from typing import Any

import httpx
import numpy as np
import pytest
from course_specs import COURSE, DECAY, SLOW
from loops import run_in_thread

from descent_client import AsyncClient, Client, RunEnded, RunStarted, Step
from tests.live import Server, wait_for

pytestmark = pytest.mark.live


def same_trace(trace: Any, document: dict[str, Any], dtype: str = "float32") -> None:
    """The typed trace holds the document's numbers in the run's dtype (JSON's shortest decimals read back)."""
    assert trace.step.tolist() == document["step"]
    for column in ("w", "loss", "lr", "grad"):
        values = getattr(trace, column)
        assert values.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(values, np.asarray(document[column], dtype=dtype))


@pytest.mark.parametrize("schedule", [0.2, DECAY])
def test_run_answers_the_servers_run_typed(client: Client, schedule: Any) -> None:
    run = client.run({**COURSE, "schedule": schedule})
    document = client.document(run.id)
    assert (run.id, run.status, run.name, run.created_at, run.finished_at) == (
        document["id"],
        document["status"],
        document["name"],
        document["created_at"],
        document["finished_at"],
    )
    assert run.spec == document["spec"]
    assert run.summary is not None
    assert dataclasses.asdict(run.summary) == document["summary"]
    assert run.summary.verdict == "converged"
    assert run.summary.analysis is not None
    assert run.summary.analysis.max_stable_lr == 1.0
    same_trace(run.trace, document["trace"])
    assert "%f" % run.trace.w[1] == ("2.600000" if schedule == 0.2 else "3.800000")


def test_a_d_dimensional_run_has_a_column_per_dimension(client: Client) -> None:
    spec = {"loss": {"kind": "quadratic", "a": [1, 2], "b": 0, "c": 0}, "w0": [1, -1], "schedule": 0.1, "steps": 5}
    run = client.run({**spec, "dtype": "float64"})
    document = client.document(run.id)
    assert run.trace.w.shape == (6, 2)
    assert run.trace.dims == 2
    same_trace(run.trace, document["trace"], "float64")
    assert run.summary is not None
    assert run.summary.final is not None
    assert run.summary.final.w == document["summary"]["final"]["w"]
    assert list(run.to_pandas().columns) == ["w[0]", "w[1]", "loss", "lr", "grad[0]", "grad[1]"]


def test_a_big_trace_comes_as_arrow_bit_for_bit(client: Client, server: Server) -> None:
    spec = {**COURSE, "schedule": 1e-4, "steps": 30_000}
    run = client.run(spec)  # 30,001 rows: submitted, waited for, read back as Arrow
    assert len(run.trace) == 30_001
    from_json = client.get(run.id, trace="json").trace
    for column in ("step", "w", "loss", "lr", "grad"):
        assert getattr(run.trace, column).dtype == getattr(from_json, column).dtype
        np.testing.assert_array_equal(getattr(run.trace, column), getattr(from_json, column))
    frame = run.to_pandas()
    csv_header = httpx.get(f"{server.url}/v1/runs/{run.id}?format=csv&max_points=2").text.splitlines()[0]
    assert ["step", *frame.columns] == csv_header.split(",")
    assert frame.index.tolist() == run.trace.step.tolist()


def test_thinned_reads_keep_the_first_and_last_rows(client: Client) -> None:
    run = client.run(COURSE)
    assert client.get(run.id, max_points=5).trace.step.tolist() == [0, 10, 20, 30, 40]
    assert client.trace(run.id, every=20).step.tolist() == [0, 20, 40]


def test_plot_draws_the_trace(client: Client) -> None:
    import matplotlib

    matplotlib.use("Agg")
    run = client.run(COURSE)
    axes = run.plot()
    (line,) = axes.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), run.trace.loss)
    assert axes.get_yscale() == "log"
    assert run.summary is not None
    assert run.summary.verdict in axes.get_title()


def test_submit_get_and_cancel(client: Client) -> None:
    info = client.submit(SLOW)
    assert info.status in {"queued", "running"}
    assert not info.ended
    wait_for(lambda: client.info(info.id).status == "running")
    cancelled = client.cancel(info.id)
    assert cancelled.status == "cancelled"
    run = client.get(info.id)
    assert run.status == "cancelled"
    assert run.summary is not None
    assert 0 < len(run.trace) <= SLOW["steps"] // SLOW["record"]["every"] + 1
    assert client.cancel(info.id).status == "cancelled"  # an ended run is left alone
    assert client.get(info.id).status == "cancelled"
    assert info.id in {item.id for item in client.runs(limit=20).items}
    client.delete(info.id)
    assert info.id not in {item.id for item in client.iter_runs(page_size=2)}


def test_sweep_answers_the_servers_grids(client: Client) -> None:
    spec = {"base": COURSE, "axes": [{"path": "schedule.learning_rate", "values": [0.1, 0.5, 1, 1.5]}]}
    sweep = client.sweep(spec)
    document = client.request("GET", f"/v1/sweeps/{sweep.id}").json()
    assert sweep.shape == (4,)
    assert sweep.summary is not None
    assert sweep.summary.verdict.tolist() == document["summary"]["verdict"]
    assert sweep.summary.verdict.tolist() == ["converged", "converged", "oscillating", "diverged"]
    np.testing.assert_array_equal(sweep.summary.final_loss, np.asarray(document["summary"]["final_loss"], float))
    assert sweep.summary.counts == document["summary"]["counts"]
    assert [point["converged_at"] for point in sweep.points()] == document["summary"]["converged_at"]
    table = client.sweep_table(sweep.id)
    assert table.column("verdict").to_pylist() == document["summary"]["verdict"]
    assert sweep.to_pandas()["schedule.learning_rate"].tolist() == [0.1, 0.5, 1.0, 1.5]


def test_sweep_in_the_background_reports_progress(client: Client) -> None:
    spec = {"base": {**COURSE, "steps": 200_000}, "axes": [{"path": "schedule.learning_rate", "values": [1e-6, 2e-6]}]}
    started = client.submit_sweep(spec)
    seen: list[tuple[int, int]] = []
    sweep = client.wait_sweep(started.id, on_progress=lambda step, steps: seen.append((step, steps)))
    assert sweep.status == "finished"
    assert sweep.summary is not None
    assert seen
    assert seen[-1] == (200_000, 200_000)


def test_lr_finder_and_landscape(client: Client) -> None:
    spec = {"loss": COURSE["loss"], "w0": 5, "optimizer": {"kind": "sgd"}}
    result = client.lr_finder(spec)
    document = client.request("POST", "/v1/lr-finder", json=spec).json()
    np.testing.assert_array_equal(result.lr, np.asarray(document["lr"], np.float32))
    np.testing.assert_array_equal(result.smoothed_loss, np.asarray(document["smoothed_loss"]))
    assert [dataclasses.asdict(item) for item in result.suggestions] == document["suggestions"]
    assert result.suggestion("valley").lr == document["suggestions"][1]["lr"]

    landscape = client.landscape({"loss": {"kind": "rosenbrock"}, "bounds": [[-2, 2], [-1, 3]], "resolution": 21})
    assert landscape.loss.shape == (21, 21)
    assert landscape.y is not None
    assert landscape.minimum is not None
    assert landscape.minimum.w == [1.0, 1.0]
    assert landscape.loss[landscape.minimum.index[0], landscape.minimum.index[1]] == landscape.minimum.loss


def test_range_test_and_landscape_plots(client: Client) -> None:
    import matplotlib

    matplotlib.use("Agg")
    result = client.lr_finder({"loss": COURSE["loss"], "w0": 5, "optimizer": {"kind": "sgd"}})
    axes = result.plot()
    curve, *marks = axes.get_lines()
    np.testing.assert_array_equal(curve.get_ydata(), result.smoothed_loss)
    assert [np.asarray(mark.get_xdata())[0] for mark in marks] == [item.lr for item in result.suggestions]
    assert axes.get_xscale() == "log"

    curve_1d = client.landscape({"loss": COURSE["loss"], "bounds": [[-3, 1]], "resolution": 9})
    axes = curve_1d.plot()
    line, star = axes.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), curve_1d.loss)
    assert (np.asarray(star.get_xdata())[0], np.asarray(star.get_ydata())[0]) == (-1.0, 0.0)


def test_catalog_lists_the_course_kinds(client: Client) -> None:
    kinds = client.catalog().kinds()
    assert {"quadratic", "expression", "tf1.exponential_decay", "torch.SGD"} <= kinds


def test_async_client_runs_and_streams(server: Server) -> None:
    async def scenario() -> tuple[Any, list[Any], Any]:
        async with AsyncClient(server.url) as client:
            run = await client.run(COURSE)
            events = [event async for event in client.stream({**COURSE, "schedule": DECAY})]
            document = await client.document(run.id)
            return run, events, document

    run, events, document = run_in_thread(scenario())
    same_trace(run.trace, document["trace"])
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunEnded)
    steps = [event for event in events if isinstance(event, Step)]
    assert [event.step for event in steps] == list(range(41))
    assert "%f" % steps[1].w == "3.800000"
