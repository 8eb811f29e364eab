"""The Adam sweep's optax baseline, run in a Python that has JAX and optax (the golden virtualenv) as a
subprocess of `bench.kernels`, which times it between its own cases.

`python bench/optax_adam.py RUNS STEPS` builds `optax.adam` (b1 0.9, b2 0.999, eps 1e-8: bench.sweep's Adam) as
`jax.jit` of a `lax.scan` over the steps, one learning rate per run (`scale_by_adam`, then the product with −lr and
`apply_updates`, which is what `optax.adam(lr)` does with a scalar rate), on bench.sweep's 2-D quadratic from
(5, 5), float32, keeping the summary: the final weights and each run's smallest loss. It compiles once (the
lowering and compilation timed apart) and prints one JSON line: `{"compile_ns", "w"}` (the final weights, for
the caller's check against the engine). Then, for every line `time` read from stdin, it runs the sweep once and
prints `{"wall_ns", "cpu_ns"}`; it ends at end of input. The rates are `logspace(-4, 0, RUNS)` in float32.
"""

import importlib
import json
import sys
import time
from typing import Any

import numpy as np

A, B, C, W0 = (1.0, 10.0), (1.0, -2.0), 0.0, (5.0, 5.0)
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def compiled(jax: Any, optax: Any, runs: int, steps: int) -> tuple[Any, tuple[Any, Any], int]:
    """The compiled sweep, its arguments and the compile time (ns)."""
    jnp, lax = jax.numpy, jax.lax
    a, b = jnp.asarray(A, jnp.float32), jnp.asarray(B, jnp.float32)
    adam = optax.scale_by_adam(b1=BETA1, b2=BETA2, eps=EPS)

    def sweep(w0: Any, lr: Any) -> Any:
        def step(carry: Any, _: Any) -> Any:
            w, state, best = carry
            shifted = w + b
            loss = (shifted * shifted * a + C).sum(axis=-1)
            g = shifted * (2 * a)
            u, state = adam.update(g, state)
            w = optax.apply_updates(w, u * -lr)
            return (w, state, jnp.fmin(best, loss)), None

        best0 = jnp.full(w0.shape[0], jnp.inf, jnp.float32)
        (w, _, best), _ = lax.scan(step, (w0, adam.init(w0), best0), None, length=steps)
        return w, best

    rates = np.logspace(-4, 0, runs, dtype=np.float32)
    arguments = (jnp.tile(jnp.asarray(W0, jnp.float32), (runs, 1)), jnp.asarray(rates)[:, None])
    start = time.perf_counter_ns()
    executable = jax.jit(sweep).lower(*arguments).compile()
    return executable, arguments, time.perf_counter_ns() - start


def main() -> None:
    runs, steps = int(sys.argv[1]), int(sys.argv[2])
    jax, optax = importlib.import_module("jax"), importlib.import_module("optax")
    executable, arguments, compile_ns = compiled(jax, optax, runs, steps)
    w, _ = jax.block_until_ready(executable(*arguments))
    print(json.dumps({"compile_ns": compile_ns, "w": np.asarray(w).tolist()}), flush=True)
    for line in sys.stdin:
        if line.strip() != "time":
            continue
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        jax.block_until_ready(executable(*arguments))
        wall, cpu = time.perf_counter_ns() - wall, time.process_time_ns() - cpu
        print(json.dumps({"wall_ns": wall, "cpu_ns": cpu}), flush=True)


if __name__ == "__main__":
    main()
