"""The run as a TF1 program, written like the course's: graph mode, `tf.Variable`, `tf.compat.v1.train.*_decay(...,
global_step)`, `optimizer.minimize(loss, global_step=global_step)` and a `Session` loop of `sess.run(train_step)`."""

import inspect

from service.codegen.losses import loss_source, tf_ops
from service.codegen.source import Run, call, docstring, joined, keywords, literal, loop, row_function, settings
from service.engine.optimizers.base import OPTIMIZERS
from service.engine.schedules import SCHEDULES


def plain(value: float) -> str:
    """A whole number as the course writes it (`5`, `1`): TF converts it to the tensor's dtype exactly."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else literal(value)


def schedule_source(run: Run) -> str | None:
    """`tf.compat.v1.train.<fn>(learning_rate, global_step, ...)`; None for a constant rate."""
    schedule = dict(run.schedule)
    kind = schedule["kind"]
    if kind == "constant":
        return None
    name = kind.removeprefix("tf1.")
    factory = SCHEDULES[kind]
    if name == "piecewise_constant":
        args = ["global_step", literal(schedule["boundaries"]), literal(schedule["values"])]
        return call("tf.compat.v1.train.piecewise_constant", args)
    required = [
        p.name
        for p in inspect.signature(factory).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    positional = [literal(schedule[required[0]]), "global_step"]
    positional += [plain(schedule[p]) if p.endswith("steps") else literal(schedule[p]) for p in required[1:]]
    return call(f"tf.compat.v1.train.{name}", [*positional, *keywords(schedule, factory, skip=required)])


def write(run: Run) -> str:
    dtype = f"tf.{run.dtype}"
    loss = loss_source(run.loss, run.scalar, tf_ops(dtype))
    decay = schedule_source(run)
    optimizer = dict(run.optimizer)
    name = "GradientDescentOptimizer" if optimizer["kind"] == "sgd" else optimizer["kind"].removeprefix("tf1.")
    factory = OPTIMIZERS[optimizer["kind"]]
    w0 = plain(run.w0[0]) if run.scalar else literal(run.w0)
    lines = docstring(run, "tf1", "a TF1 program (graph mode, as in the course)")
    lines += ["import numpy as np", "import tensorflow as tf", ""]
    lines += ["tf.compat.v1.disable_eager_execution()  # TF1 graph mode", "", *settings(run), ""]
    lines += [
        "# the parameter to optimise, and its initial value",
        f"w = tf.Variable(tf.constant({w0}, dtype={dtype}))",
    ]
    lines += [f"{constant} = {value}" for constant, value in loss.constants]
    lines += ["# the loss", f"loss = {loss.expression}"]
    if decay is not None:
        lines += [
            "# the step counter, not trained; the rate decays with it",
            "global_step = tf.Variable(0, trainable=False)",
        ]
        lines.append(f"learning_rate = {decay}")
    elif run.dtype == "float64":
        lines.append(f"learning_rate = tf.constant({literal(run.schedule['learning_rate'])}, dtype=tf.float64)")
    else:
        lines.append(f"learning_rate = {literal(run.schedule['learning_rate'])}")
    minimize = "minimize(loss, global_step=global_step)" if decay is not None else "minimize(loss)"
    options = keywords(optimizer, factory)
    opt = call(f"tf.compat.v1.train.{name}", ["learning_rate", *options])
    lines.append("# the back-propagation step")
    if options:  # the optimizer on its own line when it has options; the course's one line otherwise
        lines += [f"optimizer = {opt}", f"train_step = optimizer.{minimize}"]
    else:
        lines.append(f"train_step = {opt}.{minimize}")
    lines += ["grad = tf.gradients(loss, w)[0]", ""]
    lines += ["", *row_function(run.dtype), "", ""]
    if decay is None and run.dtype == "float32":
        fetch = ["w_val, loss_val, grad_val = sess.run([w, loss, grad])"]
        values = "w_val, loss_val, learning_rate, grad_val"
    else:
        fetch = ["w_val, loss_val, learning_rate_val, grad_val = sess.run([w, loss, learning_rate, grad])"]
        values = "w_val, loss_val, learning_rate_val, grad_val"
    lines += ["with tf.compat.v1.Session() as sess:", "    init_op = tf.compat.v1.global_variables_initializer()"]
    lines += ["    sess.run(init_op)"]
    lines += loop(run, fetch, values, ["sess.run(train_step)"], indent="    ")
    return joined(lines)
