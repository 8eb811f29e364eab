"""The run as a PyTorch program: a leaf tensor, an optimizer from `torch.optim`, a scheduler from
`torch.optim.lr_scheduler`, and the loop `loss.backward(); opt.step(); sched.step()`."""

from collections.abc import Mapping
from typing import Any

from service.codegen.losses import loss_source, torch_ops
from service.codegen.source import Run, call, docstring, joined, keywords, literal, loop, row_function, settings
from service.engine.optimizers.base import OPTIMIZERS
from service.engine.schedules import SCHEDULES

SCHEDULER = "torch.optim.lr_scheduler"


def _betas(value: Any) -> str:
    return "(" + ", ".join(literal(v) for v in value) + ")"


def scheduler_source(schedule: Mapping[str, Any]) -> str:
    """`torch.optim.lr_scheduler.<Name>(opt, ...)`; the children of SequentialLR and ChainedScheduler alike."""
    kind = schedule["kind"]
    name = kind.removeprefix("torch.")
    if name in ("SequentialLR", "ChainedScheduler"):
        children = ", ".join(scheduler_source(child) for child in schedule["schedulers"])
        if name == "ChainedScheduler":  # ChainedScheduler(schedulers, optimizer=None): its children hold the optimizer
            return call(f"{SCHEDULER}.{name}", [f"[{children}]"])
        return call(
            f"{SCHEDULER}.{name}", ["opt", f"schedulers=[{children}]", f"milestones={literal(schedule['milestones'])}"]
        )
    return call(f"{SCHEDULER}.{name}", ["opt", *keywords(schedule, SCHEDULES[kind], skip=("lr",))])


def base_rate(schedule: Mapping[str, Any]) -> Any:
    """The optimizer's lr: the constant rate, the scheduler's base `lr`, or the peak a cycling scheduler sets."""
    if schedule["kind"] == "constant":
        return schedule["learning_rate"]
    return schedule.get("lr", schedule.get("max_lr"))


def write(run: Run) -> str:
    dtype = f"torch.{run.dtype}"
    loss = loss_source(run.loss, run.scalar, torch_ops(dtype))
    schedule, optimizer = dict(run.schedule), dict(run.optimizer)
    name = "SGD" if optimizer["kind"] == "sgd" else optimizer["kind"].removeprefix("torch.")
    options = keywords(optimizer, OPTIMIZERS[optimizer["kind"]], convert={"betas": _betas})
    opt = call(f"torch.optim.{name}", ["[w]", f"lr={literal(base_rate(schedule))}", *options])
    lines = docstring(run, "torch", "a PyTorch program")
    lines += ["import numpy as np", "import torch", "", *settings(run), ""]
    lines += [f"{constant} = {value}" for constant, value in loss.constants]
    lines += ["", "", "def loss_fn(w):", f"    return {loss.expression}", "", ""]
    lines += [*row_function(run.dtype), "", ""]
    lines += [f"w = torch.tensor({run.w0_source}, dtype={dtype}, requires_grad=True)", f"opt = {opt}"]
    plateau = schedule["kind"] == "torch.ReduceLROnPlateau"
    if schedule["kind"] != "constant":
        lines.append(f"sched = {scheduler_source(schedule)}")
    lines.append("")
    fetch = [
        'lr_val = opt.param_groups[0]["lr"]  # the rate this update uses',
        "opt.zero_grad()",
        "loss_val = loss_fn(w)",
        "loss_val.backward()",
        "grad_val = w.grad",
    ]
    update = ["opt.step()"]
    if plateau:
        update.append("sched.step(loss_val.item())  # ReduceLROnPlateau reads the loss")
    elif schedule["kind"] != "constant":
        update.append("sched.step()")
    lines += loop(run, fetch, "w.detach(), loss_val.detach(), lr_val, grad_val", update)
    return joined(lines)
