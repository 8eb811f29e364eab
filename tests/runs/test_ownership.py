"""Ownership and recovery: a job belongs to the server process that stored it (`host:pid:start`); at startup, runs
and jobs whose owner died are marked failed with a reason, their stored rows kept; live owners' are left alone."""

import os
import socket
import subprocess

import numpy as np
import pytest

from service.clock import now
from service.engine.execute import run_one
from service.runs.job import JobKind
from service.runs.ownership import is_alive, process_identity, recover
from service.specs.build import build_problem
from service.store.base import RunStore, Status
from tests.runs.support import (
    COURSE_RUN,
    PARABOLA,
    assert_same_rows,
    landscape_document,
    queue_job,
    queue_run,
    run_document,
    sweep_document,
)

HOST = socket.gethostname()
LANDSCAPE = landscape_document({"loss": PARABOLA, "bounds": [[-1, 1]]})
RUN_LOST = "The server stopped while this run was executing; the rows stored until then are kept."
JOB_LOST = "The server stopped while this job was computing."


@pytest.fixture(scope="module")
def dead_owner() -> str:
    """The identity of a process that lived on this host and has ended (and been reaped)."""
    child = subprocess.Popen(["sleep", "60"])
    identity = process_identity(child.pid)
    assert is_alive(identity)
    child.kill()
    child.wait()
    return identity


def test_this_process_is_identified_by_host_pid_and_start_time_and_is_alive() -> None:
    identity = process_identity()
    host, pid, start = identity.split(":")
    assert (host, int(pid)) == (HOST, os.getpid())
    assert start.isdigit()
    assert process_identity(os.getpid()) == identity  # stable
    assert is_alive(identity)


def test_an_ended_process_is_not_alive(dead_owner: str) -> None:
    assert dead_owner.startswith(f"{HOST}:")
    assert not is_alive(dead_owner)
    pid = int(dead_owner.split(":")[1])
    assert process_identity(pid) == f"{HOST}:{pid}:?"  # nothing left to read its start time from


@pytest.mark.parametrize(
    ("owner", "alive"),
    [
        (None, False),  # stored without an owner: nobody will finish it
        (f"{HOST}:{os.getpid()}:1", False),  # this pid, but a later process than the owner: the pid was reused
        (f"{HOST}:not-a-pid:1", False),
        ("another-host:1:1", True),  # another host's process cannot be checked from here: assumed alive
    ],
    ids=["no-owner", "reused-pid", "bad-pid", "another-host"],
)
def test_whether_an_owner_lives(owner: str | None, alive: bool) -> None:
    assert is_alive(owner) is alive


def test_a_live_owner_of_another_user_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.kill(pid, 0) on another user's live process raises PermissionError (simulated: these tests run as root)."""
    identity = process_identity()

    def not_permitted(pid: int, signal: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("service.runs.ownership.os.kill", not_permitted)
    assert is_alive(identity)


def test_recovery_fails_the_dead_owners_computing_runs_and_jobs_keeps_their_rows_and_requeues_the_rest(
    store: RunStore, dead_owner: str
) -> None:
    document = run_document()
    rows = run_one(build_problem(document)).trace.take(np.arange(12))
    running = queue_run(store, document, dead_owner)
    store.append(running, rows, status=Status.RUNNING)
    queued = queue_run(store, document, dead_owner)
    orphan = queue_run(store, document, owner=None)
    ended = queue_run(store, document, dead_owner)
    store.finish(ended, rows, Status.FINISHED, now(), {"verdict": "converged"})
    sweep, meta, steps = sweep_document({"base": COURSE_RUN, "axes": [{"path": "w0", "values": [1, 2]}]})
    computing = queue_job(store, JobKind.SWEEP, sweep, meta, steps, dead_owner)
    store.job_progress(computing, 20)
    landscape = queue_job(store, JobKind.LANDSCAPE, LANDSCAPE, owner=None)
    claimed = queue_job(store, JobKind.LANDSCAPE, LANDSCAPE, owner=dead_owner)  # claimed, never started

    assert recover(store) == [running]

    record = store.get(running)
    assert record is not None
    assert (record.status, record.error, record.summary) == (Status.FAILED, RUN_LOST, None)
    assert record.finished_at is not None
    assert_same_rows(store.trace(running), rows)
    finished = store.get(ended)
    assert finished is not None
    assert (finished.status, finished.error) == (Status.FINISHED, None)  # an ended run is not touched
    job = store.get_job(computing)
    assert job is not None
    assert (job.status, job.error, job.progress) == (Status.FAILED, JOB_LOST, 20)
    # jobs nobody owns wait in the shared queue for any server process; the dead owner's unstarted ones join them
    assert sorted(store.unfinished()) == sorted([(queued, None), (orphan, None)])
    assert sorted(store.unfinished_jobs()) == sorted([(landscape, None), (claimed, None)])
    requeued = store.get(queued)
    assert requeued is not None
    assert (requeued.status, requeued.error) == (Status.QUEUED, None)
    assert recover(store) == []  # nothing left to recover


def test_recovery_leaves_live_owners_runs_and_jobs_alone(store: RunStore) -> None:
    document = run_document()
    mine = queue_run(store, document, process_identity())
    elsewhere = queue_run(store, document, "another-host:1:1")
    job = queue_job(store, JobKind.LANDSCAPE, LANDSCAPE, owner=process_identity())
    assert recover(store) == []
    assert sorted(store.unfinished()) == sorted([(mine, process_identity()), (elsewhere, "another-host:1:1")])
    assert store.unfinished_jobs() == [(job, process_identity())]
    for run_id in (mine, elsewhere):
        record = store.get(run_id)
        assert record is not None
        assert (record.status, record.error) == (Status.QUEUED, None)


def test_recovery_asks_the_given_liveness_check(store: RunStore) -> None:
    document = run_document()
    owners = {"a": queue_run(store, document, "h:1:a"), "b": queue_run(store, document, "h:2:b")}
    store.append(owners["b"], None, status=Status.RUNNING)
    job = queue_job(store, JobKind.LANDSCAPE, LANDSCAPE, owner="h:2:b")
    store.job_progress(job, -1)  # computing
    asked: list[str | None] = []

    def alive(owner: str | None) -> bool:
        asked.append(owner)
        return owner == "h:1:a"

    assert recover(store, alive) == [owners["b"]]
    assert set(asked) == {"h:1:a", "h:2:b"}
    assert [(run_id, owner) for run_id, owner in store.unfinished()] == [(owners["a"], "h:1:a")]
    lost = store.get(owners["b"])
    assert lost is not None
    assert (lost.status, lost.error) == (Status.FAILED, RUN_LOST)
    failed = store.get_job(job)
    assert failed is not None
    assert failed.status == Status.FAILED
