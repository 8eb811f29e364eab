"""Streams through a proxy that drops the connection mid-run: the client resumes with `Last-Event-ID` by itself,
and every row arrives exactly once, equal to the stored trace."""

import time
from datetime import datetime

import numpy as np
import pytest
from course_specs import COURSE, SLOW
from dropping_proxy import DroppingProxy
from loops import run_in_thread

from descent_client import AsyncClient, Client, RunEnded, RunStarted, Step, Steps, StreamError
from tests.live import Server, wait_for

pytestmark = pytest.mark.live


def test_a_dropped_stream_resumes_with_every_row_once(server: Server, client: Client) -> None:
    info = client.submit(SLOW)
    with DroppingProxy(server.port, cut_after=20_000, cuts=3) as proxy, Client(proxy.url) as proxied:
        events = list(proxied.events(info.id))
        cut_times = list(proxy.cut_times)
    assert proxy.cuts_done == 3
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunEnded)
    assert sum(isinstance(event, RunStarted) for event in events) == 1
    rows = [event for event in events if isinstance(event, Step)]
    stored = client.get(info.id).trace
    assert [row.step for row in rows] == stored.step.tolist()  # each row once, in order, none missing
    np.testing.assert_array_equal(np.asarray([row.w for row in rows], np.float32), stored.w)
    finished = client.info(info.id).finished_at
    assert finished is not None
    assert cut_times[0] < datetime.fromisoformat(finished).timestamp()  # the first drop came while it ran


def test_a_dropped_batched_stream_resumes_too(server: Server, client: Client) -> None:
    run = client.run({**SLOW, "steps": 200_000, "record": {"every": 10}})  # ended: the stream replays it
    with DroppingProxy(server.port, cut_after=30_000, cuts=4) as proxy, Client(proxy.url) as proxied:
        batches = [event.trace for event in proxied.events(run.id, batch=500) if isinstance(event, Steps)]
    assert proxy.cuts_done == 4
    steps = np.concatenate([batch.step for batch in batches])
    np.testing.assert_array_equal(steps, run.trace.step)
    np.testing.assert_array_equal(np.concatenate([batch.loss for batch in batches]), run.trace.loss)


def test_resuming_after_a_step_skips_what_came_before(client: Client) -> None:
    run = client.run(COURSE)
    steps = [event.step for event in client.events(run.id, after=37) if isinstance(event, Step)]
    assert steps == [38, 39, 40]


def test_a_stream_that_keeps_dropping_gives_up(server: Server, client: Client) -> None:
    run = client.run(COURSE)
    with DroppingProxy(server.port, cut_after=0, cuts=100) as proxy, Client(proxy.url, max_reconnects=2) as proxied:
        with pytest.raises(StreamError, match="dropped 3 times"):
            list(proxied.events(run.id))
        assert proxy.cuts_done == 3


def test_leaving_a_stream_early_cancels_its_run(client: Client) -> None:
    stream = client.stream(SLOW)
    started = next(stream)
    assert isinstance(started, RunStarted)
    first = next(stream)
    assert isinstance(first, Step)
    assert first.step == 0
    stream.close()
    assert wait_for(lambda: client.info(started.run.id).status == "cancelled")


def test_wait_reports_progress_until_the_end(client: Client) -> None:
    info = client.submit({**SLOW, "steps": 300_000})
    seen: list[tuple[int, int]] = []
    begun = time.monotonic()
    ended = client.wait(info.id, on_progress=lambda step, steps: seen.append((step, steps)))
    assert ended.status == "finished"
    assert time.monotonic() - begun < 60
    assert seen[-1] == (300_000, 300_000)
    assert [step for step, _ in seen] == sorted(step for step, _ in seen)


def test_the_async_client_resumes_a_dropped_stream_too(server: Server, client: Client) -> None:
    run = client.run({**SLOW, "steps": 100_000, "record": {"every": 100}})

    async def rows(url: str) -> list[int]:
        async with AsyncClient(url) as proxied:
            return [event.step async for event in proxied.events(run.id) if isinstance(event, Step)]

    with DroppingProxy(server.port, cut_after=15_000, cuts=2) as proxy:
        steps = run_in_thread(rows(proxy.url))
    assert proxy.cuts_done == 2
    assert steps == run.trace.step.tolist()
