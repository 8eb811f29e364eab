"""No crash loses or rewrites a run, against real servers: a killed worker fails only its own run, workers do not
outlive their server, a recovered run stays failed, and a run past its wall-clock budget ends with its rows."""

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_live_runs import worker_processes
from tests.live import Server, wait_for

pytestmark = pytest.mark.live

SLOW_RUN: dict[str, Any] = {
    "loss": {"kind": "expression", "formula": "(w[0] + 1)**2 + (w[1] + 1)**2"},
    "w0": [5, 5],
    "schedule": 1e-7,
    "optimizer": {"kind": "torch.Adam"},
    "steps": 1_000_000,
    "record": {"every": 1000},
}
"""Adam on two dimensions for a million steps: tens of seconds of work, far longer than any test waits (a formula
stays on the engine's NumPy path)."""


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
            # DELETE waits up to 5 s for the worker to stop the run: on a loaded machine it may answer before
            for run_id in (survivor, ids[2]):
                assert client.delete(f"/v1/runs/{run_id}").status_code == 202
                assert wait_for(lambda run_id=run_id: status(client, run_id) == "cancelled")
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


def peak_rss(pid: int) -> int:
    """VmHWM, the most resident memory the process has had, in bytes."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_twenty_concurrent_big_landscapes_keep_memory_bounded(tmp_path: Path) -> None:
    """The 20 requests that took a server to 16.8 GB: each is admitted by the pool or refused with 429, and the
    server and its workers stay within a few hundred MB."""
    formula = "*".join(f"(x + {i})" for i in range(1, 40)) + " + y"
    body = {"loss": {"kind": "expression", "formula": formula}, "bounds": [[-3, 3], [-3, 3]], "resolution": 1000}
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_CONCURRENT_RUNS="2", DESCENT_MAX_QUEUED_RUNS="8")
    try:
        with ThreadPoolExecutor(20) as pool, server.client(timeout=120) as client:
            answers = list(pool.map(lambda _: client.post("/v1/landscape", json=body), range(20)))
            statuses = sorted(answer.status_code for answer in answers)
            workers = worker_processes(server)
            peaks = [peak_rss(server.process.pid), *(peak_rss(pid) for pid in workers)]
    finally:
        server.stop()
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= 10  # the 2 workers and 8 places in the queue
    assert all(answer.headers["Retry-After"] for answer in answers if answer.status_code == 429)
    assert sum(peaks) < 1.5 * 2**30, [f"{peak / 2**20:.0f} MB" for peak in peaks]


def test_a_job_beyond_the_memory_limit_is_refused_naming_the_setting(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_JOB_MEMORY_MB="16")
    try:
        with server.client() as client:
            body = {"loss": {"kind": "quadratic"}, "bounds": [[-3, 3], [-3, 3]], "resolution": 1000}
            refused = client.post("/v1/landscape", json=body)
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["loc"] == ["resolution"]
            assert "DESCENT_MAX_JOB_MEMORY_MB" in refused.json()["detail"]
            assert client.post("/v1/landscape", json={**body, "resolution": 100}).status_code == 200
    finally:
        server.stop()


def test_healthz_stays_quick_while_a_million_row_csv_is_read(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3")
    try:
        with server.client(timeout=120) as client:
            crawl = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 1e-7}
            run = client.post("/v1/runs", params={"max_points": 2}, json={**crawl, "steps": 1_000_000}).json()
            latencies: list[float] = []

            def read_csv() -> int:
                """Three reads one after the other: the CSV is encoded in about a second, too short alone."""
                counts = set()
                for _ in range(3):
                    with client.stream("GET", f"/v1/runs/{run['id']}", params={"format": "csv"}) as answer:
                        counts.add(sum(line.count("\n") for line in answer.iter_text()))
                assert len(counts) == 1
                return counts.pop()

            with ThreadPoolExecutor(1) as reader, server.client() as probe:
                rows = reader.submit(read_csv)
                while not rows.done():
                    started = time.monotonic()
                    assert probe.get("/healthz").status_code == 200
                    latencies.append(time.monotonic() - started)
                    time.sleep(0.01)
                assert rows.result() == 1_000_002  # the header and rows 0..1,000,000
    finally:
        server.stop()
    latencies.sort()
    assert len(latencies) > 20
    assert latencies[int(0.95 * len(latencies))] < 0.25, f"p95 {latencies[int(0.95 * len(latencies))]:.3f} s"


def test_big_answers_in_flight_share_a_memory_budget_and_give_it_back(tmp_path: Path) -> None:
    """A second big read while one is being sent waits, then gets 429 naming the setting; a read that was
    abandoned half-way gives its room back."""
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_ANSWER_MEMORY_MB="16")
    try:
        with server.client(timeout=120) as client, server.client(timeout=120) as other:
            crawl = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 1e-7}
            run_id = client.post("/v1/runs", params={"wait": "false"}, json={**crawl, "steps": 1_000_000}).json()["id"]
            wait_for(lambda: status(client, run_id) == "finished", timeout=60)
            csv = {"format": "csv"}
            with client.stream("GET", f"/v1/runs/{run_id}", params=csv) as first:
                assert first.status_code == 200
                chunks = first.iter_bytes()  # kept: a dropped iterator would close the stream
                next(chunks)  # the first read holds its room while it is being sent
                refused = other.get(f"/v1/runs/{run_id}", params=csv)
                assert refused.status_code == 429
                assert refused.headers["Retry-After"]
                assert "DESCENT_MAX_ANSWER_MEMORY_MB" in refused.json()["detail"]
            wait_for(lambda: other.get(f"/v1/runs/{run_id}", params={"max_points": 5}).status_code == 200, timeout=10)
            assert other.get(f"/v1/runs/{run_id}", params=csv).text.count("\n") == 1_000_002
    finally:
        server.stop()
