"""Who owns a job (the server process that stored it), whether that process still lives, and recovery: jobs whose
owner died are marked failed, their stored rows kept."""

import os
import socket
from collections.abc import Callable

from service.clock import now
from service.store.base import RunStore, Status


def process_identity(pid: int | None = None) -> str:
    """`host:pid:start` of a process; the start time tells a live process from a later one with the same pid."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def is_alive(owner: str | None) -> bool:
    """Whether the server process that owns a run still runs (on this host; another host's is assumed alive)."""
    if owner is None:
        return False
    host, pid, _ = owner.split(":", 2)
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except PermissionError:  # the process exists, under another user
        pass
    except (OSError, ValueError):
        return False
    return process_identity(int(pid)) == owner


def recover(store: RunStore, alive: Callable[[str | None], bool] = is_alive) -> list[str]:
    """At start: mark runs (and other jobs) whose server process on this host died while computing them as failed,
    at once rather than when their leases run out; a run's stored rows stay as they are. The ones it had claimed
    but not started go back to the queue, like those nobody claimed. Returns the failed runs' ids."""
    for job_id, owner in store.unfinished_jobs():
        if owner is not None and not alive(owner) and not store.requeue(job_id, owner):
            store.finish_job(job_id, Status.FAILED, now(), error="The server stopped while this job was computing.")
    orphans = [
        run_id
        for run_id, owner in store.unfinished()
        if owner is not None and not alive(owner) and not store.requeue(run_id, owner)
    ]
    for run_id in orphans:
        store.finish(
            run_id,
            None,
            Status.FAILED,
            now(),
            None,
            "The server stopped while this run was executing; the rows stored until then are kept.",
        )
    return orphans
