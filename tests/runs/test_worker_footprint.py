"""A worker process of `python -m service` (what `make run` starts) loads no web stack, no Pydantic and no pyarrow,
and stays small, while it executes a run."""

import time
from pathlib import Path

import pytest

from tests.live import LONG_RUN, Server

pytestmark = pytest.mark.live

FORBIDDEN_LIBRARIES = ("pydantic_core", "pyarrow", "libarrow")
MAX_RSS_MB = 80


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_a_worker_executing_a_run_loads_no_pydantic_or_pyarrow_and_stays_small(tmp_path: Path) -> None:
    server = Server(tmp_path / "runs.sqlite3", DESCENT_MAX_CONCURRENT_RUNS="1")
    try:
        with server.client() as client:
            created = client.post("/v1/runs", params={"wait": "false"}, json=LONG_RUN)
            assert created.status_code == 202, created.text
            run_id = created.json()["id"]
            deadline = time.monotonic() + 30
            while client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["status"] != "running":
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.05)
            # the pool's processes: multiprocessing starts them with `spawn_main` on their command line
            workers = [
                pid
                for pid in children(server.process.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            assert workers, "no worker process found"
            for pid in workers:
                maps = Path(f"/proc/{pid}/maps").read_text()
                loaded = sorted({name for name in FORBIDDEN_LIBRARIES if name in maps})
                assert not loaded, f"worker {pid} has {loaded} loaded"
                assert rss_mb(pid) < MAX_RSS_MB, f"worker {pid} uses {rss_mb(pid):.1f} MB"
            client.delete(f"/v1/runs/{run_id}")
    finally:
        server.stop()
