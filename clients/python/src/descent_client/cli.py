"""`descent`: run, sweep and range-test gradient descent on a Descent server from a terminal.

    descent run --loss '(w+1)**2' --w0 5 --rate 0.2 --steps 40 --format course
    descent run --loss '(w+1)**2' --w0 5 --steps 40 --format course \\
        --schedule tf1.exponential_decay:learning_rate=0.1,decay_steps=1,decay_rate=0.99,staircase=true
    descent sweep --loss '(w+1)**2' --w0 5 --rate 0.2 --steps 40 --axis schedule.learning_rate=linspace:0,2,101
    descent lr-find --loss '(w+1)**2' --w0 5

A refused request prints the server's problem (its detail, then each field and what to change) on stderr and
exits with status 1; a mistake in the options themselves exits with 2.
"""

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from descent_client import specs
from descent_client._core import DEFAULT_URL
from descent_client.client import Client
from descent_client.course import course_lines
from descent_client.errors import APIError, DescentError
from descent_client.models import Run, RunInfo, Sweep

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_STEPS = 10_000
"""Runs and sweeps of at least this many steps show a progress bar on a terminal (unless --no-progress)."""
TABLE_ROWS = 50
"""Rows `--format table` shows when --max-points is not given (evenly spaced, first and last kept)."""
OPTION_OF = {
    "loss": "--loss",
    "w0": "--w0",
    "schedule": "--rate/--schedule",
    "optimizer": "--optimizer",
    "steps": "--steps",
    "dtype": "--dtype",
    "record": "--every",
    "name": "--name",
    "stop": "--grad-tol/--loss-tol",
    "axes": "--axis",
    "start_lr": "--start-lr",
    "end_lr": "--end-lr",
    "num_iter": "--num-iter",
    "step_mode": "--step-mode",
    "smooth_f": "--smooth-f",
    "diverge_th": "--diverge-th",
}
"""The option that sets each top-level field, named beside the field in error messages."""

stderr = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="descent-client")
def main() -> None:
    """Gradient-descent runs on a Descent server (start one with `make run`)."""


def server_options(command: F) -> F:
    """--server, --api-key, --api-key-file and --timeout, on every command."""
    options = [
        click.option(
            "--server",
            envvar="DESCENT_SERVER",
            default=DEFAULT_URL,
            show_default=True,
            help="The server's URL (or $DESCENT_SERVER).",
        ),
        click.option("--api-key", envvar="DESCENT_API_KEY", help="An API key, sent as a bearer token."),
        click.option(
            "--api-key-file",
            envvar="DESCENT_API_KEY_FILE",
            type=click.Path(exists=True, dir_okay=False),
            help="A file of keys, one per line (# comments); the first is sent.",
        ),
        click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for an answer."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_options(command: F) -> F:
    """The run spec's fields as options; --spec FILE gives a whole spec that the other options then override."""
    options = [
        click.option("--spec", "spec_file", type=click.File("r"), help="A run spec as JSON ('-' for stdin)."),
        click.option("--loss", help="A formula in w (or x, y, w[i]) such as '(w+1)**2', KIND:name=value,… or JSON."),
        click.option("--w0", help="The starting point: a number, or numbers separated by commas."),
        click.option("--rate", type=float, help="A constant learning rate."),
        click.option(
            "--schedule",
            help="A schedule: a number, KIND:name=value,… (tf1.exponential_decay:learning_rate=0.1,…) or JSON.",
        ),
        click.option("--optimizer", help="KIND:name=value,… (torch.SGD:momentum=0.9) or JSON; default plain SGD."),
        click.option("--steps", type=int, help="Number of updates."),
        click.option("--dtype", type=click.Choice(["float32", "float64"]), help="Precision (default float32)."),
        click.option("--every", type=int, help="Record every k-th row (plus the first and last)."),
        click.option("--grad-tol", type=float, help="Stop once the gradient norm is at most this."),
        click.option("--loss-tol", type=float, help="Stop once the loss is at most this."),
        click.option("--name", help="A label for the run."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def parsed(option: str, parse: Callable[[str], Any], text: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{option}'") from exc


def run_spec(
    options: dict[str, Any], required: tuple[str, ...] = ("loss", "w0", "schedule", "steps")
) -> dict[str, Any]:
    """The spec the options describe: --spec's JSON, then each option given."""
    spec: dict[str, Any] = {}
    if options.get("spec_file") is not None:
        try:
            spec = json.load(options["spec_file"])
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="'--spec'") from exc
        if not isinstance(spec, dict):
            raise click.BadParameter("a spec is a JSON object", param_hint="'--spec'")
    if options.get("loss") is not None:
        spec["loss"] = parsed("--loss", specs.loss, options["loss"])
    if options.get("w0") is not None:
        spec["w0"] = parsed("--w0", specs.numbers, options["w0"])
    if options.get("rate") is not None and options.get("schedule") is not None:
        raise click.UsageError("give either --rate or --schedule, not both")
    if options.get("rate") is not None:
        spec["schedule"] = options["rate"]
    if options.get("schedule") is not None:
        spec["schedule"] = parsed("--schedule", specs.schedule, options["schedule"])
    if options.get("optimizer") is not None:
        spec["optimizer"] = parsed("--optimizer", specs.kind_with_params, options["optimizer"])
    for field in ("steps", "dtype", "name"):
        if options.get(field) is not None:
            spec[field] = options[field]
    if options.get("every") is not None:
        spec["record"] = {**spec.get("record", {}), "every": options["every"]}
    for field in ("grad_tol", "loss_tol"):
        if options.get(field) is not None:
            spec["stop"] = {**spec.get("stop", {}), field: options[field]}
    missing = [OPTION_OF.get(field, field) for field in required if field not in spec]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give them in a --spec file)")
    return spec


@contextmanager
def connected(options: dict[str, Any]) -> Iterator[Client]:
    """A client for the options' server; the server's problems and unreachable servers become clear exits."""
    try:
        with Client(
            options["server"],
            api_key=options.get("api_key"),
            api_key_file=options.get("api_key_file"),
            timeout=options["timeout"],
        ) as client:
            yield client
    except APIError as error:
        report(error)
        sys.exit(1)
    except httpx.TransportError as error:
        click.echo(f"error: cannot reach the server at {options['server']}: {error or type(error).__name__}", err=True)
        click.echo("  start one with `make run`, or name it with --server URL (or $DESCENT_SERVER)", err=True)
        sys.exit(1)
    except DescentError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


def report(error: APIError) -> None:
    """The problem on stderr: status, title and detail, then each field (with its option) and what to change."""
    problem = error.problem
    click.echo(f"error: {problem.status} {problem.title}: {problem.detail}", err=True)
    for item in problem.errors:
        parts = item.field.split(".")
        option = OPTION_OF.get(parts[1] if parts[0] == "base" and len(parts) > 1 else parts[0])
        hint = f" ({option})" if option else ""
        click.echo(f"  {item.field}{hint}: {item.msg}", err=True)
    if error.retry_after is not None:
        click.echo(f"  retry after {error.retry_after:g} s", err=True)


def show_progress(flag: bool | None, steps: int) -> bool:
    if flag is not None:
        return flag
    return stderr.is_terminal and steps >= PROGRESS_STEPS


@contextmanager
def progress_bar(enabled: bool, label: str, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr, updated by the callback yielded (None when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=False) as bar:
        task = bar.add_task(label, total=total)

        def update(step: int, steps: int) -> None:
            bar.update(task, completed=step, total=steps)

        yield update


def follow_run(client: Client, info: RunInfo, progress: bool) -> RunInfo:
    """Wait for the run (with a progress bar if asked); Ctrl-C cancels it on the server."""
    try:
        with progress_bar(progress, f"run {info.id}", int(info.spec["steps"])) as update:
            return client.wait(info.id, on_progress=update)
    except KeyboardInterrupt:
        cancelled = client.cancel(info.id)
        click.echo(f"cancelled run {info.id} ({cancelled.status})", err=True)
        sys.exit(130)


FORMAT = click.option(
    "--format",
    "format_",
    type=click.Choice(["course", "csv", "json", "table"]),
    default="table",
    show_default=True,
    help="course: the chapter's printed lines; csv: the server's CSV download; json: the run document.",
)
MAX_POINTS = click.option(
    "--max-points", type=click.IntRange(min=2), help=f"Thin the rows shown to this many (table: {TABLE_ROWS})."
)


@main.command()
@run_options
@FORMAT
@MAX_POINTS
@click.option("--progress/--no-progress", default=None, help="A progress bar on stderr (default: long runs, on a tty).")
@server_options
def run(format_: str, max_points: int | None, progress: bool | None, **options: Any) -> None:
    """Run a spec and print its rows.

    \b
    descent run --loss '(w+1)**2' --w0 5 --rate 0.2 --steps 40 --format course
    """
    spec = run_spec(options)
    with connected(options) as client:
        info = client.submit(spec)
        info = follow_run(client, info, show_progress(progress, int(spec["steps"])))
        output_run(client, info, format_, max_points)


@main.command()
@click.argument("run_id")
@FORMAT
@MAX_POINTS
@server_options
def get(run_id: str, format_: str, max_points: int | None, **options: Any) -> None:
    """Print a stored run's rows (by its id)."""
    with connected(options) as client:
        output_run(client, client.info(run_id), format_, max_points)


def output_run(client: Client, info: RunInfo, format_: str, max_points: int | None) -> None:
    match format_:
        case "csv":
            click.echo(client.csv(info.id, max_points=max_points), nl=False)
        case "json":
            click.echo(json.dumps(client.document(info.id, max_points=max_points)))
        case "course":
            run = client.get(info.id, max_points=max_points)
            click.echo("".join(line + "\n" for line in course_lines(run)), nl=False)
        case _:
            print_table(client.get(info.id, max_points=max_points or TABLE_ROWS))
    if info.status == "failed":
        click.echo(f"error: the run failed: {info.error}", err=True)
        sys.exit(1)


def number(value: Any) -> str:
    """Up to 8 significant digits; a row of a D-dimensional run as [a, b]."""
    if getattr(value, "ndim", 0) > 0:
        return "[" + ", ".join(number(item) for item in value) + "]"
    return f"{float(value):.8g}"


def print_table(run: Run) -> None:
    table = Table(title=f"run {run.id} ({run.status})", title_justify="left")
    for column in ("step", "w", "loss", "lr", "grad"):
        table.add_column(column, justify="right")
    trace = run.trace
    for row in range(len(trace)):
        table.add_row(
            str(trace.step[row]),
            number(trace.w[row]),
            number(trace.loss[row]),
            number(trace.lr[row]),
            number(trace.grad[row]),
        )
    console = Console(highlight=False)
    console.print(table)
    if run.summary is not None:
        click.echo(f"{run.summary.verdict}: {run.summary.explanation}")


@main.command()
@run_options
@click.option(
    "--axis",
    "axes",
    multiple=True,
    required=True,
    help="PATH=linspace:START,STOP,NUM, PATH=logspace:START,STOP,NUM or PATH=V1,V2,…; up to 4, outermost first.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table: verdicts by region; csv: one line per grid point; json: the sweep document.",
)
@click.option(
    "--progress/--no-progress", default=None, help="A progress bar on stderr (default: long sweeps, on a tty)."
)
@server_options
def sweep(axes: tuple[str, ...], format_: str, progress: bool | None, **options: Any) -> None:
    """Run a grid of runs as one batch and print each point's verdict.

    \b
    descent sweep --loss '(w+1)**2' --w0 5 --rate 0.2 --steps 40 --axis schedule.learning_rate=linspace:0,2,101
    """
    base = run_spec(options)
    spec = {"base": base, "axes": [parsed("--axis", specs.axis, text) for text in axes]}
    with connected(options) as client:
        started = client.submit_sweep(spec)
        try:
            steps = int(base["steps"])
            with progress_bar(show_progress(progress, steps), f"sweep {started.id}", steps) as update:
                result = client.wait_sweep(started.id, on_progress=update)
        except KeyboardInterrupt:
            click.echo(f"stopped following sweep {started.id} (it goes on on the server)", err=True)
            sys.exit(130)
        match format_:
            case "json":
                click.echo(json.dumps(client.request("GET", f"/v1/sweeps/{started.id}").json()))
            case "csv":
                click.echo(points_csv(result), nl=False)
            case _:
                print_sweep(result)
        if result.status == "failed":
            click.echo(f"error: the sweep failed: {result.error}", err=True)
            sys.exit(1)


def points_csv(result: Sweep) -> str:
    buffer = io.StringIO()
    points = result.points()
    writer = csv.writer(buffer, lineterminator="\n")
    if points:
        writer.writerow(points[0])
        writer.writerows(["" if value is None else value for value in point.values()] for point in points)
    return buffer.getvalue()


def print_sweep(result: Sweep) -> None:
    """Per point for small grids; for a long one-axis sweep, the runs of equal verdicts (the regions)."""
    console = Console(highlight=False)
    points = result.points()
    paths = [axis.path for axis in result.axes]
    shape = "x".join(map(str, result.shape))
    table = Table(title=f"sweep {result.id} ({result.status}), grid {shape}", title_justify="left")
    if len(points) <= TABLE_ROWS or len(paths) > 1:
        for path in paths:
            table.add_column(path, justify="right")
        for column in ("verdict", "final_loss", "converged_at", "diverged_at"):
            table.add_column(column, justify="right")
        for point in points[: TABLE_ROWS * 4]:
            table.add_row(
                *(f"{point[path]:.8g}" for path in paths),
                point["verdict"],
                f"{point['final_loss']:.8g}",
                str(point["converged_at"] if point["converged_at"] is not None else ""),
                str(point["diverged_at"] if point["diverged_at"] is not None else ""),
            )
    else:
        path = paths[0]
        for column in (f"{path} from", "to", "verdict", "points"):
            table.add_column(column, justify="right")
        start = 0
        for index in range(1, len(points) + 1):
            if index == len(points) or points[index]["verdict"] != points[start]["verdict"]:
                table.add_row(
                    f"{points[start][path]:.8g}",
                    f"{points[index - 1][path]:.8g}",
                    points[start]["verdict"],
                    str(index - start),
                )
                start = index
    console.print(table)
    if result.summary is not None:
        counts = ", ".join(f"{verdict} {count}" for verdict, count in result.summary.counts.items())
        click.echo(f"verdicts: {counts}")
        stability = result.summary.stability
        if stability is not None:
            agrees = "agrees with" if stability.agrees else "disagrees with"
            click.echo(f"stability ({stability.rule}): the measurement {agrees} the prediction")


@main.command(name="lr-find")
@click.option("--spec", "spec_file", type=click.File("r"), help="A range-test spec as JSON ('-' for stdin).")
@click.option("--loss", help="A formula in w such as '(w+1)**2', KIND:name=value,… or JSON.")
@click.option("--w0", help="The starting point: a number, or numbers separated by commas.")
@click.option("--optimizer", help="KIND:name=value,… or JSON (default plain SGD).")
@click.option("--start-lr", type=float, help="The first rate (default 1e-7).")
@click.option("--end-lr", type=float, help="The last rate (default 10).")
@click.option("--num-iter", type=int, help="Number of updates (default 100).")
@click.option("--step-mode", type=click.Choice(["exp", "linear"]), help="How the rate grows (default exp).")
@click.option("--smooth-f", type=float, help="Smoothing factor of the loss (default 0.05).")
@click.option("--diverge-th", type=float, help="Stop once the smoothed loss exceeds this times the best (default 5).")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), help="Precision (default float32).")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table: the suggested rates; csv: the curve; json: the answer document.",
)
@server_options
def lr_find(format_: str, **options: Any) -> None:
    """Run a learning-rate range test (torch-lr-finder, fastai) and print the suggested rates.

    \b
    descent lr-find --loss '(w+1)**2' --w0 5
    """
    spec = run_spec(options, required=("loss", "w0"))
    spec.setdefault("optimizer", {"kind": "sgd"})
    for field in ("start_lr", "end_lr", "num_iter", "step_mode", "smooth_f", "diverge_th"):
        if options.get(field) is not None:
            spec[field] = options[field]
    with connected(options) as client:
        if format_ == "json":
            click.echo(json.dumps(client.request("POST", "/v1/lr-finder", json=spec).json()))
            return
        result = client.lr_finder(spec)
        if format_ == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(["lr", "loss", "smoothed_loss"])
            writer.writerows(
                (str(lr), str(loss), str(smooth))
                for lr, loss, smooth in zip(result.lr, result.loss, result.smoothed_loss, strict=True)
            )
            click.echo(buffer.getvalue(), nl=False)
            return
        console = Console(highlight=False)
        table = Table(title=f"range test: {len(result.lr)} points, {result.stop_reason}", title_justify="left")
        for column in ("suggestion", "library", "lr", "rule"):
            table.add_column(column)
        for item in result.suggestions:
            rate = f"{item.lr:.6g}" if item.lr is not None else f"none ({item.note})"
            table.add_row(item.name, item.library, rate, item.rule.split(": ")[0])
        console.print(table)
