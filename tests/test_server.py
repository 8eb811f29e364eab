"""A real server (`python -m service`, what `make run` starts) on a loopback port: the README's examples work as
printed, and a restart loses nothing."""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, Server

README = ROOT / "README.md"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "runs.sqlite3")
    yield running
    if running.process.poll() is None:
        running.stop()


def readme_examples() -> list[str]:
    text = README.read_text("utf-8").split("## Examples", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_readme_has_the_course_examples() -> None:
    examples = readme_examples()
    assert len(examples) == 6
    assert '"schedule": 0.2' in examples[0]
    assert "tf1.exponential_decay" in examples[1]


@pytest.mark.live
def test_readme_examples_work_as_printed(server: Server) -> None:
    outputs = []
    for example in readme_examples():
        script = "set -euo pipefail\n" + example.replace("http://127.0.0.1:8000", server.url)
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert '"verdict":"converged"' in outputs[0]
    assert '"w":[5.0,2.6,1.16,0.296,-0.22240001,' in outputs[0]
    assert '"lr":[0.1,0.099,0.09801,' in outputs[1]
    assert '"verdict":"oscillating"' in outputs[2]
    assert "step,w,loss,lr,grad\n0,5.0,36.0,1.0,12.0\n" in outputs[2]
    stream = outputs[3].split("\n\n")
    assert stream[0].startswith("event: run\n")
    assert stream[-2].startswith("event: end\n")
    assert "event: step\ndata: " in stream[2]
    assert stream[2].endswith("id: 1")
    background = outputs[4]
    assert '"status":"cancelled"' in background
    first_batch = next(block for block in background.split("\n\n") if block.startswith("event: steps\n"))
    assert json.loads(first_batch.split("data: ", 1)[1].split("\n", 1)[0])["step"][:2] == [6000, 7000]
    assert '"status":422' in outputs[5]
    assert '"loc":["loss","a"]' in outputs[5]


@pytest.mark.live
def test_a_restart_loses_nothing(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    first = Server(store)
    try:
        body = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
        created = httpx.post(f"{first.url}/v1/runs", json=body).json()
    finally:
        first.stop()
    second = Server(store)
    try:
        assert httpx.get(f"{second.url}/v1/runs/{created['id']}").json() == created
    finally:
        second.stop()


@pytest.mark.live
def test_logs_are_json_lines_with_request_and_run_ids(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3")
    try:
        body = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
        run_id = httpx.post(f"{server.url}/v1/runs", json=body, headers={"X-Request-ID": "req-7"}).json()["id"]
        started = httpx.post(
            f"{server.url}/v1/runs", params={"wait": "false"}, json=body, headers={"X-Request-ID": "req-8"}
        ).json()["id"]
        httpx.get(f"{server.url}/v1/runs/{started}/events")  # until it has ended
    finally:
        log = server.stop()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert records, log
    assert all({"time", "level", "logger", "message", "request_id"} <= set(record) for record in records)
    computed = next(record for record in records if record["message"] == "run ended" and record["run_id"] == run_id)
    assert computed["request_id"] == "req-7"  # a tiny waited run is computed in its request
    queued = next(record for record in records if record["message"] == "run queued")
    assert queued["run_id"] == started
    assert queued["request_id"] == "req-8"
    access = [r for r in records if r["logger"] == "uvicorn.access" and "POST /v1/runs" in r["message"]]
    assert [record["request_id"] for record in access] == ["req-7", "req-8"]
    assert any(r["message"] == "run ended" and r["run_id"] == started for r in records)
