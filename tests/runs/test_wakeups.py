"""Wake-ups: a waiter on a job returns as soon as the job is woken from any thread, or after the poll interval."""

import asyncio
import threading
import time

import anyio

from service.runs.wakeups import Wakeups
from tests.runs.support import run_async


def test_a_wake_from_another_thread_ends_the_wait_at_once() -> None:
    async def main() -> tuple[float, float]:
        wakeups = Wakeups(poll_seconds=5)
        wakeups.bind(asyncio.get_running_loop())
        threading.Timer(0.05, wakeups.wake, ["job"]).start()
        started = time.monotonic()
        await wakeups.wait("job")
        woken = time.monotonic() - started
        threading.Timer(0.05, wakeups.wake, [None]).start()  # everyone
        started = time.monotonic()
        await wakeups.wait("other")
        return woken, time.monotonic() - started

    woken, everyone = run_async(main)
    assert woken < 1
    assert everyone < 1


def test_without_a_wake_a_wait_lasts_the_poll_interval_and_other_jobs_wakes_do_not_end_it() -> None:
    async def main() -> float:
        wakeups = Wakeups(poll_seconds=0.2)
        wakeups.bind(asyncio.get_running_loop())
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(wakeups.wait, "job")
            await anyio.sleep(0.01)
            wakeups.wake("another job")
        return time.monotonic() - started

    assert run_async(main) >= 0.19
