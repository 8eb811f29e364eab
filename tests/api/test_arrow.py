"""Traces as Apache Arrow IPC streams: by `Accept` or `format=arrow`, read back bit for bit with pyarrow."""

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient

from service.encodings import ARROW_STREAM, arrow_stream, csv_text, trace_columns
from service.engine.trace import Trace
from tests.conftest import COURSE_RUN


def read(body: bytes) -> Any:
    """What a Python client does with the answer."""
    return pa.ipc.open_stream(body).read_all()


def bits(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return values.view(f"u{values.dtype.itemsize}") if values.dtype.kind == "f" else values


def stored(client: TestClient, run_id: str) -> Trace:
    trace: Trace | None = client.app.state.lifecycle.store.trace(run_id)  # type: ignore[attr-defined]
    assert trace is not None
    return trace


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_trace_round_trips_bit_for_bit(client: TestClient, dtype: str) -> None:
    run = client.post("/v1/runs", json={**COURSE_RUN, "dtype": dtype, "steps": 500}).json()
    response = client.get(f"/v1/runs/{run['id']}", headers={"Accept": ARROW_STREAM})
    assert response.status_code == 200
    assert response.headers["content-type"] == ARROW_STREAM
    assert response.headers["content-disposition"] == f'attachment; filename="run-{run["id"]}.arrows"'
    table = read(response.content)
    assert table.column_names == ["step", "w", "loss", "lr", "grad"]
    assert table.schema.field("step").type == pa.int64()
    for name in ("w", "loss", "lr", "grad"):
        assert table.schema.field(name).type == pa.from_numpy_dtype(np.dtype(dtype))
    assert table.schema.metadata == {b"id": run["id"].encode(), b"status": b"finished"}
    trace = stored(client, run["id"])
    expected = {"step": trace.step, "w": trace.w[:, 0], "loss": trace.loss, "lr": trace.lr, "grad": trace.grad[:, 0]}
    for name, values in expected.items():
        np.testing.assert_array_equal(bits(table.column(name).to_numpy()), bits(values))
    np.testing.assert_array_equal(table.column("w").to_numpy(), np.asarray(run["trace"]["w"], dtype))  # = JSON


def test_vectors_and_optimizer_state_are_spread_like_csv(client: TestClient) -> None:
    spec = {
        "loss": {"kind": "quadratic", "a": [1, 10], "b": [1, -2], "c": 0},
        "w0": [5, 5],
        "schedule": 0.05,
        "optimizer": {"kind": "torch.Adam"},
        "steps": 300,
        "dtype": "float64",
        "record": {"state": True},
    }
    run_id = client.post("/v1/runs", json=spec).json()["id"]
    table = read(client.get(f"/v1/runs/{run_id}?format=arrow").content)
    header = client.get(f"/v1/runs/{run_id}?format=csv").text.splitlines()[0]
    assert ",".join(table.column_names) == header
    trace = stored(client, run_id)
    for name, values in trace_columns(trace, scalar=False).items():
        np.testing.assert_array_equal(bits(table.column(name).to_numpy()), bits(values))
    assert "state.exp_avg_sq[1]" in table.column_names


def test_thinning_applies_and_format_wins_over_accept(client: TestClient) -> None:
    run_id = client.post("/v1/runs", json={**COURSE_RUN, "steps": 1000}).json()["id"]
    thinned = client.get(f"/v1/runs/{run_id}", params={"every": 300, "format": "arrow"}, headers={"Accept": "text/csv"})
    assert read(thinned.content).column("step").to_pylist() == [0, 300, 600, 900, 1000]
    as_json = client.get(f"/v1/runs/{run_id}?format=json", headers={"Accept": ARROW_STREAM})
    assert as_json.headers["content-type"] == "application/json"


def test_a_diverged_run_keeps_its_finite_rows(client: TestClient) -> None:
    run = client.post("/v1/runs", json={**COURSE_RUN, "schedule": 3, "steps": 500}).json()
    table = read(client.get(f"/v1/runs/{run['id']}", headers={"Accept": ARROW_STREAM}).content)
    assert table.num_rows == len(run["trace"]["step"])
    assert table.schema.metadata[b"status"] == b"diverged"


def test_the_encoder_keeps_every_bit_and_takes_matrices() -> None:
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38], np.float32)
    nan_payload = np.array([0x7FC00001, 0xFFC00000], np.uint32).view(np.float32)
    values = np.concatenate([special, nan_payload])
    matrix = np.arange(values.size * 3, dtype=np.float64).reshape(values.size, 3)
    table = read(arrow_stream({"x": values, "runs": matrix, "step": np.arange(values.size)}, {"kind": "sweep"}))
    np.testing.assert_array_equal(bits(table.column("x").to_numpy()), bits(values))
    assert table.schema.field("runs").type == pa.list_(pa.float64(), 3)
    np.testing.assert_array_equal(np.stack(table.column("runs").to_numpy(zero_copy_only=False)), matrix)
    assert table.schema.metadata == {b"kind": b"sweep"}


def test_the_encoder_refuses_ragged_or_cubic_columns() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        arrow_stream({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="3 dimensions"):
        arrow_stream({"a": np.zeros((2, 2, 2))})


def test_an_empty_trace_is_an_empty_table() -> None:
    empty = Trace.empty(np.dtype(np.float32), 2)
    table = read(arrow_stream(trace_columns(empty, scalar=False)))
    assert table.num_rows == 0
    assert table.column_names == ["step", "w[0]", "w[1]", "loss", "lr", "grad[0]", "grad[1]"]
    assert csv_text(empty, scalar=False) == "step,w[0],w[1],loss,lr,grad[0],grad[1]\n"
