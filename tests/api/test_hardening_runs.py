"""No crash loses or rewrites a run, against real servers: a killed worker fails only its own run, workers do not
outlive their server, a recovered run stays failed, and a run past its wall-clock budget ends with its rows."""

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_live_runs import worker_processes
from tests.live import Server, wait_for

pytestmark = pytest.mark.live

SLOW_RUN: dict[str, Any] = {
    "loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0},
    "w0": [5, 5],
    "schedule": 1e-7,
    "optimizer": {"kind": "torch.Adam"},
    "steps": 1_000_000,
    "record": {"every": 1000},
}
"""Adam on two dimensions for a million steps: tens of seconds of work, far longer than any test waits."""


def status(client: httpx.Client, run_id: str) -> str:
    return str(client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["status"])


def test_a_killed_worker_fails_only_the_run_it_was_executing(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_CONCURRENT_RUNS="2")
    try:
        with server.client() as client:
            ids = [client.post("/v1/runs", params={"wait": "false"}, json=SLOW_RUN).json()["id"] for _ in range(3)]
            wait_for(lambda: [status(client, run_id) for run_id in ids] == ["running", "running", "queued"])
            victim = worker_processes(server)[0]
            os.kill(victim, signal.SIGKILL)
            failed = wait_for(lambda: [run_id for run_id in ids[:2] if status(client, run_id) == "failed"])
            assert len(failed) == 1
            survivor = next(run_id for run_id in ids[:2] if run_id not in failed)
            assert "worker process" in client.get(f"/v1/runs/{failed[0]}").json()["error"]
            wait_for(lambda: status(client, ids[2]) == "running")  # the waiting run got the rebuilt worker
            assert status(client, survivor) == "running"
            for run_id in (survivor, ids[2]):
                assert client.delete(f"/v1/runs/{run_id}").json()["status"] == "cancelled"
    finally:
        server.stop()


def test_workers_exit_with_their_server_and_a_recovered_run_stays_failed(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    first = Server(store)
    with first.client() as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=SLOW_RUN).json()["id"]
        wait_for(lambda: status(client, run_id) == "running")
    workers = worker_processes(first)
    assert workers
    first.process.kill()  # the server alone, as a crash would: its workers are not signalled
    first.process.wait(timeout=10)
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=5)
    second = Server(store)
    try:
        with second.client() as client:
            recovered = client.get(f"/v1/runs/{run_id}").json()
            assert recovered["status"] == "failed"
            time.sleep(1.5)
            assert client.get(f"/v1/runs/{run_id}").json() == recovered
    finally:
        second.stop()


def test_a_run_past_its_budget_ends_failed_with_its_rows(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_RUN_SECONDS="1")
    try:
        with server.client() as client:
            started = time.monotonic()
            run = client.post("/v1/runs", json=SLOW_RUN).json()
            assert time.monotonic() - started < 10
            assert run["status"] == "failed"
            assert "DESCENT_MAX_RUN_SECONDS" in run["error"]
            assert len(run["trace"]["step"]) > 1
            assert run["summary"]["steps_run"] == run["trace"]["step"][-1]
    finally:
        server.stop()
