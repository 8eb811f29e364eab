"""Memory estimates hold above what the job really needs: each case runs in a fresh process, through the worker
and the store as a server runs it, then writes its JSON answer; its peak RSS growth must stay under the estimate."""

import json
import subprocess
import sys

import pytest

from service.config import Settings
from service.errors import LimitExceeded
from service.specs.landscape import LandscapeSpec
from service.specs.prepare import prepare_landscape, prepare_run, prepare_sweep
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec

PRODUCT = "*".join(f"(x + {i})" for i in range(1, 40))
COURSE_LOSS = {"kind": "quadratic", "a": 1, "b": 1, "c": 0}

PROBE = """
import json, sys
from service.documents import landscape_document, run_document, sweep_document
from service.encodings import json_bytes
from service.runs import worker
from service.runs.job import Job, JobKind
from service.specs.build import build_problem
from service.store.base import JobRecord, RunRecord
from service.store.sqlite import SQLiteStore
from service.limits import Limits

kind, document, meta, steps = json.loads(sys.stdin.read())
store = SQLiteStore(":memory:")
def status(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field))
    return int(line.split()[1]) * 1024

build_problem  # imported: the engine is loaded before the baseline
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) counts from here
before = status("VmRSS:")
if kind == "run":
    dims = len(document["w0"]) if isinstance(document["w0"], list) else 0
    store.insert(RunRecord("j", None, "queued", "t", None, document, None, document["dtype"], dims))
    worker.execute(Job(JobKind.RUN, "j", document, Limits()), store)
    answer = json_bytes(run_document(store.get("j"), store.trace("j")))
else:
    store.insert_job(JobRecord("j", kind, None, "queued", "t", None, document, meta, steps))
    worker.execute(Job(JobKind(kind), "j", document, Limits()), store)
    record = store.get_job("j")
    assert record.status == "finished", record.error
    render = sweep_document if kind == "sweep" else landscape_document
    answer = json_bytes(render(record, store.job_arrays("j")))
print(status("VmHWM:") - before)
"""


def measured_bytes(kind: str, document: dict[str, object], meta: dict[str, object], steps: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps([kind, document, meta, steps]),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout.strip())


def estimated_bytes(kind: str, body: dict[str, object]) -> tuple[int, dict[str, object], dict[str, object], int]:
    """The estimate the edge computes (through the limit check, with a limit just below it), and the prepared job."""
    settings = Settings(max_job_memory_mb=16)
    prepare = {"run": prepare_run, "sweep": prepare_sweep, "landscape": prepare_landscape}[kind]
    model = {"run": RunSpec, "sweep": SweepSpec, "landscape": LandscapeSpec}[kind]
    spec = model.model_validate(body)  # type: ignore[attr-defined]
    with pytest.raises(LimitExceeded) as refused:
        prepare(spec, settings.limits)  # type: ignore[operator]
    megabytes = float(refused.value.errors[0][1].split("about ", 1)[1].split(" MB", 1)[0].replace(",", ""))
    prepared = prepare(spec, Settings(max_job_memory_mb=1 << 20).limits)  # type: ignore[operator]
    return int(megabytes * 2**20), prepared.document, prepared.meta, prepared.steps


CASES = {
    "a million-step run, every row kept": (
        "run",
        {"loss": COURSE_LOSS, "w0": 5, "schedule": 1e-7, "steps": 1_000_000},
    ),
    "a 1000-D Adam run": (
        "run",
        {"loss": COURSE_LOSS, "w0": [5.0] * 1000, "schedule": 0.01, "optimizer": {"kind": "torch.Adam"}, "steps": 2000},
    ),
    "100,000 rates with kept traces": (
        "sweep",
        {
            "base": {"loss": COURSE_LOSS, "w0": 5, "schedule": 0.1, "steps": 200},
            "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 100_000}}],
            "max_points": 50,
        },
    ),
    "a 1000 x 1000 landscape of a 39-factor product in float64": (
        "landscape",
        {
            "loss": {"kind": "expression", "formula": PRODUCT},
            "bounds": [[-3, 3], [-3, 3]],
            "resolution": 1000,
            "dtype": "float64",
        },
    ),
}


@pytest.mark.parametrize(("kind", "body"), CASES.values(), ids=CASES.keys())
def test_the_estimate_covers_the_measured_peak(kind: str, body: dict[str, object]) -> None:
    estimate, document, meta, steps = estimated_bytes(kind, body)
    measured = measured_bytes(kind, document, meta, steps)
    assert measured > 2**20, "the case must allocate something to mean anything"
    assert estimate >= measured, f"estimated {estimate / 2**20:.0f} MB, measured {measured / 2**20:.0f} MB"
    assert estimate < 8 * measured + 64 * 2**20, f"estimated {estimate / 2**20:.0f} MB for {measured / 2**20:.0f} MB"
