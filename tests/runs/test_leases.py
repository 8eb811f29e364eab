"""A server process's heartbeat: it renews the leases of its own jobs and fails other processes' running jobs whose
leases ran out, telling whoever waits on them."""

import time

from service.runs.leases import Leases
from service.store.base import RUN, RunStore, Status
from tests.runs.support import queue_run, run_document, wait_for


def running(store: RunStore, owner: str, lease_seconds: float) -> str:
    run_id = queue_run(store, run_document(), owner=None)
    assert store.claim(owner, lease_seconds, [RUN], run_id) is not None
    store.append(run_id, None, status=Status.RUNNING, owner=owner)
    return run_id


def test_a_beat_keeps_its_own_jobs_and_fails_the_dead_owners(store: RunStore) -> None:
    mine, theirs = running(store, "me", -1), running(store, "dead", -1)
    told: list[list[str]] = []
    assert Leases(store, "me", 10, on_expired=told.append).beat() == [theirs]
    assert told == [[theirs]]
    assert [store.get(run_id).status for run_id in (mine, theirs)] == [Status.RUNNING, Status.FAILED]  # type: ignore[union-attr]


def test_the_heartbeat_runs_until_stopped(store: RunStore) -> None:
    mine = running(store, "me", 1)
    leases = Leases(store, "me", 1)
    leases.start()
    try:
        time.sleep(1.5)  # past the lease it was claimed with: only the heartbeat kept it
        theirs = running(store, "dead", 0.2)
        wait_for(lambda: store.get(theirs).status == Status.FAILED)  # type: ignore[union-attr]
        assert store.get(mine).status == Status.RUNNING  # type: ignore[union-attr]
    finally:
        leases.stop()
