"""A sweep on a Dask LocalCluster against the same sweep in one process: the done-when sweep of the Dask item,
200,000 rates x 100 steps of the course problem (float64, plain GD), timed as the service computes it.

- one process: `run_sweep` over the whole grid and its arrays, what the local pool's worker computes;
- Dask: the grid cut by `shards.spans`, `client.map(shards.run_shard, ...)` on a LocalCluster of 2 worker
  processes (1 thread each), gathered and `shards.assemble`d in grid order, what `DaskSweeps` does (without the
  store writes, the same in both).

Repeats are interleaved (one process, then Dask, and again) after one warm-up of each; every Dask result is checked
bit for bit against the one-process arrays. Median wall-clock times.
"""

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

from bench.report import publish
from service import documents
from service.engine.sweep import run_sweep
from service.runs import shards
from service.specs.build import build_sweep, is_scalar, sweep_grid
from service.specs.sweep import SweepSpec

RESULTS = Path(__file__).parent / "results" / "dask_sweep.json"
BODY = {
    "base": {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 100},
    "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 200_000}}],
}


def one_process(document: dict[str, Any]) -> shards.Arrays:
    result = run_sweep(build_sweep(document, sweep_grid(document)), document.get("max_points"))
    return documents.sweep_arrays(result, is_scalar(document["base"]))


def on_dask(client: Client, document: dict[str, Any], blocks: list[tuple[int, int]]) -> shards.Arrays:
    futures = client.map(shards.run_shard, [document] * len(blocks), *zip(*blocks, strict=True), pure=False)
    return shards.assemble([arrays for arrays, _ in client.gather(futures)])  # type: ignore[no-untyped-call]


def run(repeats: int, workers: int) -> dict[str, Any]:
    document = SweepSpec.model_validate(BODY).model_dump(mode="json")
    points = sweep_grid(document).points
    blocks = shards.sweep_spans(document, points)
    local_s: list[float] = []
    dask_s: list[float] = []
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        expected = one_process(document)  # warm-ups
        on_dask(client, document, blocks)
        for _ in range(repeats):
            started = time.perf_counter()
            expected = one_process(document)
            local_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            got = on_dask(client, document, blocks)
            dask_s.append(time.perf_counter() - started)
            assert all(got[name].tobytes() == values.tobytes() for name, values in expected.items()), "not identical"
    return {
        "points": points,
        "steps": document["base"]["steps"],
        "shards": len(blocks),
        "shard_points": blocks[0][1],
        "dask_workers": workers,
        "repeats": repeats,
        "one_process_s": local_s,
        "dask_s": dask_s,
        "one_process_median_s": statistics.median(local_s),
        "dask_median_s": statistics.median(dask_s),
    }


def table(document: dict[str, Any]) -> str:
    one, dask = document["one_process_median_s"], document["dask_median_s"]
    return "\n".join(
        [
            f"{document['points']:,} points x {document['steps']} steps, {document['shards']} shards of "
            f"{document['shard_points']:,}, median of {document['repeats']} interleaved repeats",
            f"{'one process':<40}{one * 1000:>10.0f} ms",
            f"{'Dask LocalCluster, ' + str(document['dask_workers']) + ' worker processes':<40}{dask * 1000:>10.0f} ms",
            f"{'speed-up':<40}{one / dask:>10.2f}x",
            "final_loss and every other array bit-identical: yes",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dask_sweep", description="A sweep on Dask vs one process.")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each, interleaved (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    document = run(args.repeats, args.workers)
    publish(table(document), document, args.output)


if __name__ == "__main__":
    main()
