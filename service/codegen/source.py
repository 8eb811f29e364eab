"""Pieces of Python source shared by every library's program: literals, keyword arguments without the library's
defaults, the CSV header and the loop that prints the trace."""

import inspect
import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def literal(value: Any) -> str:
    """A JSON value as Python source: floats keep their shortest repr (a point stays: 2.0 is not 2)."""
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)}: {literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, as black writes strings
    return repr(value)


def _key(key: Any) -> str:
    """optax's boundaries_and_scales keys are steps: JSON writes them as strings, Python as ints."""
    return key if isinstance(key, str) and key.isdigit() else literal(key)


def keywords(
    parameters: Mapping[str, Any],
    factory: Callable[..., Any],
    skip: Sequence[str] = (),
    rename: Mapping[str, str] | None = None,
    convert: Mapping[str, Callable[[Any], str]] | None = None,
) -> list[str]:
    """`name=value` for each parameter that differs from the library's default (the engine factory declares the
    library's defaults), in the spec's order."""
    signature = inspect.signature(factory).parameters
    written = []
    for name, value in parameters.items():
        if name == "kind" or name in skip:
            continue
        declared = signature.get(name)
        if declared is not None and declared.default is not inspect.Parameter.empty and _same(value, declared.default):
            continue
        text = (convert or {}).get(name, literal)(value)
        written.append(f"{(rename or {}).get(name, name)}={text}")
    return written


def _same(value: Any, default: Any) -> bool:
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return (bool(value == default) and type(value) is type(default)) or (value is None and default is None)


def call(function: str, arguments: Sequence[str]) -> str:
    return f"{function}({', '.join(arguments)})"


@dataclass(frozen=True)
class Run:
    """What the program reproduces, read from the run's normalised spec."""

    run_id: str
    name: str | None
    dtype: str
    scalar: bool
    dims: int
    w0: list[float]
    steps: int
    every: int
    grad_tol: float | None
    loss_tol: float | None
    loss: Mapping[str, Any]
    schedule: Mapping[str, Any]
    optimizer: Mapping[str, Any]
    note: str

    @property
    def w0_source(self) -> str:
        return literal(self.w0[0] if self.scalar else self.w0)

    @property
    def header(self) -> str:
        """The CSV download's header: `step,w,loss,lr,grad`, or `w[i]` and `grad[i]` per dimension."""
        if self.scalar:
            return "step,w,loss,lr,grad"
        w = ",".join(f"w[{i}]" for i in range(self.dims))
        grad = ",".join(f"grad[{i}]" for i in range(self.dims))
        return f"step,{w},loss,lr,{grad}"


def row_function(dtype: str) -> list[str]:
    """`row(...)`: one CSV line of the service's trace, or None when a value is not finite (the run diverged)."""
    return [
        "def row(step, *values):",
        f'    """A row of the trace as the service writes it: each {dtype} number\'s shortest decimal."""',
        f"    numbers = np.concatenate([np.asarray(value, np.{dtype}).reshape(-1) for value in values])",
        "    if not np.isfinite(numbers).all():",
        "        return None",
        '    return ",".join([str(step), *(str(number) for number in numbers)])',
    ]


def loop(run: Run, fetch: Sequence[str], values: str, update: Sequence[str], indent: str = "") -> list[str]:
    """The loop over rows 0..STEPS: fetch the row's values, print it as CSV, stop as the service stops, update."""
    body: list[str] = [*fetch, f"line = row(step, {values})"]
    body += ["if line is None:  # not finite: the service's trace ends at the last finite row", "    break"]
    stops = []
    if run.grad_tol is not None:
        stops.append("np.sqrt(np.square(np.asarray(grad_val, np.float64)).sum()) <= GRAD_TOL")
    if run.loss_tol is not None:
        stops.append("loss_val <= LOSS_TOL")
    if run.every == 1:
        body.append("print(line)")
    else:
        body += ["last, printed = line, step % EVERY == 0", "if printed:", "    print(line)"]
    if stops:
        body += ["# the last row: the end, or an early stop", f"if step == STEPS or {' or '.join(stops)}:"]
    else:
        body.append("if step == STEPS:")
    body.append("    break")
    body += list(update)
    lines = [f'{indent}print("{run.header}")']
    if run.every != 1:
        lines.append(f"{indent}last, printed = None, True")
    lines.append(f"{indent}for step in range(STEPS + 1):")
    lines += [f"{indent}    {line}" if line else "" for line in body]
    if run.every != 1:
        lines += [f"{indent}if not printed:  # the last row is always kept", f"{indent}    print(last)"]
    return lines


def settings(run: Run) -> list[str]:
    """The run's numbers as constants at the top of the program."""
    lines = [f"STEPS = {run.steps}"]
    if run.every != 1:
        lines.append(f"EVERY = {run.every}  # keep every k-th row, plus the first and the last")
    if run.grad_tol is not None:
        lines.append(f"GRAD_TOL = {literal(run.grad_tol)}  # stop when the gradient's norm is at most this")
    if run.loss_tol is not None:
        lines.append(f"LOSS_TOL = {literal(run.loss_tol)}  # stop when the loss is at most this")
    return lines


def docstring(run: Run, library: str, what: str) -> list[str]:
    title = f"Run {_docstring_text(run.run_id)}" + (f" ({_docstring_text(run.name)})" if run.name else "")
    first, *rest = textwrap.wrap(f"{title} as {what}.", WIDTH - 3, break_long_words=False, break_on_hyphens=False)
    lines = [f'"""{first}', *rest, ""]
    lines.append(f"Generated by Descent: GET /v1/runs/{run.run_id}/code?library={library}")
    lines.append("It prints the trace as CSV with the columns of the run's CSV download; running it gives the")
    lines.append("service's numbers.")
    if run.note:
        lines += ["", *textwrap.wrap(run.note, WIDTH, break_long_words=False, break_on_hyphens=False)]
    lines += ['"""', ""]
    return lines


def _docstring_text(text: str) -> str:
    """A client's text (a run's name) safe inside the program's docstring: one line, backslashes and quotes escaped,
    so that it can never end the string and become code."""
    one_line = " ".join(text.split())
    return one_line.replace("\\", "\\\\").replace('"', '\\"')


WIDTH = 100
"""Lines of the programs are wrapped as black would wrap them, beyond this width."""


def wrapped(line: str) -> list[str]:
    """A long line that ends in a bracketed list of arguments or items (`name = f(a, b)`, `key=[x, y],`) as black
    writes it: the items on one indented line, or one per line with a trailing comma, each wrapped again. Other lines,
    and brackets that close before the end (`f(x).minimize(loss)`, as the course writes it), stay as they are."""
    if len(line) <= WIDTH:
        return [line]
    body, comma = (line[:-1], ",") if line.endswith(",") else (line, "")
    opening = next((index for index, char in enumerate(body) if char in "([{"), -1)
    if opening < 0 or _closing(body, opening) != len(body) - 1:
        return [line]
    outer = body[: len(body) - len(body.lstrip())]
    indent = outer + "    "
    items = _split(body[opening + 1 : -1])
    together = indent + ", ".join(items)
    if len(together) <= WIDTH:
        return [body[: opening + 1], together, outer + body[-1] + comma]
    inner = [piece for item in items for piece in wrapped(f"{indent}{item},")]
    return [body[: opening + 1], *inner, outer + body[-1] + comma]


def _closing(text: str, opening: int) -> int:
    """Where the bracket opened at `opening` closes (-1: not in `text`)."""
    depth, quote = 0, ""
    for index in range(opening, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _split(arguments: str) -> list[str]:
    """Arguments at the top level of a call, split at their commas."""
    pieces, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(arguments):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(arguments[start:index].strip())
            start = index + 1
    pieces.append(arguments[start:].strip())
    return [piece for piece in pieces if piece]


def joined(lines: list[str]) -> str:
    """The program's text: long calls wrapped, at most two blank lines in a row (PEP 8 around functions)."""
    lines = [piece for line in lines for piece in wrapped(line)]
    text = "\n".join(lines).strip() + "\n"
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text
