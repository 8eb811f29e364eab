"""Sweeps on Dask: a real LocalCluster (2 worker processes, loopback). Shards assembled in grid order equal the
one-process sweep bit for bit, through the engine and through the app, progress then end on the events stream."""

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy.typing as npt
import pytest
from distributed import Client, LocalCluster
from fastapi.testclient import TestClient
from httpx_sse import connect_sse

from service import documents
from service.config import Settings
from service.engine.sweep import run_sweep
from service.main import create_app
from service.runs import shards
from service.specs.build import build_sweep, is_scalar, sweep_grid
from service.specs.sweep import SweepSpec
from service.store.sqlite import SQLiteStore
from tests.conftest import COURSE_RUN

pytestmark = pytest.mark.cluster

Arrays = dict[str, npt.NDArray[Any]]

RATES = {"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2.2, "num": 5003}}
SWEEPS: dict[str, dict[str, Any]] = {
    "one axis, scalar w0, every verdict": {
        "base": COURSE_RUN,
        "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 10_001}}],
        "max_points": 7,
    },
    "float32": {"base": {**COURSE_RUN, "dtype": "float32", "steps": 60}, "axes": [RATES], "max_points": 61},
    "two axes, momentum": {
        "base": {**COURSE_RUN, "steps": 300, "optimizer": {"kind": "torch.SGD", "momentum": 0.5}},
        "axes": [
            {"path": "optimizer.momentum", "values": [0.0, 0.5, 0.9]},
            {"path": "schedule.learning_rate", "linspace": {"start": 0.01, "stop": 4, "num": 777}},
        ],
        "max_points": 5,
    },
    "Adam, 2-D w0, two axes": {
        "base": {
            "loss": {"kind": "rosenbrock"},
            "w0": [-1.5, 2.0],
            "schedule": 0.001,
            "steps": 200,
            "optimizer": {"kind": "torch.Adam"},
        },
        "axes": [
            {"path": "schedule.learning_rate", "logspace": {"start": -4, "stop": 0, "num": 333}},
            {"path": "w0.0", "linspace": {"start": -2, "stop": 2, "num": 7}},
        ],
        "max_points": 9,
    },
    "optax decay rates 0 and 0.9, float64 (a batch-wide decision)": {
        "base": {
            **COURSE_RUN,
            "steps": 50,
            "schedule": {
                "kind": "optax.exponential_decay",
                "init_value": 0.1,
                "transition_steps": 7,
                "decay_rate": 0.9,
                "staircase": True,
            },
        },
        "axes": [
            {"path": "schedule.decay_rate", "values": [0.0, 0.9]},
            {"path": "schedule.init_value", "linspace": {"start": 0.01, "stop": 0.3, "num": 301}},
        ],
    },
    "2-D w0 swept whole": {
        "base": {
            **COURSE_RUN,
            "w0": [5.0, 3.0],
            "loss": {"kind": "quadratic", "a": [1, 2], "b": [1, 0], "c": 0},
        },
        "axes": [{"path": "w0", "linspace": {"start": -3, "stop": 3, "num": 1501}}],
    },
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two worker processes on loopback. Their nannies set variables (MALLOC_TRIM_THRESHOLD_, PYTHONHASHSEED, ...)
    in this process's environment before spawning them; it is put back, so later tests' processes do not inherit
    them."""
    environment = dict(os.environ)
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as local:
        os.environ.clear()
        os.environ.update(environment)
        yield local


def document_of(body: dict[str, Any]) -> dict[str, Any]:
    return SweepSpec.model_validate(body).model_dump(mode="json")


def one_process(document: dict[str, Any]) -> Arrays:
    result = run_sweep(build_sweep(document, sweep_grid(document)), document.get("max_points"))
    return documents.sweep_arrays(result, is_scalar(document["base"]))


def assert_identical(expected: Arrays, got: Arrays) -> None:
    """Same names, dtypes, shapes and bytes (NaN payloads included)."""
    assert got.keys() == expected.keys()
    for name, values in expected.items():
        assert got[name].dtype == values.dtype, name
        assert got[name].shape == values.shape, name
        assert got[name].tobytes() == values.tobytes(), name


@pytest.mark.parametrize("name", list(SWEEPS))
@pytest.mark.parametrize("size", [None, 100, 997])
def test_shards_on_dask_assembled_equal_one_process_bit_for_bit(
    cluster: LocalCluster, name: str, size: int | None
) -> None:
    document = document_of(SWEEPS[name])
    points = sweep_grid(document).points
    blocks = shards.spans(points, size) if size else shards.sweep_spans(document, points)
    assert blocks[-1][1] == points
    with Client(cluster) as client:  # type: ignore[no-untyped-call]
        futures = client.map(shards.run_shard, [document] * len(blocks), *zip(*blocks, strict=True), pure=False)
        parts = [arrays for arrays, _ in client.gather(futures)]
    expected = one_process(document)
    assert_identical(expected, shards.assemble(parts))
    if name.startswith("one axis"):
        assert set(expected["verdict"]) == {"slow", "stalled", "converged", "oscillating", "diverged"}


def test_shards_are_contiguous_blocks_of_some_work_and_a_few_thousand_at_most() -> None:
    assert shards.spans(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert shards.shard_points(5, 100, 1) == shards.SHARD_WORK // 101 + 1
    assert shards.shard_points(10**5, 10**6, 1) == shards.MIN_SHARD_POINTS  # long runs: still a batch, not a point
    many = shards.spans(10**8, shards.shard_points(10**8, 10**6, 1))
    assert len(many) <= shards.MAX_SHARDS
    assert [first for first, _ in many[1:]] == [last for _, last in many[:-1]]
    assert many[-1][1] == 10**8
    assert len(shards.sweep_spans({"base": {**COURSE_RUN, "steps": 100}}, 200_000)) == 10


def sweep_through(
    settings: Settings, body: dict[str, Any]
) -> tuple[dict[str, Any], Arrays, list[tuple[str, dict[str, Any]]]]:
    """The sweep (wait=false, its events followed to the end) and its stored arrays."""
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/sweeps?wait=false", json=body)
        assert response.status_code == 202, response.text
        sweep_id = response.json()["id"]
        with connect_sse(client, "GET", f"/v1/sweeps/{sweep_id}/events") as source:
            events = [(event.event, event.json()) for event in source.iter_sse() if event.event]
        result = client.get(f"/v1/sweeps/{sweep_id}").json()
        lifecycle = client.app.state.lifecycle  # type: ignore[attr-defined]
        assert (lifecycle.sweeps is not None) == bool(settings.dask_scheduler)
        arrays = lifecycle.store.job_arrays(sweep_id)
    return result, arrays, events


def test_the_app_with_a_scheduler_answers_the_same_sweep(cluster: LocalCluster, tmp_path: Path) -> None:
    body = {**SWEEPS["two axes, momentum"], "base": {**SWEEPS["two axes, momentum"]["base"], "steps": 2000}}
    local = Settings(store_path=str(tmp_path / "local.sqlite3"), executor="thread")
    on_dask = Settings(
        store_path=str(tmp_path / "dask.sqlite3"), executor="thread", dask_scheduler=cluster.scheduler_address
    )
    expected, expected_arrays, _ = sweep_through(local, body)
    result, arrays, events = sweep_through(on_dask, body)
    assert result["status"] == "finished", result["error"]
    for volatile in ("id", "created_at", "finished_at"):
        result.pop(volatile), expected.pop(volatile)
    assert result == expected
    assert_identical(expected_arrays, arrays)
    assert [name for name, _ in events] == ["progress"] * (len(events) - 1) + ["end"]
    steps = [data["step"] for _, data in events[:-1]]
    assert steps == sorted(steps)
    assert len(steps) >= 2
    assert steps[-1] == result["progress"]["step"] == 2000
    assert events[-1][1] == {"status": "finished", "error": None}
    assert "run_shard" in cluster.scheduler.task_prefixes  # type: ignore[union-attr]  # on the workers


def test_two_hundred_thousand_points_on_dask_equal_one_process(cluster: LocalCluster, tmp_path: Path) -> None:
    """The done-when sweep: 200,000 points × 100 steps; bench/dask_sweep.py times it."""
    body = {
        "base": {**COURSE_RUN, "steps": 100},
        "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 200_000}}],
    }
    local = Settings(store_path=str(tmp_path / "local.sqlite3"), executor="thread", max_sweep_runs=200_000)
    on_dask = Settings(
        store_path=str(tmp_path / "dask.sqlite3"),
        executor="thread",
        max_sweep_runs=200_000,
        dask_scheduler=cluster.scheduler_address,
    )
    _, expected, _ = sweep_through(local, body)
    result, arrays, _ = sweep_through(on_dask, body)
    assert result["status"] == "finished", result["error"]
    assert arrays["final_loss"].shape == (200_000,)
    assert arrays["final_loss"].tobytes() == expected["final_loss"].tobytes()
    assert_identical(expected, arrays)


def test_shutting_down_cancels_the_shards_and_fails_the_sweep(cluster: LocalCluster, tmp_path: Path) -> None:
    body = {
        "base": {**COURSE_RUN, "steps": 100_000, "optimizer": {"kind": "torch.SGD", "momentum": 0.9}},
        "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0.001, "stop": 0.01, "num": 2048}}],
    }
    settings = Settings(
        store_path=str(tmp_path / "dask.sqlite3"), executor="thread", dask_scheduler=cluster.scheduler_address
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/sweeps?wait=false", json=body)
        assert response.status_code == 202, response.text
        sweep_id = response.json()["id"]
        deadline = time.monotonic() + 30
        while not cluster.scheduler.tasks and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.02)
        assert cluster.scheduler.tasks  # type: ignore[union-attr]  # the shards are on the cluster
    store = SQLiteStore(settings.store_path)
    record = store.get_job(sweep_id)
    store.close()
    assert record is not None
    assert record.status == "failed"
    assert record.error is not None
    assert "shut down" in record.error
    deadline = time.monotonic() + 30
    while cluster.scheduler.tasks and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    assert not cluster.scheduler.tasks  # type: ignore[union-attr]  # cancelled, not left computing


def test_a_sweep_past_its_time_budget_fails_and_its_shards_are_cancelled(cluster: LocalCluster, tmp_path: Path) -> None:
    body = {
        "base": {**COURSE_RUN, "steps": 20_000, "optimizer": {"kind": "torch.SGD", "momentum": 0.9}},
        "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0.001, "stop": 0.01, "num": 2048}}],
    }
    settings = Settings(
        store_path=str(tmp_path / "dask.sqlite3"),
        executor="thread",
        dask_scheduler=cluster.scheduler_address,
        max_run_seconds=0.05,
    )
    with TestClient(create_app(settings)) as client:
        result = client.post("/v1/sweeps", json=body).json()
    assert result["status"] == "failed"
    assert "DESCENT_MAX_RUN_SECONDS" in result["error"]
    deadline = time.monotonic() + 30
    while cluster.scheduler.tasks and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    assert not cluster.scheduler.tasks  # type: ignore[union-attr]
