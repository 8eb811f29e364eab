"""PostgreSQL's LISTEN/NOTIFY as wake-ups: one connection per server process listens on the store's channel and
hands each notification's payload (a job's id, or "queued") to a callback. A wake-up only: whoever is woken reads
the rows from the tables, so a lost notification costs latency, never a row.

Runs in a daemon thread; when the connection drops it reconnects and hands `None` (wake everyone: something may
have been missed)."""

import logging
import threading
from collections.abc import Callable

import psycopg

from service.store.sql import CHANNEL

logger = logging.getLogger("service.store")

RECONNECT_SECONDS = 1.0

Callback = Callable[[str | None], None]


class Listener:
    def __init__(self, url: str, on_notice: Callback) -> None:
        self._url, self._on_notice = url, on_notice
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="store-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._on_notice(None)
                    while not self._stopped.is_set():
                        for notice in connection.notifies(timeout=0.5):
                            self._on_notice(notice.payload)
            except psycopg.Error as exc:
                logger.warning("store listener reconnecting", extra={"error": str(exc)})
                self._stopped.wait(RECONNECT_SECONDS)
