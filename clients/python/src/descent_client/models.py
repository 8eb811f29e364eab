"""Typed answers: dataclasses mirroring the service's JSON documents (`openapi/openapi.json`), traces and grids as
NumPy arrays.

Numbers of a float32 run are float32 arrays: the service writes each float32 as the shortest decimal that reads
back to it, so `np.asarray(values, np.float32)` recovers the run's exact values (and `"%f" % value` prints what
the course's TensorFlow program prints). Values JSON cannot carry (an overflowed state, a sweep point that
diverged) arrive as null and become NaN.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

Array = npt.NDArray[Any]
ENDED = frozenset({"finished", "diverged", "cancelled", "failed"})
"""Statuses after which a run or job changes no more."""


def floats(values: Any, dtype: str = "float64") -> Array:
    """Numbers (nested lists, nulls as NaN) as an array of `dtype`."""
    return np.asarray(_nan_for_none(values), dtype=np.dtype(dtype))


def _nan_for_none(values: Any) -> Any:
    if values is None:
        return float("nan")
    if isinstance(values, list):
        return [_nan_for_none(value) for value in values]
    return values


@dataclass(frozen=True)
class FinalRow:
    step: int
    w: float | list[float]
    loss: float


@dataclass(frozen=True)
class BestRow:
    step: int
    loss: float


@dataclass(frozen=True)
class Minimum:
    w: list[float]
    loss: float


@dataclass(frozen=True)
class LossFacts:
    """Analytic facts of the loss: for a quadratic exact, for a polynomial near its minimum."""

    kind: str
    bounded_below: bool
    minimum: Minimum | None
    curvature: list[float] | None
    max_stable_lr: float | None
    one_step_lr: float | None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "LossFacts":
        minimum = document.get("minimum")
        return cls(
            kind=document["kind"],
            bounded_below=document["bounded_below"],
            minimum=Minimum(minimum["w"], minimum["loss"]) if minimum is not None else None,
            curvature=document.get("curvature"),
            max_stable_lr=document.get("max_stable_lr"),
            one_step_lr=document.get("one_step_lr"),
        )


@dataclass(frozen=True)
class Summary:
    """What a run did: its last and best rows, when it converged or diverged, and a verdict in words."""

    steps_run: int
    final: FinalRow | None
    best: BestRow | None
    converged_at: int | None
    diverged_at: int | None
    verdict: str
    explanation: str
    analysis: LossFacts | None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Summary":
        final, best, analysis = document.get("final"), document.get("best"), document.get("analysis")
        return cls(
            steps_run=document["steps_run"],
            final=FinalRow(final["step"], final["w"], final["loss"]) if final is not None else None,
            best=BestRow(best["step"], best["loss"]) if best is not None else None,
            converged_at=document.get("converged_at"),
            diverged_at=document.get("diverged_at"),
            verdict=document["verdict"],
            explanation=document["explanation"],
            analysis=LossFacts.from_json(analysis) if analysis is not None else None,
        )


@dataclass(frozen=True)
class Trace:
    """A run's recorded rows as arrays: `step` (N,) int64; `w` and `grad` (N,) for a one-dimensional run, (N, D)
    otherwise; `loss` and `lr` (N,); `state` the optimizer's state by the library's names (with `record.state`).
    Row t holds w[t], loss(w[t]), grad[t] and lr[t], the rate of the update from row t to t + 1."""

    step: Array
    w: Array
    loss: Array
    lr: Array
    grad: Array
    state: dict[str, Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def dims(self) -> int:
        """The run's dimension D (1 for a scalar run)."""
        return 1 if self.w.ndim == 1 else int(self.w.shape[1])

    @classmethod
    def from_json(cls, document: Mapping[str, Any], dtype: str = "float32") -> "Trace":
        return cls(
            step=np.asarray(document["step"], dtype=np.int64),
            w=floats(document["w"], dtype),
            loss=floats(document["loss"], dtype),
            lr=floats(document["lr"], dtype),
            grad=floats(document["grad"], dtype),
            state={name: floats(values, dtype) for name, values in (document.get("state") or {}).items()},
        )

    @classmethod
    def from_columns(cls, columns: Mapping[str, Array]) -> "Trace":
        """The trace from the CSV's (and Arrow's) named columns: `step`, `w` or `w[0]`, `w[1]`, …, `loss`, `lr`,
        `grad` or `grad[i]`, `state.<name>` or `state.<name>[i]`."""

        def gathered(name: str) -> Array | None:
            if name in columns:
                return np.asarray(columns[name])
            parts = [np.asarray(columns[f"{name}[{i}]"]) for i in range(len(columns)) if f"{name}[{i}]" in columns]
            return np.stack(parts, axis=1) if parts else None

        state_names = sorted({key.split("[")[0][len("state.") :] for key in columns if key.startswith("state.")})
        w, grad = gathered("w"), gathered("grad")
        if w is None or grad is None:
            raise ValueError(f"a trace needs w and grad columns; got {sorted(columns)}")
        state = {name: values for name in state_names if (values := gathered(f"state.{name}")) is not None}
        return cls(
            step=np.asarray(columns["step"], dtype=np.int64),
            w=w,
            loss=np.asarray(columns["loss"]),
            lr=np.asarray(columns["lr"]),
            grad=grad,
            state=state,
        )

    def columns(self) -> dict[str, Array]:
        """Named 1-D columns in the order and with the names of the run's CSV download."""
        result: dict[str, Array] = {"step": self.step}
        result |= _spread("w", self.w)
        result |= {"loss": self.loss, "lr": self.lr}
        result |= _spread("grad", self.grad)
        for name, values in self.state.items():
            result |= _spread(f"state.{name}", values)
        return result

    def to_pandas(self) -> "pd.DataFrame":
        """The rows as a DataFrame indexed by step (needs `descent-client[pandas]`)."""
        pandas = _require("pandas", "pandas")
        columns = self.columns()
        step = columns.pop("step")
        frame: pd.DataFrame = pandas.DataFrame(columns, index=pandas.Index(step, name="step"))
        return frame

    def plot(self, ax: "Axes | None" = None, *, y: str = "loss", log: bool | None = None, **style: Any) -> "Axes":
        """Draw a column (`loss`, `w`, `lr`, `grad`) against the step on `ax` (a new figure's by default); the loss
        on a log scale when it is positive. Needs `descent-client[plot]`. Returns the axes."""
        pyplot = _require("matplotlib.pyplot", "plot")
        if ax is None:
            _, ax = pyplot.subplots()
        assert ax is not None
        values = {"loss": self.loss, "w": self.w, "lr": self.lr, "grad": self.grad}[y]
        ax.plot(self.step, values, **style)
        ax.set_xlabel("step")
        ax.set_ylabel(y)
        if log if log is not None else (y == "loss" and bool(np.all(self.loss > 0))):
            ax.set_yscale("log")
        return ax


def _spread(name: str, values: Array) -> dict[str, Array]:
    if values.ndim == 1:
        return {name: values}
    return {f"{name}[{i}]": values[:, i] for i in range(values.shape[1])}


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is not installed: pip install 'descent-client[{extra}]'") from exc


@dataclass(frozen=True)
class RunInfo:
    """A run without its trace (what `submit`, lists and the `run` event answer)."""

    id: str
    name: str | None
    status: str
    created_at: str
    finished_at: str | None
    spec: dict[str, Any]
    summary: Summary | None
    error: str | None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def dtype(self) -> str:
        return str(self.spec.get("dtype", "float32"))

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "RunInfo":
        return cls(**_info_fields(document))


def _info_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    summary = document.get("summary")
    return {
        "id": document["id"],
        "name": document.get("name"),
        "status": document["status"],
        "created_at": document["created_at"],
        "finished_at": document.get("finished_at"),
        "spec": dict(document["spec"]),
        "summary": Summary.from_json(summary) if summary is not None else None,
        "error": document.get("error"),
    }


@dataclass(frozen=True)
class Run(RunInfo):
    """A run with its trace."""

    trace: Trace

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Run":
        fields = _info_fields(document)
        dtype = str(fields["spec"].get("dtype", "float32"))
        return cls(**fields, trace=Trace.from_json(document["trace"], dtype))

    @classmethod
    def with_trace(cls, info: RunInfo, trace: Trace) -> "Run":
        return cls(**{name: getattr(info, name) for name in RunInfo.__dataclass_fields__}, trace=trace)

    def to_pandas(self) -> "pd.DataFrame":
        return self.trace.to_pandas()

    def plot(self, ax: "Axes | None" = None, **options: Any) -> "Axes":
        axes = self.trace.plot(ax, label=self.name or self.id, **options)
        if self.summary is not None:
            axes.set_title(f"{self.summary.verdict}: {self.summary.explanation}", fontsize="small", wrap=True)
        return axes


@dataclass(frozen=True)
class RunPage:
    items: list[RunInfo]
    next_cursor: str | None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "RunPage":
        return cls([RunInfo.from_json(item) for item in document["items"]], document.get("next_cursor"))


@dataclass(frozen=True)
class AxisValues:
    path: str
    values: Array


@dataclass(frozen=True)
class Stability:
    """Theory beside experiment for a constant rate on a quadratic: grids over the other axes."""

    axis: str
    rule: str
    predicted_max_lr: Array
    largest_stable_lr: Array
    smallest_diverged_lr: Array
    agrees: bool


@dataclass(frozen=True)
class SweepSummary:
    """Per grid point, arrays shaped like the grid (NaN where JSON has null; -1 for a step that never happened)."""

    final_loss: Array
    best_loss: Array
    verdict: Array
    converged_at: Array
    diverged_at: Array
    counts: dict[str, int]
    stability: Stability | None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "SweepSummary":
        stability = document.get("stability")
        return cls(
            final_loss=floats(document["final_loss"]),
            best_loss=floats(document["best_loss"]),
            verdict=np.asarray(document["verdict"], dtype=str),
            converged_at=_steps(document["converged_at"]),
            diverged_at=_steps(document["diverged_at"]),
            counts=dict(document["counts"]),
            stability=Stability(
                axis=stability["axis"],
                rule=stability["rule"],
                predicted_max_lr=floats(stability["predicted_max_lr"]),
                largest_stable_lr=floats(stability["largest_stable_lr"]),
                smallest_diverged_lr=floats(stability["smallest_diverged_lr"]),
                agrees=stability["agrees"],
            )
            if stability is not None
            else None,
        )


def _steps(values: Any) -> Array:
    def replaced(value: Any) -> Any:
        if isinstance(value, list):
            return [replaced(item) for item in value]
        return -1 if value is None else value

    return np.asarray(replaced(values), dtype=np.int64)


@dataclass(frozen=True)
class SweepTraces:
    """With `max_points`: the kept rows; `w`, `loss`, `lr` are shaped [grid…][row] (w [grid…][row][dim])."""

    step: Array
    w: Array
    loss: Array
    lr: Array


@dataclass(frozen=True)
class SweepProgress:
    step: int
    steps: int


@dataclass(frozen=True)
class Sweep:
    """A grid of runs computed as one batch; `summary` arrays are shaped like the grid (`shape`)."""

    id: str
    name: str | None
    status: str
    created_at: str
    finished_at: str | None
    spec: dict[str, Any]
    shape: tuple[int, ...]
    axes: list[AxisValues]
    progress: SweepProgress
    summary: SweepSummary | None
    traces: SweepTraces | None
    error: str | None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Sweep":
        summary, traces = document.get("summary"), document.get("traces")
        return cls(
            id=document["id"],
            name=document.get("name"),
            status=document["status"],
            created_at=document["created_at"],
            finished_at=document.get("finished_at"),
            spec=dict(document["spec"]),
            shape=tuple(document["shape"]),
            axes=[AxisValues(axis["path"], floats(axis["values"])) for axis in document["axes"]],
            progress=SweepProgress(**document["progress"]),
            summary=SweepSummary.from_json(summary) if summary is not None else None,
            traces=SweepTraces(
                step=np.asarray(traces["step"], dtype=np.int64),
                w=floats(traces["w"]),
                loss=floats(traces["loss"]),
                lr=floats(traces["lr"]),
            )
            if traces is not None
            else None,
            error=document.get("error"),
        )

    def points(self) -> list[dict[str, Any]]:
        """One record per grid point, in the grid's order (first axis outermost): each axis's value by its path,
        then the point's summary fields."""
        if self.summary is None:
            return []
        grids = np.meshgrid(*(axis.values for axis in self.axes), indexing="ij")
        summary = self.summary
        records = []
        for index in np.ndindex(*self.shape):
            record: dict[str, Any] = {
                axis.path: float(grid[index]) for axis, grid in zip(self.axes, grids, strict=True)
            }
            record |= {
                "final_loss": float(summary.final_loss[index]),
                "best_loss": float(summary.best_loss[index]),
                "verdict": str(summary.verdict[index]),
                "converged_at": _step_or_none(summary.converged_at[index]),
                "diverged_at": _step_or_none(summary.diverged_at[index]),
            }
            records.append(record)
        return records

    def to_pandas(self) -> "pd.DataFrame":
        """One row per grid point (`points()`), needs `descent-client[pandas]`."""
        pandas = _require("pandas", "pandas")
        frame: pd.DataFrame = pandas.DataFrame.from_records(self.points())
        return frame


def _step_or_none(value: Any) -> int | None:
    return None if int(value) < 0 else int(value)


@dataclass(frozen=True)
class LRSuggestion:
    name: str
    library: str
    lr: float | None
    index: int | None
    rule: str
    note: str | None


@dataclass(frozen=True)
class LRFinderResult:
    """The range test's curve (rate of update k, loss before it, smoothed loss) and the suggested rates."""

    lr: Array
    loss: Array
    smoothed_loss: Array
    stopped_early: bool
    stop_reason: str
    suggestions: list[LRSuggestion]

    @classmethod
    def from_json(cls, document: Mapping[str, Any], dtype: str = "float32") -> "LRFinderResult":
        return cls(
            lr=floats(document["lr"], dtype),
            loss=floats(document["loss"], dtype),
            smoothed_loss=floats(document["smoothed_loss"]),
            stopped_early=document["stopped_early"],
            stop_reason=document["stop_reason"],
            suggestions=[LRSuggestion(**item) for item in document["suggestions"]],
        )

    def suggestion(self, name: str) -> LRSuggestion:
        """The suggestion named `steepest`, `valley` or `minimum`."""
        for item in self.suggestions:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_pandas(self) -> "pd.DataFrame":
        pandas = _require("pandas", "pandas")
        frame: pd.DataFrame = pandas.DataFrame({"lr": self.lr, "loss": self.loss, "smoothed_loss": self.smoothed_loss})
        return frame

    def plot(self, ax: "Axes | None" = None) -> "Axes":
        """The smoothed loss against the rate (log scale), with the suggestions marked (`descent-client[plot]`)."""
        pyplot = _require("matplotlib.pyplot", "plot")
        if ax is None:
            _, ax = pyplot.subplots()
        assert ax is not None
        ax.plot(self.lr, self.smoothed_loss, label="smoothed loss")
        for item in self.suggestions:
            if item.lr is not None:
                ax.axvline(item.lr, linestyle=":", label=f"{item.name} {item.lr:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


@dataclass(frozen=True)
class GridMinimum:
    w: list[float]
    loss: float
    index: list[int]


@dataclass(frozen=True)
class Landscape:
    """A loss on a grid: 1-D `loss[i]` at `x[i]`; 2-D `loss[j, i]` at `(x[i], y[j])`; NaN where it overflowed."""

    x: Array
    y: Array | None
    loss: Array
    minimum: GridMinimum | None

    @classmethod
    def from_json(cls, document: Mapping[str, Any], dtype: str = "float32") -> "Landscape":
        minimum, y = document.get("minimum"), document.get("y")
        return cls(
            x=floats(document["x"], dtype),
            y=floats(y, dtype) if y is not None else None,
            loss=floats(document["loss"], dtype),
            minimum=GridMinimum(**minimum) if minimum is not None else None,
        )

    def plot(self, ax: "Axes | None" = None, *, levels: int = 30) -> "Axes":
        """A curve (1-D) or filled contours (2-D) with the grid's minimum marked (`descent-client[plot]`)."""
        pyplot = _require("matplotlib.pyplot", "plot")
        if ax is None:
            _, ax = pyplot.subplots()
        assert ax is not None
        if self.y is None:
            ax.plot(self.x, self.loss)
            ax.set_xlabel("w")
            ax.set_ylabel("loss")
        else:
            ax.contourf(self.x, self.y, self.loss, levels=levels)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        if self.minimum is not None:
            point = self.minimum.w
            ax.plot(point[0], point[1] if len(point) > 1 else self.minimum.loss, "r*")
        return ax


@dataclass(frozen=True)
class CatalogEntry:
    kind: str
    library: str
    description: str
    parameters: list[dict[str, Any]]


@dataclass(frozen=True)
class Catalog:
    """Every loss, schedule and optimizer kind the server knows, with parameters and defaults."""

    losses: list[CatalogEntry]
    schedules: list[CatalogEntry]
    optimizers: list[CatalogEntry]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Catalog":
        def entries(items: Sequence[Mapping[str, Any]]) -> list[CatalogEntry]:
            return [CatalogEntry(**item) for item in items]

        return cls(entries(document["losses"]), entries(document["schedules"]), entries(document["optimizers"]))

    def kinds(self) -> set[str]:
        return {entry.kind for entry in (*self.losses, *self.schedules, *self.optimizers)}


@dataclass(frozen=True)
class View:
    """A dashboard view saved on the server (`POST /v1/views`): `url` opens the dashboard on it; `id` is derived
    from `state`, so the same state always has the same id."""

    id: str
    url: str
    created_at: str
    state: dict[str, Any]

    @classmethod
    def from_json(cls, document: Mapping[str, Any], base_url: str, state: Mapping[str, Any] | None = None) -> "View":
        """`url` made absolute against the server's `base_url`; `state` when the answer does not carry it."""
        return cls(
            id=document["id"],
            url=base_url.rstrip("/") + document["url"],
            created_at=document["created_at"],
            state=dict(document["state"] if state is None else state),
        )
