"""The course chapter's printed lines, from a run, exactly as its TensorFlow programs print them.

The chapter's first program (a constant rate) prints, after each update i,
`After %s steps:w is %f , loss is %f.`; the second (`tf.train.exponential_decay` with `global_step`) prints
`After %s steps: global_step is %f ,w is %f,learning rate is %f,loss is %f`. Update i leads to the trace's row
i + 1, whose `lr` is the rate at global step i + 1, which is what `sess.run(learning_rate)` gives after the update.
`%f` of a float32 is the `%f` of its exact value: the trace holds the run's own float32 numbers, so they print as
TensorFlow's do.
"""

from typing import Any

import numpy as np

from descent_client.models import Run

CONSTANT = "After %s steps:w is %s , loss is %s."
DECAYING = "After %s steps: global_step is %s ,w is %s,learning rate is %s,loss is %s"


def fixed(value: Any) -> str:
    """C's `%f` of a number, or `[a, b]` of a row of a D-dimensional run."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return "[" + ", ".join(fixed(item) for item in value) + "]"
    return "%f" % float(value)  # noqa: UP031 (the course prints with %f)


def constant_rate(run: Run) -> bool:
    """Whether the run's schedule is a constant rate (the first program) rather than a schedule of the step."""
    schedule = run.spec.get("schedule")
    return not isinstance(schedule, dict) or schedule.get("kind") == "constant"


def course_lines(run: Run) -> list[str]:
    """One line per update, as the chapter's program for this kind of schedule prints it."""
    trace = run.trace
    lines = []
    constant = constant_rate(run)
    for row in np.flatnonzero(trace.step >= 1):
        step = int(trace.step[row])
        w, loss = trace.w[row], trace.loss[row]
        if constant:
            lines.append(CONSTANT % (step - 1, fixed(w), fixed(loss)))
        else:
            lines.append(DECAYING % (step - 1, fixed(step), fixed(w), fixed(trace.lr[row]), fixed(loss)))
    return lines
