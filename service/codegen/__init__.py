"""The run as code: a short, runnable Python program in TF1, Keras 3, PyTorch or Optax that reproduces a run's spec
and prints its trace as the run's CSV download does.

Pure: a normalised spec document in, program text out (no web stack, no Pydantic, no numerical library imported
here; the programs import their library). A kind of another library is written as its counterpart in the one asked
for (`counterparts`), when there is one; otherwise `NoCounterpart` names it.
"""

from collections.abc import Callable, Mapping
from typing import Any

from service.codegen import keras, optax, tf1, torch
from service.codegen.counterparts import LIBRARIES, counterpart, library_of
from service.codegen.source import Run
from service.errors import NoCounterpart

WRITERS: dict[str, Callable[[Run], str]] = {
    "tf1": tf1.write,
    "keras": keras.write,
    "torch": torch.write,
    "optax": optax.write,
}
__all__ = ["LIBRARIES", "WRITERS", "plan", "program"]


def program(document: Mapping[str, Any], library: str, run_id: str, name: str | None = None) -> str:
    """The program in `library` for a run's normalised spec document."""
    return WRITERS[library](plan(document, library, run_id, name))


def plan(document: Mapping[str, Any], library: str, run_id: str, name: str | None = None) -> Run:
    """What the program must reproduce, with the schedule as `library` writes it; refuses what it cannot write."""
    optimizer = document.get("optimizer") or {"kind": "sgd"}
    own = library_of(optimizer["kind"])
    if own not in (None, library):
        raise NoCounterpart(
            ["optimizer", "kind"],
            f"{optimizer['kind']} has no {library} counterpart: optimizers are written only in their own library "
            f"(their update rules differ between libraries); ask for library={own}",
        )
    schedule = document["schedule"]
    if not isinstance(schedule, dict):
        schedule = {"kind": "constant", "learning_rate": float(schedule)}
    note = ""
    written = counterpart(schedule, library)
    if written.schedule is None:
        raise NoCounterpart(
            ["schedule", "kind"], f"{written.reason.rstrip('.')}; ask for library={library_of(schedule['kind'])}"
        )
    if written.schedule["kind"] != schedule["kind"]:
        note = (
            f"The run's schedule {schedule['kind']} is written as its {library} counterpart "
            f"{written.schedule['kind']}, with the same parameters (POST /v1/schedules/preview with equivalents "
            "shows where the two differ)."
        )
    record = document.get("record") or {}
    if record.get("state"):
        raise NoCounterpart(
            ["record", "state"],
            "the program prints the trace without the optimizer's state, whose names differ between libraries; "
            "read the state from the run's CSV download",
        )
    stop = document.get("stop") or {}
    w0 = document["w0"]
    return Run(
        run_id=run_id,
        name=name,
        dtype=document.get("dtype", "float32"),
        scalar=not isinstance(w0, list),
        dims=len(w0) if isinstance(w0, list) else 1,
        w0=[float(x) for x in w0] if isinstance(w0, list) else [float(w0)],
        steps=int(document["steps"]),
        every=int(record.get("every", 1)),
        grad_tol=stop.get("grad_tol"),
        loss_tol=stop.get("loss_tol"),
        loss=document["loss"],
        schedule=written.schedule,
        optimizer=optimizer,
        note=note,
    )
