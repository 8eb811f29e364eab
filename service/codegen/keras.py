"""The run as a Keras 3 program (TensorFlow backend, eager): a `keras.Variable`, a schedule from
`keras.optimizers.schedules`, and `optimizer.apply_gradients` with the gradient of a `tf.GradientTape`."""

from service.codegen.losses import loss_source, tf_ops
from service.codegen.source import Run, call, docstring, joined, keywords, literal, loop, row_function, settings
from service.engine.optimizers.base import OPTIMIZERS
from service.engine.schedules import SCHEDULES


def write(run: Run) -> str:
    loss = loss_source(run.loss, run.scalar, tf_ops(f"tf.{run.dtype}"))
    schedule = dict(run.schedule)
    optimizer = dict(run.optimizer)
    if schedule["kind"] == "constant":
        rate = literal(schedule["learning_rate"])
        schedule_lines: list[str] = []
    else:
        name = schedule["kind"].removeprefix("keras.")
        built = call(f"keras.optimizers.schedules.{name}", keywords(schedule, SCHEDULES[schedule["kind"]]))
        schedule_lines, rate = [f"schedule = {built}"], "schedule"
    name = "SGD" if optimizer["kind"] == "sgd" else optimizer["kind"].removeprefix("keras.")
    opt = call(
        f"keras.optimizers.{name}", [f"learning_rate={rate}", *keywords(optimizer, OPTIMIZERS[optimizer["kind"]])]
    )
    lines = docstring(run, "keras", "a Keras 3 program")
    lines += [
        "import os",
        "",
        'os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # the gradient tape is TensorFlow\'s',
        "",
    ]
    lines += [
        "import keras  # noqa: E402",
        "import numpy as np  # noqa: E402",
        "import tensorflow as tf  # noqa: E402",
        "",
    ]
    lines += [*settings(run), ""]
    lines += [f"{constant} = {value}" for constant, value in loss.constants]
    lines += ["", "", "def loss_fn(w):", f"    return {loss.expression}", "", ""]
    lines += [*row_function(run.dtype), "", ""]
    lines.append(f'w = keras.Variable({run.w0_source}, dtype="{run.dtype}", name="w")')
    lines += [*schedule_lines, f"opt = {opt}", "opt.build([w])", ""]
    fetch = [
        "lr_val = opt.learning_rate  # the rate this update uses: schedule(opt.iterations)",
        "with tf.GradientTape() as tape:",
        "    loss_val = loss_fn(w)",
        "grad_val = tape.gradient(loss_val, w)",
    ]
    lines += loop(run, fetch, "w, loss_val, lr_val, grad_val", ["opt.apply_gradients([(grad_val, w)])"])
    return joined(lines)
