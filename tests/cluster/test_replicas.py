"""Replicas: two real server processes on loopback sharing one real PostgreSQL database. A run started on A is
streamed from B through dropped connections resumed alternately on A and B; a replica killed mid-run has its run
failed by the other within the lease; a run queued on a busy replica is executed by the other, and the waited
`POST` that queued it answers wherever it ran."""

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx_sse import connect_sse
from sqlalchemy import create_engine, text

from service.store.sql import engine_url
from tests.conftest import COURSE_RUN
from tests.live import LONG_RUN, Server

pytestmark = pytest.mark.cluster

LEASE = 2.0


@pytest.fixture
def replica(tmp_path: Path, postgres_url: str) -> Iterator[Any]:
    """Starts replicas on the test's database (`replica("a", **settings)`); every one is stopped at the end."""
    started: list[Server] = []

    def start(name: str, **settings: str) -> Server:
        started.append(
            Server(tmp_path / f"{name}.sqlite3", DESCENT_STORE_URL=postgres_url, DESCENT_LEASE_SECONDS=str(LEASE),
                   **settings)
        )  # fmt: skip
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def owner_of(url: str, run_id: str) -> str:
    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as db:
            return str(db.execute(text("SELECT owner FROM runs WHERE id = :id"), {"id": run_id}).scalar_one())
    finally:
        engine.dispose()


def wait_until(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_run_on_a_is_followed_from_b_through_drops_resumed_alternately_every_row_once(replica: Any) -> None:
    a, b = replica("a"), replica("b")
    spec = {**LONG_RUN, "steps": 400_000}  # a crawl: 40,001 rows, recorded every 10 steps
    with a.client(timeout=60) as on_a, b.client(timeout=60) as on_b:
        run_id = on_a.post("/v1/runs", params={"wait": "false"}, json=spec).json()["id"]
        steps: list[int] = []
        last: str | None = None
        for client, drop_after in ((on_b, 1_000), (on_a, 15_000), (on_b, None)):
            headers = {"Last-Event-ID": last} if last is not None else {}
            with connect_sse(client, "GET", f"/v1/runs/{run_id}/events", headers=headers) as source:
                for event in source.iter_sse():
                    if event.event == "step":
                        steps.append(int(event.id))
                        last = event.id
                    if event.event == "end" or (drop_after is not None and len(steps) >= drop_after):
                        break  # a dropped connection: the client resumes on the other replica
        assert steps == list(range(0, 400_001, 10))  # no gap, no duplicate
        assert on_b.get(f"/v1/runs/{run_id}").json()["status"] == "finished"


def test_a_killed_replicas_run_is_failed_by_the_other_within_the_lease(replica: Any) -> None:
    a = replica("a")
    with a.client() as on_a:
        run_id = on_a.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        wait_until(lambda: on_a.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["trace"]["step"] != [])
    b = replica("b")  # started after A took the run, so the run is A's
    a.kill()
    killed = time.monotonic()
    with b.client() as on_b:
        wait_until(lambda: on_b.get(f"/v1/runs/{run_id}").json()["status"] == "failed", seconds=3 * LEASE)
        took = time.monotonic() - killed
        run = on_b.get(f"/v1/runs/{run_id}").json()
    print(f"replica killed -> its run failed on the other replica after {took:.2f} s (lease {LEASE:g} s)")
    assert took <= LEASE * 1.2 + 0.5  # the lease, one heartbeat of delay, and the poll
    assert "stopped renewing its lease" in run["error"]
    steps = run["trace"]["step"]
    assert steps[:3] == [0, 10, 20]
    assert steps == list(range(0, 10 * len(steps), 10))  # the rows A stored are kept


def test_a_run_queued_on_a_busy_replica_is_executed_by_the_other(replica: Any, postgres_url: str) -> None:
    a = replica("a", DESCENT_MAX_CONCURRENT_RUNS="1", DESCENT_INLINE_RUN_WORK="0")  # no run computed in a request
    with a.client(timeout=60) as on_a:
        busy = on_a.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        wait_until(lambda: on_a.get(f"/v1/runs/{busy}").json()["status"] == "running")
        b = replica("b")
        answer = on_a.post("/v1/runs", json=COURSE_RUN)  # waited: A's one worker is busy, B's is free
        assert answer.status_code == 201
        course = answer.json()
        assert course["status"] == "finished"
        assert course["trace"]["w"][:2] == [5.0, pytest.approx(2.6)]
        assert on_a.get(f"/v1/runs/{busy}").json()["status"] == "running"  # A is still on its long run
    assert owner_of(postgres_url, course["id"]).startswith(f"{socket.gethostname()}:{b.process.pid}:")
    assert owner_of(postgres_url, busy).startswith(f"{socket.gethostname()}:{a.process.pid}:")


def test_a_run_on_a_is_cancelled_from_b(replica: Any) -> None:
    a = replica("a")
    with a.client() as on_a:
        run_id = on_a.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        wait_until(lambda: on_a.get(f"/v1/runs/{run_id}").json()["status"] == "running")
        b = replica("b")
        with b.client() as on_b:
            cancelled = on_b.delete(f"/v1/runs/{run_id}")  # answered once A's worker has stopped the run
            run = on_a.get(f"/v1/runs/{run_id}").json()
    assert (cancelled.status_code, cancelled.json()["status"]) == (202, "cancelled")
    assert run["status"] == "cancelled"
    assert 0 < len(run["trace"]["step"]) < 100_001
