"""The run as an Optax program (JAX, eager): a schedule function, an optimizer, and the loop
`updates, state = opt.update(grad, state, w); w = optax.apply_updates(w, updates)`."""

from collections.abc import Mapping
from typing import Any

from service.codegen.losses import jax_ops, loss_source
from service.codegen.source import Run, call, docstring, joined, keywords, literal, loop, row_function, settings
from service.engine.optimizers.base import OPTIMIZERS
from service.engine.schedules import SCHEDULES


def schedule_source(schedule: Mapping[str, Any]) -> str:
    """`optax.<name>(...)`; join_schedules writes its children the same way."""
    kind = schedule["kind"]
    name = kind.removeprefix("optax.")
    if name == "join_schedules":
        children = ", ".join(schedule_source(child) for child in schedule["schedules"])
        return call(
            "optax.join_schedules", [f"schedules=[{children}]", f"boundaries={literal(schedule['boundaries'])}"]
        )
    return call(f"optax.{name}", keywords(schedule, SCHEDULES[kind]))


def write(run: Run) -> str:
    dtype = f"jnp.{run.dtype}"
    loss = loss_source(run.loss, run.scalar, jax_ops(dtype))
    schedule, optimizer = dict(run.schedule), dict(run.optimizer)
    constant = schedule["kind"] == "constant"
    name = "sgd" if optimizer["kind"] == "sgd" else optimizer["kind"].removeprefix("optax.")
    opt = call(f"optax.{name}", ["learning_rate=schedule", *keywords(optimizer, OPTIMIZERS[optimizer["kind"]])])
    lines = docstring(run, "optax", "an Optax program")
    lines += ["import jax"]
    if run.dtype == "float64":
        lines += ["", 'jax.config.update("jax_enable_x64", True)  # float64 arrays', ""]
    lines += ["import jax.numpy as jnp", "import numpy as np", "import optax", "", *settings(run), ""]
    lines += [f"{name_} = {value}" for name_, value in loss.constants]
    lines += ["", "", "def loss_fn(w):", f"    return {loss.expression}", "", ""]
    lines += [*row_function(run.dtype), "", ""]
    rate = literal(schedule["learning_rate"]) if constant else schedule_source(schedule)
    lines += [f"schedule = {rate}", f"opt = {opt}", f"w = jnp.asarray({run.w0_source}, dtype={dtype})"]
    lines += ["state = opt.init(w)", "value_and_grad = jax.value_and_grad(loss_fn)", ""]
    fetch = ["loss_val, grad_val = value_and_grad(w)"]
    if constant:
        fetch.append("lr_val = schedule")
    else:
        fetch.append("lr_val = schedule(jnp.asarray(step, jnp.int32))  # the rate update `step` uses (an int32 count)")
    update = ["updates, state = opt.update(grad_val, state, w)", "w = optax.apply_updates(w, updates)"]
    lines += loop(run, fetch, "w, loss_val, lr_val, grad_val", update)
    return joined(lines)
