"""Writers take turns across threads and processes: a waiting process takes the turn once it is given (and gives up
after its timeout), and one that must not wait is told at once that it is taken."""

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from service.store.writers import WriterTurn

HELD_S = 0.3


def hold_turn(database: str, taken: EventType, given_at: "Synchronized[float]") -> None:
    turn = WriterTurn(database)
    turn.take()
    taken.set()
    time.sleep(HELD_S)
    given_at.value = time.time()
    turn.give()


@contextlib.contextmanager
def another_process_holding_the_turn(database: str) -> Iterator["Synchronized[float]"]:
    """A forked process that holds the turn for HELD_S; yields when it has it, with the time it gave it back."""
    context = multiprocessing.get_context("fork")
    taken, given_at = context.Event(), context.Value("d", 0.0)
    holder = context.Process(target=hold_turn, args=(database, taken, given_at))
    holder.start()
    try:
        assert taken.wait(30)
        yield given_at
    finally:
        holder.join(10)
    assert holder.exitcode == 0


def test_another_process_waits_for_the_turn_until_it_is_given(tmp_path: Path) -> None:
    database = str(tmp_path / "runs.sqlite3")
    with another_process_holding_the_turn(database) as given_at:
        turn = WriterTurn(database)
        assert turn.take(blocking=False) is False  # told at once that another process writes
        turn.take()
        got_at = time.time()
        assert given_at.value > 0
        assert got_at >= given_at.value
        turn.give()
        turn.close()


def test_a_thread_waits_for_the_turn_of_another_thread_of_its_process(tmp_path: Path) -> None:
    turn = WriterTurn(str(tmp_path / "runs.sqlite3"))
    order: list[str] = []
    with turn:

        def wait_for_turn() -> None:
            with turn:
                order.append("waiter")

        waiter = threading.Thread(target=wait_for_turn)
        waiter.start()
        assert turn.take(blocking=False) is False
        time.sleep(0.05)
        order.append("holder")
    waiter.join(5)
    assert order == ["holder", "waiter"]
    turn.close()


def test_a_forked_child_takes_the_turn_apart_from_its_parent(tmp_path: Path) -> None:
    """flock belongs to the open file: a child sharing its parent's would share its turn, so it opens its own."""
    turn = WriterTurn(str(tmp_path / "runs.sqlite3"))
    with turn:
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover (the child's exit status is the assertion)
            os.close(reader)
            turn._threads = threading.Lock()  # the parent's thread lock was copied held
            free = turn.take(blocking=False)
            os.write(writer, b"1" if free else b"0")
            os._exit(0)
        os.close(writer)
        answer = os.read(reader, 1)
        os.waitpid(child, 0)
    assert answer == b"0"
    turn.close()


def test_memory_databases_take_only_the_process_lock() -> None:
    turn = WriterTurn(":memory:")
    assert turn.take(blocking=False) is True
    assert turn.take(blocking=False) is False
    turn.give()
    turn.close()


def test_a_writer_gives_up_after_its_timeout_while_another_process_holds_the_turn(tmp_path: Path) -> None:
    """As SQLite's busy timeout did: a process stopped mid-write must not hold every other writer forever."""
    database = str(tmp_path / "runs.sqlite3")
    with another_process_holding_the_turn(database) as given_at:
        turn = WriterTurn(database)
        started = time.monotonic()
        assert turn.take(timeout=0.1) is False
        assert time.monotonic() - started >= 0.1
        assert turn.take() is True  # the failed wait gave its thread lock back; the turn comes once given
        assert given_at.value > 0
        turn.give()
        turn.close()
