"""The WAL copied back into the database by a thread of its own, outside the writers' turn.

SQLite checkpoints a WAL when a commit leaves it over 1,000 pages: the committing connection copies the frames into
the database and syncs both, milliseconds on a slow disk, while it still holds the writers' turn (`WriterTurn`),
so every writer of every process waits for it. Runs stored from the event loop (`SQLiteStore.create_now`) commit
without that (`wal_autocheckpoint=0`) and ask this thread instead, every so many commits: a PASSIVE checkpoint
copies what no reader still needs and waits for no writer.
"""

import logging
import os
import sqlite3
import threading
from collections.abc import Callable

logger = logging.getLogger("service.store")


class Checkpointer:
    """Checkpoints the WAL when asked (`ask`), in a daemon thread started on first use in each process."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ask(self) -> None:
        """Have the WAL checkpointed soon; returns at once."""
        if self._thread is None or self._pid != os.getpid():  # a forked child has no copy of the thread
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
            self._thread.start()
        self._wanted.set()

    def close(self) -> None:
        self._closed = True
        self._wanted.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=30)
        self._thread = None

    def _run(self) -> None:
        db = self._connect()
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._closed:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # the next commit's SQLite auto-checkpoint, or the next ask, does it then
                    logger.exception("WAL checkpoint failed")
        finally:
            db.close()
