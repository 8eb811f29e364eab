"""The heartbeat of a server process: it renews the leases of the jobs it holds, and fails the running jobs of
any replica whose leases ran out (its process died, or lost the database), keeping their rows; queued jobs a dead
replica had claimed go back to the shared queue. Every replica reaps, so a dead one's jobs end without waiting for
it to come back.

A job is failed between `seconds` and `seconds * (1 + 1 / BEATS)` after its owner's last heartbeat."""

import logging
import threading
from collections.abc import Callable

from service.store.base import RunStore

logger = logging.getLogger("service.runs")

BEATS = 5
"""Heartbeats (and reaping rounds) per lease."""


class Leases:
    def __init__(
        self, store: RunStore, owner: str, seconds: float, on_expired: Callable[[list[str]], object] | None = None
    ) -> None:
        self._store, self._owner, self.seconds = store, owner, seconds
        self._on_expired = on_expired
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="leases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def beat(self) -> list[str]:
        """One round: renew this process's leases, then fail the jobs whose leases ran out; their ids."""
        self._store.renew_leases(self._owner, self.seconds)
        expired = self._store.expire_leases()
        if expired:
            logger.warning("jobs failed: their owner's lease ran out", extra={"job_ids": expired})
            if self._on_expired is not None:
                self._on_expired(expired)
        return expired

    def _beat(self) -> None:
        while not self._stopped.wait(self.seconds / BEATS):
            try:
                self.beat()
            except Exception:  # the database is away for a moment: the next beat retries
                logger.exception("renewing leases failed")
