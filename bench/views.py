"""What saving a view costs as the views pile up: `service.views.save_view` (its quota reads, then the insert) on a
store holding 0, 10,000 and 100,000 views of 2,000 bytes, on SQLite and (where Debian's PostgreSQL is installed) on a
throw-away PostgreSQL server.

The store-wide cap (DESCENT_MAX_VIEWS_MB) sums every view's bytes on each new view: a scan of the narrow index
`views_by_bytes`, so the cost grows with the number of views. `python -m bench.views [--repeats 15]` prints the
median per store size, interleaved (each repeat saves one new view on every store in turn), and the ratio to the
empty store measured in the same run. The rows are written with one INSERT ... SELECT / executemany, not through the
API. Results go to stdout only.
"""

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from service.limits import Limits
from service.store.base import RunStore
from service.store.open import open_store
from service.store.sql import engine_url
from service.views import creator_of, save_view

SIZES = (0, 10_000, 100_000)
STATE_BYTES = 2_000
LIMITS = Limits(max_views_per_hour=1_000_000, max_views_bytes=1 << 40)


def fill_sqlite(path: str, count: int) -> None:
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO views (id, state, bytes, creator, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                (f"f{i:010d}", b"x" * STATE_BYTES, STATE_BYTES, creator_of(f"10.0.{i % 250}.{i % 7}"), 1.7e9 + i)
                for i in range(count)
            ),
        )


def fill_postgres(url: str, count: int) -> None:
    engine = create_engine(engine_url(url))
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO views (id, state, bytes, creator, created_at) SELECT 'f' || g, "
                "convert_to(repeat('x', :size), 'UTF8'), :size, md5(g::text), 1.7e9 + g FROM generate_series(1, :n) g"
            ),
            {"n": count, "size": STATE_BYTES},
        )
    with engine.connect() as db:
        db.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE views"))
    engine.dispose()


def measure(stores: dict[int, RunStore], repeats: int) -> dict[int, float]:
    samples: dict[int, list[float]] = {size: [] for size in stores}
    for repeat in range(repeats + 2):  # two warm-ups
        for size, store in stores.items():
            state = {"runs": [f"run-{repeat}-{size}"], "step": repeat}
            started = time.perf_counter()
            saved = save_view(store, state, "127.0.0.1", LIMITS)
            elapsed = time.perf_counter() - started
            assert saved.created
            if repeat >= 2:
                samples[size].append(elapsed)
    return {size: statistics.median(values) for size, values in samples.items()}


def report(backend: str, medians: dict[int, float]) -> None:
    base = medians[0]
    for size, median in medians.items():
        print(f"{backend:<10} {size:>8,} views  {median * 1000:8.2f} ms  {median / base:6.1f} x the empty store")


def run_backend(backend: str, open_at: Callable[[int], str], fill: Callable[[str, int], None], repeats: int) -> None:
    stores: dict[int, RunStore] = {}
    try:
        for size in SIZES:
            where = open_at(size)
            open_store(where, migrate=True).close()
            fill(where, size)
            stores[size] = open_store(where)
        report(backend, measure(stores, repeats))
    finally:
        for store in stores.values():
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-views-"))
    run_backend("sqlite", lambda size: str(folder / f"views-{size}.sqlite3"), fill_sqlite, args.repeats)
    from tests.postgres import PostgresServer, binaries

    bin_dir = binaries()
    if bin_dir is None:
        print("postgresql: not installed (apt-get install postgresql), skipped")
        return
    server = PostgresServer(bin_dir)
    try:
        run_backend("postgresql", lambda size: server.new_database(), fill_postgres, args.repeats)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
