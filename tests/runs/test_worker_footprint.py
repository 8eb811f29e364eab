"""A worker process of `python -m service` (what `make run` starts) loads no web stack, no Pydantic and no pyarrow,
and stays within its memory budget, while it executes a run.

The budget is on the worker's private memory, in two parts measured apart: the worker itself (the engine and the
store, with the compiled kernels off: about 21 MB), and with Numba and the kernels every run uses (about 89 MB;
each optimizer's own kernels load on its first run, and this run's formula loss takes none: 141 MB with every
kernel of both dtypes). It is read once it has stopped growing: the kernels load in a background thread, so an
early reading would measure a worker half loaded."""

import time
from pathlib import Path

import pytest

from tests.live import LONG_RUN, Server

pytestmark = pytest.mark.live

FORBIDDEN_LIBRARIES = ("pydantic_core", "pyarrow", "libarrow")
NUMBA_LIBRARY = "libllvmlite"
BUDGET_MB = {"numpy": 40, "auto": 110}
"""The private memory a worker may use: without the kernels, and with them loaded (DESCENT_KERNELS)."""
STEPS = 20_000_000
"""A crawl still computing once the worker has settled: waiting for the kernels to load and the memory to stop
growing takes several seconds on a busy machine, more than the 10^6 steps of LONG_RUN (about 4 s on the formula's
NumPy path). The server's step limit is raised for it."""


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


def private_mb(pid: int) -> float:
    """The process's resident anonymous memory (`RssAnon`): what it holds alone. The resident pages of shared
    libraries (`RssFile`: Numba's LLVM is a 170 MB file) are shared by every process that maps them and evicted
    when memory is short; how many of them count depends on the page cache, not on the worker."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("RssAnon:"))
    return int(line.split()[1]) / 1024


def settled_private_mb(pid: int, kernels: bool, timeout: float = 60) -> float:
    """The worker's private memory once the kernels are mapped (when they load) and it grew under 1 MB in 1 s."""
    deadline, previous = time.monotonic() + timeout, -1.0
    while time.monotonic() < deadline:
        loaded = NUMBA_LIBRARY in Path(f"/proc/{pid}/maps").read_text()
        current = private_mb(pid)
        if loaded == kernels and current - previous < 1:
            return current
        previous = current
        time.sleep(1)
    raise AssertionError(f"worker {pid} did not settle in {timeout:g} s (last {previous:.1f} MB)")


@pytest.mark.parametrize("kernels", ["numpy", "auto"])
def test_a_worker_executing_a_run_loads_no_pydantic_or_pyarrow_and_stays_within_its_budget(
    tmp_path: Path, kernels: str
) -> None:
    server = Server(
        tmp_path / "runs.sqlite3",
        DESCENT_MAX_CONCURRENT_RUNS="1",
        DESCENT_KERNELS=kernels,
        DESCENT_MAX_STEPS=str(STEPS),
    )
    spec = {**LONG_RUN, "steps": STEPS, "record": {"every": 1000}}
    try:
        with server.client() as client:
            created = client.post("/v1/runs", params={"wait": "false"}, json=spec)
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
                used = settled_private_mb(pid, kernels=kernels != "numpy")
                maps = Path(f"/proc/{pid}/maps").read_text()
                loaded = sorted({name for name in FORBIDDEN_LIBRARIES if name in maps})
                assert not loaded, f"worker {pid} has {loaded} loaded"
                assert used < BUDGET_MB[kernels], f"worker {pid} uses {used:.1f} MB"
            assert client.get(f"/v1/runs/{run_id}", params={"max_points": 2}).json()["status"] == "running"
            client.delete(f"/v1/runs/{run_id}")
    finally:
        server.stop()
