"""The SQLite store: runs survive a restart, traces round-trip bit for bit, writes are all or nothing."""

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from service.engine.trace import Trace
from service.store.base import CursorError, RunRecord
from service.store.sqlite import PART_ROWS, SQLiteStore


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
def test_runs_and_traces_survive_a_restart(tmp_path: Path, dtype: type[np.floating], dims: int, rows: int) -> None:
    path = str(tmp_path / "nested" / "runs.sqlite3")
    original = trace(rows, dtype, dims)
    store = SQLiteStore(path)
    store.create(record("a", np.dtype(dtype).name, dims), original)
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.get("a") == replace(record("a", np.dtype(dtype).name, dims), last_step=rows - 1)
    restored = reopened.trace("a")
    assert restored is not None
    for column in ("step", "w", "loss", "lr", "grad"):
        np.testing.assert_array_equal(getattr(restored, column), getattr(original, column))
        assert getattr(restored, column).dtype == getattr(original, column).dtype


def test_traces_are_stored_as_binary_not_json(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "runs.sqlite3"))
    store.create(record("a"), trace(1000, np.float32))
    size = store._db.execute("SELECT sum(length(w) + length(loss) + length(lr) + length(grad)) FROM trace_parts")
    assert size.fetchone()[0] == 1000 * 4 * 4


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "runs.sqlite3"))
    store.create(record("a"), trace(3, np.float32))
    with pytest.raises(Exception, match="UNIQUE"):
        store.create(record("a"), trace(3, np.float32))
    assert [r.id for r in store.page(10, None).records] == ["a"]
    assert store._db.execute("SELECT count(*) FROM trace_parts").fetchone()[0] == 1


def test_delete_cascades_to_the_trace(tmp_path: Path) -> None:
    store = SQLiteStore(":memory:")
    store.create(record("a"), trace(3, np.float32))
    assert store.delete("a")
    assert not store.delete("a")
    assert store.trace("a") is None
    assert store._db.execute("SELECT count(*) FROM trace_parts").fetchone()[0] == 0


def test_pages_are_newest_first(tmp_path: Path) -> None:
    store = SQLiteStore(":memory:")
    for name in "abcde":
        store.create(record(name), trace(1, np.float32))
    first = store.page(3, None)
    assert [r.id for r in first.records] == ["e", "d", "c"]
    second = store.page(3, first.next_cursor)
    assert [r.id for r in second.records] == ["b", "a"]
    assert second.next_cursor is None
    with pytest.raises(CursorError):
        store.page(3, "not-a-cursor")


def test_optimizer_state_round_trips_by_name(tmp_path: Path) -> None:
    original = trace(PART_ROWS + 3, np.float64, 2)
    state = {"exp_avg": original.w * 2, "exp_avg_sq": original.grad**2}
    store = SQLiteStore(str(tmp_path / "runs.sqlite3"))
    store.create(record("a", "float64", 2), replace(original, state=state))
    restored = store.trace("a")
    assert restored is not None
    assert list(restored.state) == ["exp_avg", "exp_avg_sq"]
    for name, values in state.items():
        np.testing.assert_array_equal(restored.state[name], values)
    after = store.trace("a", after_step=PART_ROWS)
    assert after is not None
    np.testing.assert_array_equal(after.state["exp_avg"], state["exp_avg"][PART_ROWS + 1 :])


def test_a_store_written_before_state_was_recorded_is_migrated(tmp_path: Path) -> None:
    """Version 1 stores (no state columns) open, keep their runs, and take runs with state."""
    path = str(tmp_path / "runs.sqlite3")
    store = SQLiteStore(path)
    store.create(record("old"), trace(5, np.float32))
    store.close()
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE parts AS SELECT run_seq, first_row, rows, last_step, step, w, loss, lr, grad FROM trace_parts;"
        "DROP TABLE trace_parts; ALTER TABLE parts RENAME TO trace_parts; PRAGMA user_version=1;"
    )
    db.close()
    migrated = SQLiteStore(path)
    old = migrated.trace("old")
    assert old is not None
    assert len(old) == 5
    assert old.state == {}
    migrated.create(record("new"), replace(trace(4, np.float32), state={"momentum": trace(4, np.float32).w}))
    new = migrated.trace("new")
    assert new is not None
    assert list(new.state) == ["momentum"]
