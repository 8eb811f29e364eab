"""The same schedule in another library: the kind a user of that library would reach for, with the same parameters.

Users take `torch.CosineAnnealingLR(lr, T_max, eta_min)` and `keras.CosineDecay(lr, T_max, alpha=eta_min/lr)` for
one schedule; they are not (torch is periodic past T_max, Keras flat; torch recurses in doubles, Keras computes in
float32). This table says which kinds are counterparts and how their parameters map, so that the schedule preview
can show where they differ and the code generator can write a schedule in a library that lacks the run's kind.

Each family reads its kinds into one plain canonical form and writes that form as each library's kind, or says why
that library has no counterpart for these parameters. Plain dictionaries in and out (spec documents), no Pydantic.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LIBRARIES = ("tf1", "keras", "torch", "optax")
Doc = dict[str, Any]
Canon = dict[str, Any]


@dataclass(frozen=True)
class Counterpart:
    """A library's counterpart of a schedule: the spec document, or None with the reason there is none."""

    library: str
    schedule: Doc | None
    reason: str = ""


def library_of(kind: str) -> str | None:
    """`torch.StepLR` -> "torch"; a library-neutral kind (`constant`, `sgd`) -> None."""
    return kind.split(".", 1)[0] if "." in kind else None


def _whole(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


STEP_COUNTER_MAX = 2**31 - 1
"""The largest step count the libraries' step counters hold (int32: TensorFlow's global step, optax's count)."""


class _BeyondStepCounterError(Exception):
    """A step count mapped to another library is larger than that library's step counter holds."""


def _int(value: Any) -> int:
    """A whole step count, or `_BeyondStepCounterError` when no library counts that far."""
    if abs(float(value)) > STEP_COUNTER_MAX:
        raise _BeyondStepCounterError
    return int(value)


Reader = Callable[[Mapping[str, Any]], Canon | None]
Writer = Callable[[Canon], Doc | str]
"""A writer answers the document, or a sentence saying why these parameters have no counterpart there."""


@dataclass(frozen=True)
class Family:
    """Kinds that users take for the same schedule."""

    name: str
    readers: dict[str, Reader]
    writers: dict[str, Writer]


# --- exponential decay: rate · decay^(t / steps), optionally in whole periods -------------------------------------


def _exp_tf1(c: Canon) -> Doc | str:
    return {
        "kind": "tf1.exponential_decay",
        "learning_rate": c["rate"],
        "decay_steps": float(c["steps"]),
        "decay_rate": c["decay"],
        "staircase": c["staircase"],
    }


def _exp_keras(c: Canon) -> Doc | str:
    return {
        "kind": "keras.ExponentialDecay",
        "initial_learning_rate": c["rate"],
        "decay_steps": float(c["steps"]),
        "decay_rate": c["decay"],
        "staircase": c["staircase"],
    }


def _exp_optax(c: Canon) -> Doc | str:
    if not _whole(c["steps"]):
        return f"optax.exponential_decay counts transition_steps in whole steps, not {c['steps']}"
    return {
        "kind": "optax.exponential_decay",
        "init_value": c["rate"],
        "transition_steps": _int(c["steps"]),
        "decay_rate": c["decay"],
        "transition_begin": 0,
        "staircase": c["staircase"],
        "end_value": None,
    }


def _exp_torch(c: Canon) -> Doc | str:
    if float(c["steps"]) == 1.0:
        return {"kind": "torch.ExponentialLR", "lr": c["rate"], "gamma": c["decay"]}
    if c["staircase"] and _whole(c["steps"]):
        return {"kind": "torch.StepLR", "lr": c["rate"], "step_size": _int(c["steps"]), "gamma": c["decay"]}
    return "torch's ExponentialLR decays once per step; a smooth decay over several steps has no torch scheduler"


EXPONENTIAL = Family(
    "exponential",
    {
        "tf1.exponential_decay": lambda d: {
            "rate": d["learning_rate"],
            "steps": d["decay_steps"],
            "decay": d["decay_rate"],
            "staircase": d.get("staircase", False),
        },
        "keras.ExponentialDecay": lambda d: {
            "rate": d["initial_learning_rate"],
            "steps": d["decay_steps"],
            "decay": d["decay_rate"],
            "staircase": d.get("staircase", False),
        },
        "optax.exponential_decay": lambda d: (
            {
                "rate": d["init_value"],
                "steps": d["transition_steps"],
                "decay": d["decay_rate"],
                "staircase": d.get("staircase", False),
            }
            if d.get("transition_begin", 0) == 0 and d.get("end_value") is None and d["transition_steps"] > 0
            else None
        ),
        "torch.ExponentialLR": lambda d: {"rate": d["lr"], "steps": 1, "decay": d["gamma"], "staircase": False},
        "torch.StepLR": lambda d: {
            "rate": d["lr"],
            "steps": d["step_size"],
            "decay": d.get("gamma", 0.1),
            "staircase": True,
        },
    },
    {"tf1": _exp_tf1, "keras": _exp_keras, "optax": _exp_optax, "torch": _exp_torch},
)


# --- inverse time decay ---------------------------------------------------------------------------------------------

INVERSE_TIME = Family(
    "inverse_time",
    {
        "tf1.inverse_time_decay": lambda d: {
            "rate": d["learning_rate"],
            "steps": d["decay_steps"],
            "decay": d["decay_rate"],
            "staircase": d.get("staircase", False),
        },
        "keras.InverseTimeDecay": lambda d: {
            "rate": d["initial_learning_rate"],
            "steps": d["decay_steps"],
            "decay": d["decay_rate"],
            "staircase": d.get("staircase", False),
        },
    },
    {
        "tf1": lambda c: {
            "kind": "tf1.inverse_time_decay",
            "learning_rate": c["rate"],
            "decay_steps": c["steps"],
            "decay_rate": c["decay"],
            "staircase": c["staircase"],
        },
        "keras": lambda c: {
            "kind": "keras.InverseTimeDecay",
            "initial_learning_rate": c["rate"],
            "decay_steps": c["steps"],
            "decay_rate": c["decay"],
            "staircase": c["staircase"],
        },
        "torch": lambda c: "torch has no inverse-time decay scheduler",
        "optax": lambda c: "optax has no inverse-time decay schedule",
    },
)


# --- polynomial (and linear) decay from `start` to `end` over `steps` ------------------------------------------------


def _poly_optax(c: Canon) -> Doc | str:
    if c["cycle"]:
        return "optax's polynomial schedules do not cycle"
    if not _whole(c["steps"]):
        return f"optax counts transition_steps in whole steps, not {c['steps']}"
    if float(c["power"]) == 1.0:
        return {
            "kind": "optax.linear_schedule",
            "init_value": c["start"],
            "end_value": c["end"],
            "transition_steps": _int(c["steps"]),
            "transition_begin": 0,
        }
    return {
        "kind": "optax.polynomial_schedule",
        "init_value": c["start"],
        "end_value": c["end"],
        "power": c["power"],
        "transition_steps": _int(c["steps"]),
        "transition_begin": 0,
    }


def _poly_torch(c: Canon) -> Doc | str:
    if c["cycle"]:
        return "torch's PolynomialLR and LinearLR do not cycle"
    if not _whole(c["steps"]):
        return f"torch counts total_iters in whole steps, not {c['steps']}"
    if c["end"] == 0:
        return {"kind": "torch.PolynomialLR", "lr": c["start"], "total_iters": _int(c["steps"]), "power": c["power"]}
    if float(c["power"]) == 1.0 and c["start"] > 0 and 0 <= c["end"] / c["start"] <= 1:
        return {
            "kind": "torch.LinearLR",
            "lr": c["start"],
            "start_factor": 1.0,
            "end_factor": c["end"] / c["start"],
            "total_iters": _int(c["steps"]),
        }
    return "torch's PolynomialLR decays to 0, and LinearLR only linearly to a fraction of the rate"


def _poly_read_torch_linear(d: Mapping[str, Any]) -> Canon:
    lr = d["lr"]
    return {
        "start": lr * d.get("start_factor", 1 / 3),
        "end": lr * d.get("end_factor", 1.0),
        "steps": d.get("total_iters", 5),
        "power": 1.0,
        "cycle": False,
    }


POLYNOMIAL = Family(
    "polynomial",
    {
        "tf1.polynomial_decay": lambda d: {
            "start": d["learning_rate"],
            "end": d.get("end_learning_rate", 0.0001),
            "steps": d["decay_steps"],
            "power": d.get("power", 1.0),
            "cycle": d.get("cycle", False),
        },
        "keras.PolynomialDecay": lambda d: {
            "start": d["initial_learning_rate"],
            "end": d.get("end_learning_rate", 0.0001),
            "steps": d["decay_steps"],
            "power": d.get("power", 1.0),
            "cycle": d.get("cycle", False),
        },
        "optax.polynomial_schedule": lambda d: (
            {
                "start": d["init_value"],
                "end": d["end_value"],
                "steps": d["transition_steps"],
                "power": d["power"],
                "cycle": False,
            }
            if d.get("transition_begin", 0) == 0 and d["transition_steps"] > 0
            else None
        ),
        "optax.linear_schedule": lambda d: (
            {
                "start": d["init_value"],
                "end": d["end_value"],
                "steps": d["transition_steps"],
                "power": 1.0,
                "cycle": False,
            }
            if d.get("transition_begin", 0) == 0 and d["transition_steps"] > 0
            else None
        ),
        "torch.PolynomialLR": lambda d: (
            {"start": d["lr"], "end": 0.0, "steps": d["total_iters"], "power": d.get("power", 1.0), "cycle": False}
            if d.get("total_iters", 5) > 0
            else None
        ),
        "torch.LinearLR": lambda d: _poly_read_torch_linear(d) if d.get("total_iters", 5) > 0 else None,
    },
    {
        "tf1": lambda c: {
            "kind": "tf1.polynomial_decay",
            "learning_rate": c["start"],
            "decay_steps": float(c["steps"]),
            "end_learning_rate": c["end"],
            "power": float(c["power"]),
            "cycle": c["cycle"],
        },
        "keras": lambda c: {
            "kind": "keras.PolynomialDecay",
            "initial_learning_rate": c["start"],
            "decay_steps": float(c["steps"]),
            "end_learning_rate": c["end"],
            "power": float(c["power"]),
            "cycle": c["cycle"],
        },
        "optax": _poly_optax,
        "torch": _poly_torch,
    },
)


# --- piecewise constant: values[i] up to boundaries[i] (inclusive), TF's convention ---------------------------------


def _piece_optax(c: Canon) -> Doc | str:
    values, boundaries = c["values"], c["boundaries"]
    if any(v == 0 for v in values[:-1]):
        return "optax's piecewise_constant_schedule multiplies in scales, so a value after a 0 cannot be written"
    scales = {str(b + 1): values[i + 1] / values[i] for i, b in enumerate(boundaries)}
    if any(s < 0 for s in scales.values()):
        return "optax's piecewise_constant_schedule takes non-negative scales only"
    return {"kind": "optax.piecewise_constant_schedule", "init_value": values[0], "boundaries_and_scales": scales}


def _piece_torch(c: Canon) -> Doc | str:
    values, boundaries = c["values"], c["boundaries"]
    if values[0] == 0 or any(b < 0 for b in boundaries):
        return "torch's MultiStepLR starts from a nonzero rate and drops at steps from 0"
    gammas = {values[i + 1] / values[i] for i in range(len(boundaries))} if all(values[:-1]) else {None}
    if len(gammas) != 1 or None in gammas:
        return (
            "torch's MultiStepLR multiplies by one gamma at every milestone; these values change by different factors"
        )
    return {
        "kind": "torch.MultiStepLR",
        "lr": values[0],
        "milestones": [b + 1 for b in boundaries],
        "gamma": gammas.pop(),
    }


def _piece_read_optax(d: Mapping[str, Any]) -> Canon | None:
    steps = sorted((int(k), v) for k, v in (d.get("boundaries_and_scales") or {}).items())
    if not steps or steps[0][0] < 1:
        return None
    values = [d["init_value"]]
    for _, scale in steps:
        values.append(values[-1] * scale)
    return {"boundaries": [k - 1 for k, _ in steps], "values": values}


PIECEWISE = Family(
    "piecewise_constant",
    {
        "tf1.piecewise_constant": lambda d: {"boundaries": list(d["boundaries"]), "values": list(d["values"])},
        "keras.PiecewiseConstantDecay": lambda d: {"boundaries": list(d["boundaries"]), "values": list(d["values"])},
        "optax.piecewise_constant_schedule": _piece_read_optax,
        "torch.MultiStepLR": lambda d: (
            {
                "boundaries": [m - 1 for m in sorted(d["milestones"])],
                "values": [d["lr"] * d.get("gamma", 0.1) ** i for i in range(len(d["milestones"]) + 1)],
            }
            if d["milestones"] and min(d["milestones"]) >= 1 and len(set(d["milestones"])) == len(d["milestones"])
            else None
        ),
    },
    {
        "tf1": lambda c: {"kind": "tf1.piecewise_constant", "boundaries": c["boundaries"], "values": c["values"]},
        "keras": lambda c: {
            "kind": "keras.PiecewiseConstantDecay",
            "boundaries": c["boundaries"],
            "values": c["values"],
        },
        "optax": _piece_optax,
        "torch": _piece_torch,
    },
)


# --- cosine decay from `rate` to `alpha`·rate over `steps` -----------------------------------------------------------


def _cos_torch(c: Canon) -> Doc | str:
    if not _whole(c["steps"]) or c["steps"] < 1:
        return f"torch's CosineAnnealingLR takes a whole T_max of at least 1, not {c['steps']}"
    return {
        "kind": "torch.CosineAnnealingLR",
        "lr": c["rate"],
        "T_max": _int(c["steps"]),
        "eta_min": c["alpha"] * c["rate"],
    }


def _cos_optax(c: Canon) -> Doc | str:
    if not _whole(c["steps"]) or c["steps"] < 1:
        return f"optax's cosine_decay_schedule takes whole decay_steps of at least 1, not {c['steps']}"
    return {
        "kind": "optax.cosine_decay_schedule",
        "init_value": c["rate"],
        "decay_steps": _int(c["steps"]),
        "alpha": c["alpha"],
        "exponent": 1.0,
    }


COSINE = Family(
    "cosine",
    {
        "tf1.cosine_decay": lambda d: {
            "rate": d["learning_rate"],
            "steps": d["decay_steps"],
            "alpha": d.get("alpha", 0.0),
        },
        "keras.CosineDecay": lambda d: (
            {"rate": d["initial_learning_rate"], "steps": d["decay_steps"], "alpha": d.get("alpha", 0.0)}
            if d.get("warmup_target") is None
            else None
        ),
        "optax.cosine_decay_schedule": lambda d: (
            {"rate": d["init_value"], "steps": d["decay_steps"], "alpha": d.get("alpha", 0.0)}
            if float(d.get("exponent", 1.0)) == 1.0
            else None
        ),
        "torch.CosineAnnealingLR": lambda d: (
            {"rate": d["lr"], "steps": d["T_max"], "alpha": d.get("eta_min", 0.0) / d["lr"]} if d["lr"] != 0 else None
        ),
    },
    {
        "tf1": lambda c: {
            "kind": "tf1.cosine_decay",
            "learning_rate": c["rate"],
            "decay_steps": float(c["steps"]),
            "alpha": c["alpha"],
        },
        "keras": lambda c: {
            "kind": "keras.CosineDecay",
            "initial_learning_rate": c["rate"],
            "decay_steps": float(c["steps"]),
            "alpha": c["alpha"],
            "warmup_target": None,
            "warmup_steps": 0,
        },
        "optax": _cos_optax,
        "torch": _cos_torch,
    },
)


# --- cosine with warm restarts ---------------------------------------------------------------------------------------


def _restarts_torch(c: Canon) -> Doc | str:
    if c["m_mul"] != 1.0:
        return "torch's CosineAnnealingWarmRestarts restarts at the full rate (no m_mul)"
    if not (_whole(c["t_mul"]) and c["t_mul"] >= 1 and _whole(c["first"]) and c["first"] >= 1):
        return "torch's CosineAnnealingWarmRestarts takes whole T_0 and T_mult of at least 1"
    return {
        "kind": "torch.CosineAnnealingWarmRestarts",
        "lr": c["rate"],
        "T_0": _int(c["first"]),
        "T_mult": _int(c["t_mul"]),
        "eta_min": c["alpha"] * c["rate"],
    }


def _restarts_read(rate: str, first: str) -> Reader:
    return lambda d: {
        "rate": d[rate],
        "first": d[first],
        "t_mul": d.get("t_mul", 2.0),
        "m_mul": d.get("m_mul", 1.0),
        "alpha": d.get("alpha", 0.0),
    }


RESTARTS = Family(
    "cosine_restarts",
    {
        "tf1.cosine_decay_restarts": _restarts_read("learning_rate", "first_decay_steps"),
        "keras.CosineDecayRestarts": _restarts_read("initial_learning_rate", "first_decay_steps"),
        "torch.CosineAnnealingWarmRestarts": lambda d: (
            {
                "rate": d["lr"],
                "first": d["T_0"],
                "t_mul": float(d.get("T_mult", 1)),
                "m_mul": 1.0,
                "alpha": d.get("eta_min", 0.0) / d["lr"],
            }
            if d["lr"] != 0
            else None
        ),
    },
    {
        "tf1": lambda c: {
            "kind": "tf1.cosine_decay_restarts",
            "learning_rate": c["rate"],
            "first_decay_steps": float(c["first"]),
            "t_mul": float(c["t_mul"]),
            "m_mul": c["m_mul"],
            "alpha": c["alpha"],
        },
        "keras": lambda c: {
            "kind": "keras.CosineDecayRestarts",
            "initial_learning_rate": c["rate"],
            "first_decay_steps": float(c["first"]),
            "t_mul": float(c["t_mul"]),
            "m_mul": c["m_mul"],
            "alpha": c["alpha"],
        },
        "torch": _restarts_torch,
        "optax": lambda c: "optax's sgdr_schedule takes a finite list of periods, not endless restarts",
    },
)


# --- linear warmup, then cosine decay ------------------------------------------------------------------------------


def _warm_optax(c: Canon) -> Doc | str:
    if not (_whole(c["warmup"]) and _whole(c["decay"])):
        return "optax's warmup_cosine_decay_schedule counts whole steps"
    return {
        "kind": "optax.warmup_cosine_decay_schedule",
        "init_value": c["start"],
        "peak_value": c["peak"],
        "warmup_steps": _int(c["warmup"]),
        "decay_steps": _int(c["warmup"]) + _int(c["decay"]),
        "end_value": c["alpha"] * c["peak"],
        "exponent": 1.0,
    }


WARMUP_COSINE = Family(
    "warmup_cosine",
    {
        "keras.CosineDecay": lambda d: (
            {
                "start": d["initial_learning_rate"],
                "peak": d["warmup_target"],
                "warmup": d.get("warmup_steps", 0),
                "decay": d["decay_steps"],
                "alpha": d.get("alpha", 0.0),
            }
            if d.get("warmup_target") is not None
            else None
        ),
        "optax.warmup_cosine_decay_schedule": lambda d: (
            {
                "start": d["init_value"],
                "peak": d["peak_value"],
                "warmup": d["warmup_steps"],
                "decay": d["decay_steps"] - d["warmup_steps"],
                "alpha": d.get("end_value", 0.0) / d["peak_value"],
            }
            if d["peak_value"] != 0 and float(d.get("exponent", 1.0)) == 1.0 and d["warmup_steps"] >= 0
            else None
        ),
    },
    {
        "keras": lambda c: {
            "kind": "keras.CosineDecay",
            "initial_learning_rate": c["start"],
            "decay_steps": float(c["decay"]),
            "alpha": c["alpha"],
            "warmup_target": c["peak"],
            "warmup_steps": _int(c["warmup"]),
        },
        "optax": _warm_optax,
        "tf1": lambda c: "TF1 has no warmup schedule",
        "torch": lambda c: "torch has no single warmup-cosine scheduler (it takes a SequentialLR of two)",
    },
)


# --- one cycle (cosine annealing) ----------------------------------------------------------------------------------


def _onecycle_read_torch(d: Mapping[str, Any]) -> Canon | None:
    total = d.get("total_steps") or (d.get("epochs") or 0) * (d.get("steps_per_epoch") or 0)
    if d.get("anneal_strategy", "cos") != "cos" or d.get("three_phase", False) or not total:
        return None
    return {
        "total": total,
        "peak": d["max_lr"],
        "pct_start": d.get("pct_start", 0.3),
        "div_factor": d.get("div_factor", 25.0),
        "final_div_factor": d.get("final_div_factor", 1e4),
    }


ONECYCLE = Family(
    "onecycle",
    {
        "torch.OneCycleLR": _onecycle_read_torch,
        "optax.cosine_onecycle_schedule": lambda d: {
            "total": d["transition_steps"],
            "peak": d["peak_value"],
            "pct_start": d.get("pct_start", 0.3),
            "div_factor": d.get("div_factor", 25.0),
            "final_div_factor": d.get("final_div_factor", 1e4),
        },
    },
    {
        "torch": lambda c: {
            "kind": "torch.OneCycleLR",
            "max_lr": c["peak"],
            "total_steps": c["total"],
            "pct_start": c["pct_start"],
            "anneal_strategy": "cos",
            "cycle_momentum": False,
            "div_factor": c["div_factor"],
            "final_div_factor": c["final_div_factor"],
        },
        "optax": lambda c: {
            "kind": "optax.cosine_onecycle_schedule",
            "transition_steps": c["total"],
            "peak_value": c["peak"],
            "pct_start": c["pct_start"],
            "div_factor": c["div_factor"],
            "final_div_factor": c["final_div_factor"],
        },
        "tf1": lambda c: "TF1 has no one-cycle schedule",
        "keras": lambda c: "Keras has no one-cycle schedule",
    },
)


# --- a constant rate ------------------------------------------------------------------------------------------------

CONSTANT = Family(
    "constant",
    {
        "optax.constant_schedule": lambda d: {"rate": d["value"]},
    },
    {
        "optax": lambda c: {"kind": "constant", "learning_rate": c["rate"]},
        "tf1": lambda c: {"kind": "constant", "learning_rate": c["rate"]},
        "keras": lambda c: {"kind": "constant", "learning_rate": c["rate"]},
        "torch": lambda c: {"kind": "constant", "learning_rate": c["rate"]},
    },
)

FAMILIES = (EXPONENTIAL, INVERSE_TIME, POLYNOMIAL, PIECEWISE, COSINE, RESTARTS, WARMUP_COSINE, ONECYCLE, CONSTANT)


def counterpart(schedule: Mapping[str, Any], library: str) -> Counterpart:
    """The schedule as `library` writes it: itself when it is that library's (or library-neutral), else the
    counterpart kind with mapped parameters, or None with the reason."""
    kind = schedule["kind"]
    if library_of(kind) in (library, None):  # its own, or library-neutral (a constant rate is the same everywhere)
        return Counterpart(library, dict(schedule))
    reasons = []
    for family in FAMILIES:
        reader = family.readers.get(kind)
        if reader is None:
            continue
        canon = reader(schedule)
        if canon is None:
            reasons.append(f"these {kind} parameters have no {family.name.replace('_', ' ')} form")
            continue
        try:
            written = family.writers[library](canon)
        except _BeyondStepCounterError:
            written = f"a step count of these parameters is beyond {library}'s 32-bit step counter"
        if isinstance(written, str):
            reasons.append(written)
            continue
        return Counterpart(library, written)
    reason = "; ".join(reasons) or f"{library} has no schedule like {kind}"
    return Counterpart(library, None, f"{kind} has no {library} counterpart: {reason}.")


def counterparts(schedule: Mapping[str, Any]) -> list[Counterpart]:
    """The schedule's counterparts in the libraries other than its own (every library for a neutral kind)."""
    own = library_of(schedule["kind"])
    return [counterpart(schedule, library) for library in LIBRARIES if library != own]


def kinds_without_counterpart(kinds: list[str]) -> dict[str, list[str]]:
    """Per library, the kinds (of other libraries) that no family maps there at all, whatever the parameters."""
    missing: dict[str, list[str]] = {library: [] for library in LIBRARIES}
    for kind in kinds:
        own = library_of(kind)
        for library in LIBRARIES:
            if library == own or own is None:
                continue
            mapped = any(kind in family.readers and not _always_refused(family.writers[library]) for family in FAMILIES)
            if not mapped:
                missing[library].append(kind)
    return missing


def _always_refused(writer: Writer) -> bool:
    """Whether a writer refuses whatever it is given (a library without the family at all)."""
    try:
        return isinstance(writer({}), str)
    except (KeyError, TypeError):
        return False
