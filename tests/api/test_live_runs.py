"""Live runs against a real uvicorn server with worker processes, read with a maintained SSE client (httpx-sse)."""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from service.api.schemas import RUN_EVENTS
from tests.conftest import COURSE_RUN, NUMPY_PARABOLA
from tests.live import LONG_RUN, Server, wait_for

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("live") / "runs.sqlite3", DESCENT_MAX_CONCURRENT_RUNS="2")
    yield running
    running.stop()


def events(client: httpx.Client, method: str, url: str, **kwargs: Any) -> list[ServerSentEvent]:
    with connect_sse(client, method, url, **kwargs) as source:
        assert source.response.headers["cache-control"] == "no-cache"
        return list(source.iter_sse())


def data(event: ServerSentEvent) -> Any:
    return orjson.loads(event.data)


def test_post_streams_run_steps_and_end(server: Server) -> None:
    with server.client() as client:
        received = events(client, "POST", "/v1/runs", json=COURSE_RUN)
        assert [e.event for e in received] == ["run"] + ["step"] * 41 + ["end"]
        assert [e.id for e in received[1:-1]] == [str(t) for t in range(41)]
        run = data(received[0])
        assert "trace" not in run
        assert run["spec"]["steps"] == 40
        assert data(received[2]) == {"step": 1, "w": 2.6, "loss": 12.959999, "lr": 0.2, "grad": 7.2}
        for event in received:  # every event's data follows the schema the OpenAPI document gives it
            RUN_EVENTS[event.event][0].model_validate_json(event.data)
        end = data(received[-1])
        assert end["status"] == "finished"
        assert end["summary"]["verdict"] == "converged"
        stored = client.get(f"/v1/runs/{run['id']}").json()
        assert [data(e)["w"] for e in received[1:-1]] == stored["trace"]["w"]


def test_replay_of_a_finished_run_and_resume_with_last_event_id(server: Server) -> None:
    with server.client() as client:
        run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
        replay = events(client, "GET", f"/v1/runs/{run_id}/events")
        assert [e.id for e in replay if e.event == "step"] == [str(t) for t in range(41)]
        resumed = events(client, "GET", f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": "20"})
        assert [data(e)["step"] for e in resumed if e.event == "step"] == list(range(21, 41))
        assert resumed[-1].event == "end"
        after = events(client, "GET", f"/v1/runs/{run_id}/events?after=30")
        assert [data(e)["step"] for e in after if e.event == "step"] == list(range(31, 41))
        both = events(client, "GET", f"/v1/runs/{run_id}/events?after=30", headers={"Last-Event-ID": "35"})
        assert [data(e)["step"] for e in both if e.event == "step"] == list(range(36, 41))


def test_batched_steps_events_are_columnar(server: Server) -> None:
    with server.client() as client:
        run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
        received = events(client, "GET", f"/v1/runs/{run_id}/events", params={"batch": 16})
        batches = [e for e in received if e.event == "steps"]
        assert [e.id for e in batches] == ["15", "31", "40"]
        assert [step for e in batches for step in data(e)["step"]] == list(range(41))
        assert data(batches[0])["w"][:2] == [5.0, 2.6]


def test_interval_paces_the_replay(server: Server) -> None:
    with server.client() as client:
        run_id = client.post("/v1/runs", json={**COURSE_RUN, "steps": 9}).json()["id"]
        started = time.monotonic()
        events(client, "GET", f"/v1/runs/{run_id}/events", params={"interval_ms": 50})
        assert time.monotonic() - started >= 0.45


def watch_with_drops(client: httpx.Client, run_id: str, drop_after: list[int], batch: bool = False) -> list[int]:
    """An EventSource: GET the stream, drop the connection after some rows, reconnect with Last-Event-ID."""
    steps: list[int] = []
    last: str | None = None
    for limit in [*drop_after, None]:
        headers = {"Last-Event-ID": last} if last is not None else {}
        params = {"batch": 1000} if batch else {}
        with connect_sse(client, "GET", f"/v1/runs/{run_id}/events", headers=headers, params=params) as source:
            for event in source.iter_sse():
                if event.event == "end":
                    return steps
                if event.event in ("step", "steps"):
                    step = data(event)["step"]
                    steps += step if isinstance(step, list) else [step]
                    last = event.id
                if limit is not None and len(steps) >= limit:
                    break
    raise AssertionError("the stream never ended")


def test_watch_a_100000_step_run_dropping_the_connection_twice(server: Server) -> None:
    with server.client(timeout=120) as client:
        spec = {**COURSE_RUN, "steps": 100_000, "schedule": 0.001}
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=spec).json()["id"]
        with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:  # one step event per row, too
            first = next(e for e in source.iter_sse() if e.event == "step")
        assert first.id == "0"
        steps = watch_with_drops(client, run_id, drop_after=[30_000, 60_000])
        assert steps == list(range(100_001))


def test_resume_a_running_run_without_gap_or_duplicate(server: Server) -> None:
    with server.client(timeout=120) as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        wait_for(lambda: client.get(f"/v1/runs/{run_id}").json()["status"] == "running")
        steps = watch_with_drops(client, run_id, drop_after=[1, 20_000], batch=True)
        assert client.get(f"/v1/runs/{run_id}").json()["status"] == "finished"
        assert steps == list(range(0, 1_000_001, 10))


def test_delete_cancels_a_running_run_and_keeps_its_rows(server: Server) -> None:
    with server.client() as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        wait_for(lambda: len(client.get(f"/v1/runs/{run_id}", params={"max_points": 3}).json()["trace"]["step"]))
        response = client.delete(f"/v1/runs/{run_id}")
        assert response.status_code == 202
        assert response.json()["status"] == "cancelled"
        run = client.get(f"/v1/runs/{run_id}").json()
        steps = run["trace"]["step"]
        assert run["status"] == "cancelled"
        assert 0 < len(steps) < 100_001
        assert run["summary"]["final"]["step"] == steps[-1]
        assert steps[:-1] == list(range(0, 10 * (len(steps) - 1), 10))  # every 10th row, and the last computed
        assert events(client, "GET", f"/v1/runs/{run_id}/events")[-1].event == "end"
        assert client.delete(f"/v1/runs/{run_id}").status_code == 204
        assert client.get(f"/v1/runs/{run_id}").status_code == 404


def test_disconnecting_from_a_post_stream_cancels_its_run(server: Server) -> None:
    with server.client() as client:
        with connect_sse(client, "POST", "/v1/runs", json=LONG_RUN) as source:
            stream = source.iter_sse()
            run_id = data(next(stream))["id"]
            next(e for e in stream if e.event == "step")
        assert wait_for(lambda: client.get(f"/v1/runs/{run_id}?max_points=2").json()["status"] == "cancelled")


def test_disconnecting_from_an_events_stream_leaves_the_run_alone(server: Server) -> None:
    with server.client() as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
            next(e for e in source.iter_sse() if e.event == "step")

        def progress() -> tuple[str, int]:
            run = client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()
            return run["status"], run["trace"]["step"][-1]

        status, left_at = progress()
        assert status == "running"
        # still computing after the follower left: its rows keep coming (waiting for all 10^6 steps of the formula
        # would take minutes on a loaded machine), then its owner cancels it
        assert wait_for(lambda: progress()[1] > left_at + 10_000, timeout=60)
        assert progress()[0] == "running"
        assert client.delete(f"/v1/runs/{run_id}").status_code == 202  # cancelled by its owner, as it runs
        assert wait_for(lambda: progress()[0] == "cancelled")


def test_unknown_run_events_are_404_not_a_stream(server: Server) -> None:
    with server.client() as client:
        response = client.get("/v1/runs/no-such-run/events", headers={"Accept": "text/event-stream"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_healthz_answers_while_long_runs_execute(server: Server) -> None:
    with server.client() as client:
        ids = [client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"] for _ in range(2)]
        wait_for(lambda: client.get(f"/v1/runs/{ids[0]}?max_points=2").json()["status"] == "running")
        for _ in range(20):
            assert client.get("/healthz", timeout=1).status_code == 200
        for run_id in ids:
            client.delete(f"/v1/runs/{run_id}")


def test_full_pool_answers_429_and_stores_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_CONCURRENT_RUNS="1", DESCENT_MAX_QUEUED_RUNS="0")
    try:
        with server.client() as client:
            busy = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN)
            assert busy.status_code == 202
            refused = client.post("/v1/runs", params={"wait": "false"}, json=COURSE_RUN)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["content-type"] == "application/problem+json"
            assert [run["id"] for run in client.get("/v1/runs").json()["items"]] == [busy.json()["id"]]
            # a tiny waited run needs no worker: it is computed in its request even now
            tiny = client.post("/v1/runs", json=COURSE_RUN)
            assert (tiny.status_code, tiny.json()["status"]) == (201, "finished")
    finally:
        server.stop()


def test_killed_server_leaves_a_failed_run_with_intact_rows(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    server = Server(store)
    with server.client() as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
        wait_for(lambda: len(client.get(f"/v1/runs/{run_id}", params={"max_points": 3}).json()["trace"]["step"]))
    server.kill()
    restarted = Server(store)
    try:
        with restarted.client() as client:
            run = client.get(f"/v1/runs/{run_id}").json()
            assert run["status"] == "failed"
            assert "server stopped" in run["error"]
            steps = run["trace"]["step"]
            assert steps == list(range(0, 10 * len(steps), 10))
            received = events(client, "GET", f"/v1/runs/{run_id}/events")
            assert [e.event for e in received[-2:]] == ["error", "end"]
    finally:
        restarted.stop()


def test_sigterm_ends_open_streams_and_marks_running_runs(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_SHUTDOWN_TIMEOUT="1")
    received: list[str] = []
    with server.client() as client:
        run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]

        def watch() -> None:
            try:
                with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
                    received.extend(e.event for e in source.iter_sse())
            except httpx.HTTPError:
                received.append("dropped")

        watcher = threading.Thread(target=watch)
        watcher.start()
        wait_for(lambda: "step" in received)
        started = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - started
        watcher.join(timeout=30)
    assert stopped_in < 5, f"the server took {stopped_in:.1f} s to stop"
    assert not watcher.is_alive(), "the open stream was left hanging"
    restarted = Server(tmp_path / "runs.sqlite3")
    try:
        with restarted.client() as client:
            run = client.get(f"/v1/runs/{run_id}").json()
            assert run["status"] == "failed"
            assert "shut down" in run["error"]
            steps = run["trace"]["step"]
            assert steps[:-1] == list(range(0, 10 * (len(steps) - 1), 10))
    finally:
        restarted.stop()


def worker_processes(server: Server) -> list[int]:
    """The pool's worker processes: children of the server started by multiprocessing's spawn."""
    children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True, check=False)
    return [int(pid) for pid in children.stdout.split() if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_killed_worker_fails_its_run_and_the_pool_recovers(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3")
    try:
        with server.client() as client:
            run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
            wait_for(lambda: client.get(f"/v1/runs/{run_id}?max_points=2").json()["status"] == "running")
            workers = worker_processes(server)
            assert workers
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            run = wait_for(lambda: (r := client.get(f"/v1/runs/{run_id}").json())["status"] == "failed" and r)
            assert "worker process" in run["error"]
            assert run["trace"]["step"] == list(range(0, 10 * len(run["trace"]["step"]), 10))
            after = client.post("/v1/runs", json=COURSE_RUN)
            assert after.status_code == 201
            assert after.json()["status"] == "finished"
    finally:
        server.stop()


def test_streams_per_client_are_limited(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_STREAMS_PER_CLIENT="1")
    try:
        with server.client() as client, server.client() as other:
            run_id = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN).json()["id"]
            with connect_sse(client, "GET", f"/v1/runs/{run_id}/events") as source:
                stream = source.iter_sse()  # keep it: a dropped iterator closes the response, ending the stream
                next(stream)
                refused = other.get(f"/v1/runs/{run_id}/events")
                assert refused.status_code == 429
                assert refused.headers["retry-after"] == "1"
                assert "open event streams" in refused.json()["detail"]
                posted = other.post("/v1/runs", json=COURSE_RUN, headers={"Accept": "text/event-stream"})
                assert posted.status_code == 429
                assert "descent_active_streams 1.0" in other.get("/metrics").text
            wait_for(lambda: "descent_active_streams 0.0" in other.get("/metrics").text)
            assert events(other, "GET", f"/v1/runs/{run_id}/events", params={"batch": 100_000})[0].event == "run"
            client.delete(f"/v1/runs/{run_id}")
    finally:
        server.stop()


def test_a_burst_over_capacity_stores_exactly_the_accepted_runs(tmp_path: Path) -> None:
    """429s and acceptances race for the pool's places; a refused run is never stored, an accepted one always runs."""
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_CONCURRENT_RUNS="1", DESCENT_MAX_QUEUED_RUNS="2")
    # a crawling rate: at the course's 0.2 the loop reaches a fixed point and fills the rows, and the pool empties
    spec = {**COURSE_RUN, "loss": NUMPY_PARABOLA, "schedule": 1e-6, "steps": 200_000, "record": {"every": 1000}}
    try:
        with server.client() as client:

            def post(_: int) -> httpx.Response:
                return client.post("/v1/runs", params={"wait": "false"}, json=spec)

            with ThreadPoolExecutor(16) as burst:
                answers = list(burst.map(post, range(40)))
            accepted = {r.json()["id"] for r in answers if r.status_code == 202}
            assert {r.status_code for r in answers} == {202, 429}
            stored = client.get("/v1/runs", params={"limit": 100}).json()["items"]
            assert {run["id"] for run in stored} == accepted
            wait_for(
                lambda: all(client.get(f"/v1/runs/{i}?max_points=2").json()["status"] == "finished" for i in accepted),
                timeout=60,
            )
    finally:
        server.stop()
