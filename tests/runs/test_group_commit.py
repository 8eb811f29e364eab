"""Tiny runs stored from the event loop: at once when the store is free, else together in one transaction, all or
nothing."""

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from service.engine.trace import Trace
from service.runs.group_commit import GroupCommit
from service.store.base import RunRecord
from service.store.sqlite import SQLiteStore
from tests.runs.support import run_async
from tests.store.test_store import record, trace

RUNS = 20


class CountingStore(SQLiteStore):
    """A real SQLite store that counts its transactions of several runs."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.batches: list[int] = []  # stored by `create_many` (in a thread)
        self.at_once: list[int] = []  # stored by `create_now` (on the loop)

    def create_many(self, runs: Sequence[tuple[RunRecord, Trace]]) -> None:
        self.batches.append(len(runs))
        super().create_many(runs)

    def create_now(self, runs: Sequence[tuple[RunRecord, Trace]]) -> bool:
        stored = super().create_now(runs)
        if stored:
            self.at_once.append(len(runs))
        return stored


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(str(tmp_path / "runs.sqlite3"))


def test_a_free_store_takes_the_runs_of_one_pass_of_the_loop_at_once_together(store: CountingStore) -> None:
    async def main() -> None:
        commits = GroupCommit(store)
        for index in range(3):
            await commits.store(record(f"run-{index}"), trace(41, np.float32))
        await asyncio.gather(*(commits.store(record(f"together-{i}"), trace(41, np.float32)) for i in range(8)))

    run_async(main)
    assert store.batches == []  # no thread: `create_now` on the loop
    assert store.at_once == [1, 1, 1, 8]
    assert store.count_by_status() == {"finished": 11}


def test_runs_that_meet_another_writer_are_stored_together_once_it_commits(
    store: CountingStore, tmp_path: Path
) -> None:
    other = sqlite3.connect(
        tmp_path / "runs.sqlite3", isolation_level=None, check_same_thread=False
    )  # another process, writing

    async def main() -> None:
        commits = GroupCommit(store)
        other.execute("BEGIN IMMEDIATE")
        waiting = [asyncio.create_task(commits.store(record(f"run-{i}"), trace(41, np.float32))) for i in range(RUNS)]
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in waiting)  # nothing answered before it is stored
        other.execute("COMMIT")
        await asyncio.wait_for(asyncio.gather(*waiting), 30)

    run_async(main)
    other.close()
    assert store.count_by_status() == {"finished": RUNS}
    assert sum(store.batches) == RUNS
    assert len(store.batches) <= 2  # the first run's transaction, then everyone who arrived while it waited


def test_a_batch_that_fails_fails_for_every_run_in_it_and_stores_none(store: CountingStore, tmp_path: Path) -> None:
    store.create(record("taken"), trace(41, np.float32))
    other = sqlite3.connect(tmp_path / "runs.sqlite3", isolation_level=None, check_same_thread=False)

    async def main() -> list[BaseException | None]:
        commits = GroupCommit(store)
        other.execute("BEGIN IMMEDIATE")
        ids = ["first", "second", "taken", "third"]  # "taken" breaks the id's uniqueness
        waiting = [asyncio.create_task(commits.store(record(run_id), trace(41, np.float32))) for run_id in ids]
        await asyncio.sleep(0.1)
        other.execute("COMMIT")
        done = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 30)
        return [outcome if isinstance(outcome, BaseException) else None for outcome in done]

    outcomes = run_async(main)
    other.close()
    assert store.batches[1:] == [4]  # after `create("taken")`, the four waited together
    assert all(isinstance(outcome, sqlite3.IntegrityError) for outcome in outcomes)
    assert [store.get(run_id) for run_id in ("first", "second", "third")] == [None, None, None]
