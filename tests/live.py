"""A real server (`python -m service`, what `make run` starts) on a free loopback port, for end-to-end tests."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import NUMPY_PARABOLA

ROOT = Path(__file__).resolve().parents[1]
LONG_RUN: dict[str, Any] = {
    "loss": NUMPY_PARABOLA,
    "w0": 5,
    "schedule": 1e-6,  # crawls for all its 10^6 steps: at 0.1 the loop would reach a fixed point and fill the rest
    "steps": 1_000_000,
    "record": {"every": 10},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """Starts on construction, waits until `/healthz` answers; `stop()` sends SIGTERM, `kill()` SIGKILL."""

    def __init__(self, store: Path, **environment: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DESCENT_STORE_PATH": str(store), **environment}
        # The log goes to a file: an unread pipe fills up (64 KiB of access log) and then blocks the server.
        self.log = store.with_suffix(f".{self.port}.log")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not answers_healthz(self.url, 30):
            self.stop()
            raise RuntimeError("the server did not start")

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def stop(self) -> str:
        """SIGTERM, wait for the exit, and return the server's log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.log.read_text("utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the server and its worker processes at once, as a crash or an OOM kill would."""
        workers = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False)
        self.process.kill()
        for pid in workers.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        self.process.wait(timeout=30)


def answers_healthz(url: str, seconds: float) -> bool:
    """Whether the server at `url` answers `/healthz` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


def wait_for(predicate: Any, timeout: float = 20, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")
