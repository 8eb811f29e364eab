"""The store's contract, on both backends (SQLite, PostgreSQL): runs survive a restart, traces round-trip bit for
bit as binary blobs, writes are all or nothing, conditional writes refuse a job no longer the writer's."""

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest

from service.engine.trace import Trace
from service.store.base import CursorError, JobRecord, NotOwnedError, RunRecord, RunStore, Status
from service.store.open import open_store
from service.store.sqlite import NOW_CHECKPOINT_COMMITS as NOW_COMMITS
from service.store.sqlite import PART_ROWS, SQLiteStore
from tests.store.conftest import query


def record(run_id: str, dtype: str = "float32", dims: int = 0) -> RunRecord:
    return RunRecord(
        run_id,
        None,
        "finished",
        "2026-11-23T00:00:00.000Z",
        "2026-11-23T00:00:01.000Z",
        {"steps": 3},
        {"verdict": "converged", "final": {"w": 2.6}},
        dtype,
        dims,
    )


def trace(rows: int, dtype: type[np.floating], dims: int = 1) -> Trace:
    generator = np.random.default_rng(0)
    return Trace(
        np.arange(rows, dtype=np.int64),
        generator.standard_normal((rows, dims)).astype(dtype),
        generator.standard_normal(rows).astype(dtype),
        generator.random(rows).astype(dtype),
        generator.standard_normal((rows, dims)).astype(dtype),
    )


@pytest.mark.parametrize(
    ("dtype", "dims", "rows"), [(np.float32, 1, 41), (np.float64, 3, 10), (np.float32, 1, PART_ROWS + 5)]
)
def test_runs_and_traces_survive_a_restart(
    reopen: Callable[[], RunStore], dtype: type[np.floating], dims: int, rows: int
) -> None:
    original = trace(rows, dtype, dims)
    store = reopen()
    store.create(record("a", np.dtype(dtype).name, dims), original)
    store.close()
    reopened = reopen()
    assert reopened.get("a") == replace(record("a", np.dtype(dtype).name, dims), last_step=rows - 1)
    restored = reopened.trace("a")
    assert restored is not None
    for column in ("step", "w", "loss", "lr", "grad"):
        np.testing.assert_array_equal(getattr(restored, column), getattr(original, column))
        assert getattr(restored, column).dtype == getattr(original, column).dtype


def test_sqlite_files_nest_their_folder(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "nested" / "runs.sqlite3"))
    store.create(record("a"), trace(3, np.float32))
    store.close()
    assert (tmp_path / "nested" / "runs.sqlite3").exists()


def test_traces_are_stored_as_binary_not_json(store: RunStore, location: str) -> None:
    store.create(record("a"), trace(1000, np.float32))
    size = query(location, "SELECT sum(length(w) + length(loss) + length(lr) + length(grad)) FROM trace_parts")
    assert size == 1000 * 4 * 4


def test_a_failed_write_leaves_nothing(store: RunStore, location: str) -> None:
    store.create(record("a"), trace(3, np.float32))
    with pytest.raises(Exception, match=r"(?i)unique"):
        store.create(record("a"), trace(3, np.float32))
    assert [r.id for r in store.page(10, None).records] == ["a"]
    assert query(location, "SELECT count(*) FROM trace_parts") == 1


def test_delete_cascades_to_the_trace(store: RunStore, location: str) -> None:
    store.create(record("a"), trace(3, np.float32))
    assert store.delete("a")
    assert not store.delete("a")
    assert store.trace("a") is None
    assert query(location, "SELECT count(*) FROM trace_parts") == 0


def test_pages_are_newest_first(store: RunStore) -> None:
    for name in "abcde":
        store.create(record(name), trace(1, np.float32))
    first = store.page(3, None)
    assert [r.id for r in first.records] == ["e", "d", "c"]
    second = store.page(3, first.next_cursor)
    assert [r.id for r in second.records] == ["b", "a"]
    assert second.next_cursor is None
    with pytest.raises(CursorError):
        store.page(3, "not-a-cursor")


def test_optimizer_state_round_trips_by_name(store: RunStore) -> None:
    original = trace(PART_ROWS + 3, np.float64, 2)
    state = {"exp_avg": original.w * 2, "exp_avg_sq": original.grad**2}
    store.create(record("a", "float64", 2), replace(original, state=state))
    restored = store.trace("a")
    assert restored is not None
    assert list(restored.state) == ["exp_avg", "exp_avg_sq"]
    for name, values in state.items():
        np.testing.assert_array_equal(restored.state[name], values)
    after = store.trace("a", after_step=PART_ROWS)
    assert after is not None
    np.testing.assert_array_equal(after.state["exp_avg"], state["exp_avg"][PART_ROWS + 1 :])


def test_rows_appended_in_chunks_read_back_after_any_step(store: RunStore) -> None:
    whole = trace(10, np.float32)
    store.insert(replace(record("a"), status=Status.QUEUED, finished_at=None, summary=None), owner="me")
    store.append("a", whole.take(np.arange(0, 4)), status=Status.RUNNING, owner="me")
    store.append("a", whole.take(np.arange(4, 10)), owner="me")
    assert store.cancel_reason("a") is None
    store.request_cancel("a", "first")
    store.request_cancel("a", "second")
    assert store.cancel_reason("a") == "first"
    assert store.unfinished() == [("a", "me")]
    store.finish("a", None, Status.CANCELLED, "2026-11-23T00:00:02.000Z", {"verdict": "cancelled"}, owner="me")
    after = store.trace("a", after_step=5)
    assert after is not None
    np.testing.assert_array_equal(after.w, whole.w[6:])
    stored = store.get("a")
    assert stored is not None
    assert (stored.status, stored.last_step, stored.summary) == ("cancelled", 9, {"verdict": "cancelled"})
    assert store.unfinished() == []
    assert store.count_by_status() == {"cancelled": 1}


def test_conditional_writes_refuse_a_job_no_longer_the_writers(store: RunStore) -> None:
    store.insert(replace(record("a"), status=Status.RUNNING, finished_at=None, summary=None), owner="me")
    with pytest.raises(NotOwnedError):
        store.append("a", trace(2, np.float32), owner="someone else")
    store.finish("a", None, Status.FAILED, "2026-11-23T00:00:02.000Z", None, "recovered")  # no owner: recovery
    with pytest.raises(NotOwnedError):
        store.append("a", trace(2, np.float32), owner="me")
    with pytest.raises(NotOwnedError):
        store.finish("a", trace(2, np.float32), Status.FINISHED, "2026-11-23T00:00:03.000Z", None, owner="me")
    with pytest.raises(NotOwnedError):
        store.append("gone", None, owner="me")
    failed = store.get("a")
    assert failed is not None
    assert (failed.status, failed.error, failed.last_step) == ("failed", "recovered", -1)


def job(job_id: str) -> JobRecord:
    return JobRecord(job_id, "sweep", None, Status.QUEUED, "2026-11-23T00:00:00.000Z", None, {"base": {}}, {"a": 1}, 40)


def test_jobs_keep_their_arrays_bit_for_bit(store: RunStore) -> None:
    store.insert_job(job("s"), owner="me")
    assert store.unfinished_jobs() == [("s", "me")]
    store.job_progress("s", 7, owner="me")
    progressed = store.get_job("s", "sweep")
    assert progressed is not None
    assert (progressed.status, progressed.progress) == ("running", 7)
    arrays: dict[str, npt.NDArray[Any]] = {
        "final_loss": np.array([[np.nan, -0.0], [np.inf, 1e-45]], dtype=np.float32),
        "converged_at": np.array([3, -1, 2**40], dtype=np.int64),
        "verdict": np.array(["converged", "diverged"]),
    }
    store.finish_job("s", Status.FINISHED, "2026-11-23T00:00:01.000Z", arrays, {"b": 2}, owner="me")
    with pytest.raises(NotOwnedError):
        store.job_progress("s", 8, owner="me")
    finished = store.get_job("s")
    assert finished is not None
    assert (finished.status, finished.meta, finished.steps) == ("finished", {"a": 1, "b": 2}, 40)
    assert store.get_job("s", "landscape") is None
    restored = store.job_arrays("s")
    assert sorted(restored) == sorted(arrays)
    for name, values in arrays.items():
        assert restored[name].dtype == values.dtype
        assert restored[name].shape == values.shape
        assert restored[name].tobytes() == values.tobytes()
    assert store.unfinished_jobs() == []
    assert store.delete_job("s")
    assert not store.delete_job("s")
    assert store.job_arrays("s") == {}


def test_the_store_answers_a_ping(store: RunStore) -> None:
    store.ping()


@pytest.mark.cluster
def test_both_backends_store_the_same_bytes(tmp_path: Path, postgres_url: str) -> None:
    """A trace's blobs and a job's arrays are the same bytes on SQLite and on PostgreSQL."""
    locations = [str(tmp_path / "runs.sqlite3"), postgres_url]
    original = trace(100, np.float64, 2)
    for location in locations:
        store = open_store(location, migrate=True)
        store.create(record("a", "float64", 2), replace(original, state={"m": original.w}))
        store.insert_job(job("s"))
        store.finish_job("s", Status.FINISHED, "2026-11-23T00:00:01.000Z", {"x": np.arange(5, dtype=np.float32)})
        store.close()
    for sql in (
        "SELECT w FROM trace_parts",
        "SELECT state FROM trace_parts",
        "SELECT step FROM trace_parts",
        "SELECT data FROM job_arrays",
        "SELECT dtype FROM job_arrays",
        "SELECT spec FROM runs",
        "SELECT summary FROM runs",
    ):
        sqlite_value, postgres_value = (query(location, sql) for location in locations)
        assert sqlite_value is not None, sql
        assert sqlite_value == postgres_value, sql
    # SQLite keeps a job array's shape as the blob SQLiteStore hands it; PostgreSQL's column is the schema's text
    assert [orjson.loads(query(location, "SELECT shape FROM job_arrays")) for location in locations] == [[5], [5]]


def test_a_store_url_must_name_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        open_store(f"sqlite:///{tmp_path / 'runs.sqlite3'}")


def test_a_long_trace_reads_a_stored_range_at_a_time(store: RunStore) -> None:
    """What a follower does: the first range of rows at once, then the next after the last step it has."""
    original = trace(PART_ROWS + 5, np.float32)
    store.create(record("a"), original)
    first = store.trace("a", -1, ranges=1)
    assert first is not None
    assert len(first) == PART_ROWS
    rest = store.trace("a", int(first.step[-1]), ranges=1)
    assert rest is not None
    assert rest.step.tolist() == list(range(PART_ROWS, PART_ROWS + 5))
    assert store.trace("a", PART_ROWS + 4, ranges=1) is not None
    assert len(store.trace("a", PART_ROWS + 4, ranges=1)) == 0  # type: ignore[arg-type]


def test_a_processes_writers_take_turns_without_sqlites_busy_wait(tmp_path: Path) -> None:
    """Threads of one process writing at once queue on the store's own lock: none meets SQLite's lock (here its
    busy handler would fail at once instead of sleeping, and every collision would raise)."""

    class Impatient(SQLiteStore):
        def _connect(self, timeout: float = 30) -> sqlite3.Connection:
            db = super()._connect(timeout)
            db.execute("PRAGMA busy_timeout=0")
            return db

    store, start, failures = Impatient(str(tmp_path / "runs.sqlite3")), threading.Barrier(8), []

    def write(thread: int) -> None:
        start.wait()
        for index in range(25):
            try:
                store.create(record(f"{thread}-{index}"), trace(41, np.float32))
            except sqlite3.OperationalError as exc:
                failures.append(str(exc))

    threads = [threading.Thread(target=write, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(store.count_by_status().values()) == 200
    store.close()


def test_create_now_stores_what_create_stores(store: RunStore, location: str) -> None:
    """SQLite stores at once what `create` stores; PostgreSQL never (a round trip): nothing stored, False."""
    original = trace(41, np.float32)
    stored = store.create_now([(record("now"), original)])
    assert stored == ("://" not in location)
    if not stored:
        assert store.get("now") is None
        return
    store.create(record("then"), original)
    assert store.get("now") == replace(record("now"), last_step=40)
    then = store.get("then")
    assert then is not None
    assert replace(then, id="now") == store.get("now")
    restored = store.trace("now")
    assert restored is not None
    for column in ("step", "w", "loss", "lr", "grad"):
        np.testing.assert_array_equal(getattr(restored, column), getattr(original, column))


def test_create_now_never_waits_for_another_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "runs.sqlite3")
    store = SQLiteStore(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    assert store.create_now([(record("a"), trace(41, np.float32))]) is False
    other.execute("COMMIT")
    with store._transaction():  # a writer of this process
        done: list[bool] = []
        thread = threading.Thread(target=lambda: done.append(store.create_now([(record("b"), trace(41, np.float32))])))
        thread.start()
        thread.join()
        assert done == [False]
    assert (store.get("a"), store.get("b")) == (None, None)
    assert store.create_now([(record("c"), trace(41, np.float32))]) is True
    other.close()
    store.close()


def test_create_now_has_the_wal_copied_back_by_a_thread_of_its_own(tmp_path: Path) -> None:
    """Every so many runs stored at once, a thread checkpoints the WAL (the commits themselves never do): the
    database file itself grows, and no run is left to `create` for it."""
    path = tmp_path / "runs.sqlite3"
    store = SQLiteStore(str(path))
    empty = path.stat().st_size
    taken = [store.create_now([(record(str(index)), trace(41, np.float32))]) for index in range(2 * NOW_COMMITS + 2)]
    assert all(taken)
    deadline = time.monotonic() + 10
    while path.stat().st_size == empty and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size > empty
    assert SQLiteStore(":memory:").create_now([(record("m"), trace(41, np.float32))]) is False
    store.close()
