"""Whose turn it is to write a SQLite file, across the threads of a process and across processes.

SQLite lets one writer in at a time, but a writer that finds the file locked sleeps in its busy handler (1, 2, 5,
10, ... ms) however soon the lock is free. With a few requests per process storing tiny runs at once, and two or
more processes on one store, that sleeping set the pace: measured with two uvicorn workers at 8 connections, the
server's processes used 1.3 of 2 cores and p99 reached 0.5 s. Writers here take turns instead: first on a lock of
the process (a waiting thread starts the moment the one before it lets go), then on an `flock` of a file beside the
database, looked at again after 20 µs, 40, 80, ... up to every millisecond (a tiny run's transaction takes about a
tenth of one). A writer waits up to WAIT_S, as it waited for SQLite's lock, and then gets "database is locked"; a
blocking `flock` would start sooner but wait forever on a process stopped mid-write. SQLite's own lock still guards
the data: the turn only orders the writers that take it, and one that does not (another program on the file) meets
the busy handler as before.
"""

import fcntl
import os
import threading
import time
from types import TracebackType

WAIT_S = 30.0
"""How long a writer waits for its turn, as SQLite's busy timeout did, before it gives up."""
FIRST_PAUSE_S, LAST_PAUSE_S = 20e-6, 1e-3
"""A writer whose turn another process holds looks again after 20 µs, then twice as long each time, up to 1 ms."""


class WriterTurn:
    """A process lock, then an `flock` of `<database>-writers` (none for `:memory:`, which no other process sees).
    The file is opened per process: a forked child shares its parent's open file, and with it the parent's lock."""

    def __init__(self, database: str) -> None:
        self._path = None if database == ":memory:" else f"{database}-writers"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def take(self, blocking: bool = True, timeout: float = WAIT_S) -> bool:
        """Take the turn, waiting for it up to `timeout` seconds or (`blocking=False`) only if it is free; whether
        it was taken."""
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(blocking, timeout if blocking else -1):
            return False
        if self._path is None:
            return True
        try:
            fd, pause = self._file(), FIRST_PAUSE_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if not blocking or time.monotonic() >= deadline:
                        self._threads.release()
                        return False
                # Another process writes: its transactions take a fraction of a millisecond, so look again soon
                # (a blocking flock would start at once, but could wait forever on a process stopped mid-write).
                time.sleep(pause)
                pause = min(2 * pause, LAST_PAUSE_S)
        except BaseException:
            self._threads.release()
            raise

    def give(self) -> None:
        """End the turn taken by `take`."""
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    def _file(self) -> int:
        assert self._path is not None
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666), os.getpid()
        return self._fd

    def __enter__(self) -> "WriterTurn":
        if not self.take():
            raise TimeoutError(f"no writer's turn within {WAIT_S:g} s")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.give()
