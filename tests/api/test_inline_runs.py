"""Tiny waited runs are computed in their request (DESCENT_INLINE_RUN_WORK) instead of a worker: the answer, the
stored run and its trace are exactly what the pool's path gives, field for field, number for number."""

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.engine import kernels
from service.main import create_app
from tests.conftest import COURSE_RUN, DECAY_SCHEDULE

SPECS: dict[str, dict[str, Any]] = {
    "the course run": COURSE_RUN,
    "the course's decaying rate": {**COURSE_RUN, "schedule": DECAY_SCHEDULE},
    "float64, diverging": {**COURSE_RUN, "schedule": 1.05, "dtype": "float64"},
    "torch.Adam in 3-D with its state": {
        "loss": {"kind": "quadratic_form", "A": [[3, 0, 0], [0, 1, 0], [0, 0, 0.5]]},
        "w0": [1, -2, 3],
        "schedule": 0.1,
        "optimizer": {"kind": "torch.Adam"},
        "steps": 200,
        "record": {"every": 7, "state": True},
    },
    "an expression, momentum": {
        "loss": {"kind": "expression", "formula": "(w + 1)**2 + 0.1*w**4"},
        "w0": 2,
        "schedule": 0.05,
        "optimizer": {"kind": "torch.SGD", "momentum": 0.9},
        "steps": 300,
    },
}
VOLATILE = ("id", "created_at", "finished_at")


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """An app that computes tiny runs in the request, and one that sends every run to its pool."""
    inline = Settings(store_path=str(tmp_path / "inline.sqlite3"), executor="thread")
    pooled = Settings(store_path=str(tmp_path / "pooled.sqlite3"), executor="thread", inline_run_work=0)
    with TestClient(create_app(inline)) as fast, TestClient(create_app(pooled)) as slow:
        yield fast, slow


def read_arrow(body: bytes) -> pa.Table:
    """The columns, bit for bit, without the schema's metadata (which names the run)."""
    table = pa.ipc.open_stream(body).read_all()
    return table.replace_schema_metadata(None)


def stable(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in VOLATILE}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_a_tiny_run_computed_in_its_request_equals_the_pools(
    both: tuple[TestClient, TestClient], spec: Any, engine_path: str
) -> None:
    """On the compiled path the course's runs are computed on the event loop (`compute_now`), on the NumPy path
    in a thread (`run_inline`): the same answer as the pool's either way."""
    fast, slow = both
    inline, pooled = fast.post("/v1/runs", json=spec), slow.post("/v1/runs", json=spec)
    assert (inline.status_code, pooled.status_code) == (201, 201)
    assert stable(inline.json()) == stable(pooled.json())
    run_id, pooled_id = inline.json()["id"], pooled.json()["id"]
    assert inline.headers["location"] == f"/v1/runs/{run_id}"
    assert stable(fast.get(f"/v1/runs/{run_id}").json()) == stable(inline.json())  # stored as answered
    arrow = read_arrow(fast.get(f"/v1/runs/{run_id}", params={"format": "arrow"}).content)
    assert arrow.equals(read_arrow(slow.get(f"/v1/runs/{pooled_id}", params={"format": "arrow"}).content))
    assert (
        fast.get(f"/v1/runs/{run_id}", params={"format": "csv"}).text
        == slow.get(f"/v1/runs/{pooled_id}", params={"format": "csv"}).text
    )


def test_runs_above_the_threshold_and_background_runs_go_to_the_pool(tmp_path: Path) -> None:
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread", inline_run_work=41)
    with TestClient(create_app(settings)) as client:
        lifecycle = client.app.state.lifecycle  # type: ignore[attr-defined]
        pooled: list[str] = []
        lifecycle.pool._on_settled = lambda job: pooled.append(job.id)
        tiny = client.post("/v1/runs", json=COURSE_RUN).json()["id"]  # (40 + 1) x 1 = 41 step-dimensions
        bigger = client.post("/v1/runs", json={**COURSE_RUN, "steps": 41}).json()["id"]
        background = client.post("/v1/runs", params={"wait": "false"}, json=COURSE_RUN).json()["id"]
        client.get(f"/v1/runs/{background}/events")  # until it has ended
        assert pooled == [bigger, background]
        assert tiny not in pooled
        assert client.get(f"/v1/runs/{tiny}").json()["status"] == "finished"


class Hops:
    """Which way each tiny run went: computed and stored on the event loop (`loop`), computed there and stored by a
    group commit from a thread (`loop, stored in a thread`), or computed in a thread (`thread`)."""

    def __init__(self, client: TestClient) -> None:
        self.ways: list[str] = []
        lifecycle = client.app.state.lifecycle  # type: ignore[attr-defined]
        compute_now, run_inline = lifecycle.compute_now, lifecycle.run_inline
        store = lifecycle.store
        create_many = store.create_many

        def computed_now(*args: Any) -> Any:
            done = compute_now(*args)
            self.ways.append("loop" if done is not None else "declined")
            return done

        def stored_in_a_thread(runs: Any) -> None:
            if self.ways[-1:] == ["loop"]:  # (a run computed in a thread is stored there: `thread`)
                self.ways[-1] += ", stored in a thread"
            create_many(runs)

        def inline(*args: Any) -> Any:
            if self.ways[-1:] == ["declined"]:  # the loop declined it: the same run
                self.ways.pop()
            self.ways.append("thread")
            return run_inline(*args)

        lifecycle.compute_now, lifecycle.run_inline = computed_now, inline
        store.create_many = stored_in_a_thread


def test_the_course_run_with_the_kernels_loaded_never_leaves_the_event_loop(
    both: tuple[TestClient, TestClient], engine_path: str
) -> None:
    fast, _ = both
    if engine_path == "compiled":
        kernels.warm()  # loaded (a server loads them in the background; until then its runs take a thread)
    hops = Hops(fast)
    expression = SPECS["an expression, momentum"]
    plane = {**COURSE_RUN, "w0": [5, 1], "loss": {"kind": "quadratic_form", "A": [[3, 0], [0, 1]]}}
    for spec in (COURSE_RUN, plane, expression):
        assert fast.post("/v1/runs", json=spec).status_code == 201
    compiled = engine_path == "compiled"
    assert hops.ways == ["loop" if compiled else "thread", "loop" if compiled else "thread", "thread"]


def test_a_run_the_store_cannot_take_at_once_is_stored_from_a_thread(
    both: tuple[TestClient, TestClient], engine_path: str
) -> None:
    """Another process holding SQLite's write lock (here another connection, mid-transaction): the run computed on
    the loop waits for it in a thread, and is stored and answered once it is released."""
    if engine_path != "compiled":
        pytest.skip("only the compiled path computes on the event loop")
    fast, _ = both
    kernels.warm()
    hops = Hops(fast)
    settings = fast.app.state.settings  # type: ignore[attr-defined]
    other = sqlite3.connect(settings.store_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, other.execute, ("COMMIT",)).start()
    answer = fast.post("/v1/runs", json=COURSE_RUN)
    other.close()
    assert answer.status_code == 201
    assert hops.ways == ["loop, stored in a thread"]
    assert stable(fast.get(answer.headers["location"]).json()) == stable(answer.json())
