"""The shared queue and leases, on both backends: claims take the oldest queued job nobody owns, never the same
one twice; a heartbeat extends only its owner's leases; a lease that ran out fails a running job (rows kept) and
puts a claimed, unstarted one back in the queue; a queued job nobody claimed is cancelled at once."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from service.clock import now
from service.engine.trace import Trace
from service.store.base import LEASE_EXPIRED, RUN, JobRecord, NotOwnedError, RunRecord, RunStore, Status
from tests.store.conftest import query

KINDS = [RUN, "sweep", "lr_finder", "landscape"]


def queue_run(store: RunStore, run_id: str) -> None:
    store.insert(RunRecord(run_id, None, Status.QUEUED, now(), None, {"steps": 3, "id": run_id}, None, "float64", 0))


def queue_job(store: RunStore, job_id: str, kind: str = "sweep") -> None:
    store.insert_job(JobRecord(job_id, kind, None, Status.QUEUED, now(), None, {"kind": kind, "id": job_id}))


def rows(count: int) -> Trace:
    return Trace(
        np.arange(count, dtype=np.int64),
        np.ones((count, 1)),
        np.ones(count),
        np.full(count, 0.1),
        np.ones((count, 1)),
    )


def test_claims_take_the_oldest_queued_job_of_the_kinds_asked_with_its_spec(store: RunStore) -> None:
    queue_run(store, "r1")
    time.sleep(0.002)  # creation times have milliseconds
    queue_job(store, "s1")
    time.sleep(0.002)
    queue_run(store, "r2")
    time.sleep(0.002)
    queue_job(store, "l1", "landscape")
    claimed = [store.claim("a", 10, KINDS) for _ in range(4)]
    assert [(c.kind, c.id) for c in claimed if c is not None] == [
        ("run", "r1"), ("sweep", "s1"), ("run", "r2"), ("landscape", "l1")
    ]  # fmt: skip
    assert claimed[0] is not None
    assert claimed[0].spec == {"steps": 3, "id": "r1"}
    assert store.claim("a", 10, KINDS) is None  # nothing left
    assert sorted(store.unfinished()) == [("r1", "a"), ("r2", "a")]


def test_a_claim_takes_only_its_kinds_or_the_job_named(store: RunStore) -> None:
    queue_job(store, "s1")
    queue_run(store, "r1")
    queue_run(store, "r2")
    claimed = store.claim("a", 10, [RUN])
    assert claimed is not None
    assert claimed.id == "r1"  # the older sweep is not among the kinds
    named = store.claim("a", 10, ["sweep"], job_id="s1")
    assert named is not None
    assert (named.kind, named.id) == ("sweep", "s1")
    assert store.claim("b", 10, ["sweep"], job_id="s1") is None  # taken
    assert store.claim("b", 10, [RUN], job_id="nope") is None


def test_concurrent_claimers_never_take_the_same_job(store: RunStore) -> None:
    for index in range(40):
        queue_run(store, f"r{index:02}")

    def claim_all(owner: str) -> list[str]:
        taken = []
        while (claim := store.claim(owner, 10, KINDS)) is not None:
            taken.append(claim.id)
        return taken

    with ThreadPoolExecutor(4) as claimers:
        taken = list(claimers.map(claim_all, ["a", "b", "c", "d"]))
    everything = [job_id for ids in taken for job_id in ids]
    assert sorted(everything) == [f"r{index:02}" for index in range(40)]  # each exactly once


def test_a_lease_that_ran_out_fails_a_running_job_keeping_its_rows(store: RunStore) -> None:
    queue_run(store, "dead")
    queue_run(store, "alive")
    queue_job(store, "dead-sweep")
    store.claim("a", -1, KINDS)  # the lease ran out a second ago: its owner stopped renewing
    store.claim("b", 60, KINDS)
    store.claim("a", -1, KINDS, job_id="dead-sweep")
    store.append("dead", rows(5), status=Status.RUNNING, owner="a")
    store.append("alive", rows(5), status=Status.RUNNING, owner="b")
    store.job_progress("dead-sweep", 3, owner="a")
    assert sorted(store.expire_leases()) == ["dead", "dead-sweep"]
    dead, alive, sweep = store.get("dead"), store.get("alive"), store.get_job("dead-sweep")
    assert dead is not None
    assert alive is not None
    assert sweep is not None
    assert (dead.status, dead.error) == (Status.FAILED, LEASE_EXPIRED.format(what="run", kept="rows"))
    assert dead.finished_at is not None
    assert (sweep.status, sweep.error) == (Status.FAILED, LEASE_EXPIRED.format(what="job", kept="results"))
    assert alive.status == Status.RUNNING
    kept = store.trace("dead")
    assert kept is not None
    assert kept.step.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(NotOwnedError):  # the dead owner's worker, if it lives on, writes nothing more
        store.append("dead", rows(1), owner="a")
    assert store.expire_leases() == []


def test_a_claimed_job_not_yet_started_goes_back_to_the_queue_when_its_lease_runs_out(store: RunStore) -> None:
    queue_run(store, "r1")
    store.claim("a", -1, KINDS)
    assert store.expire_leases() == []  # not failed: it never started
    record = store.get("r1")
    assert record is not None
    assert record.status == Status.QUEUED
    again = store.claim("b", 10, KINDS)
    assert again is not None
    assert again.id == "r1"


def test_a_heartbeat_renews_only_its_owners_active_leases(store: RunStore) -> None:
    for run_id in ("mine", "theirs", "done"):
        queue_run(store, run_id)
    store.claim("a", -1, KINDS)
    store.claim("b", -1, KINDS)
    store.claim("a", -1, KINDS)
    store.finish("done", None, Status.FINISHED, now(), None, owner="a")
    assert store.renew_leases("a", 60) == 1  # "mine"; "done" has ended
    store.append("mine", None, status=Status.RUNNING, owner="a")
    store.append("theirs", None, status=Status.RUNNING, owner="b")
    assert store.expire_leases() == ["theirs"]


def test_cancelling_a_queued_job_nobody_claimed_ends_it_at_once(store: RunStore) -> None:
    queue_run(store, "waiting")
    queue_run(store, "claimed")
    store.claim("a", 10, KINDS, job_id="claimed")
    store.request_cancel("waiting", "client")
    store.request_cancel("claimed", "client")
    waiting, claimed = store.get("waiting"), store.get("claimed")
    assert waiting is not None
    assert claimed is not None
    assert (waiting.status, waiting.finished_at is not None) == (Status.CANCELLED, True)
    assert claimed.status == Status.QUEUED  # its worker stops it (it asks before it starts)
    assert store.cancel_reason("claimed") == "client"
    assert store.claim("b", 10, KINDS) is None  # a cancelled job is never claimed


def test_leases_are_measured_by_the_databases_clock(store: RunStore, location: str) -> None:
    queue_run(store, "r1")
    store.claim("a", 30, KINDS)
    lease: Any = query(location, "SELECT lease_until FROM runs WHERE id = 'r1'")
    assert abs(float(lease) - (time.time() + 30)) < 5  # this machine's clock and the database's agree
