"""Write the golden fixture files from the real libraries (TF1, Keras 3, PyTorch, Optax).

Run from the repository root with the golden virtualenv's python (never the service's):

    python -m tests.golden.generate [--only KIND_PREFIX]

Generator modules (``tests.golden.gen_schedules`` and, if importable, ``tests.golden.gen_optimizers``) expose one
of two trivial functions::

    def cases(only: str = "") -> Iterable[tuple[str, dict]]   # (kind, case) pairs, in writing order
    def generate() -> dict[str, list[dict]]                   # kind -> cases

``kind`` is the fixture kind (``"torch.OneCycleLR"``), a case one entry of that fixture's ``"cases"`` list (``name``,
``spec``, ``lr``, optional ``w``, ``momentum``, ``state``, ``stats``). ``only`` is the ``--only`` kind prefix, passed
when the function takes it so a module can skip work; this script filters by it again anyway.

One file per kind is written to ``tests/golden/fixtures/<kind>.json`` (compact JSON, one case per line, floats as
``repr(float(x))``) with a ``versions`` block. Nothing from ``service`` is imported: the golden venv lacks its deps.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODULES = ("tests.golden.gen_schedules", "tests.golden.gen_optimizers")
OPTIONAL = frozenset({"tests.golden.gen_optimizers"})

# Distributions whose versions are recorded, by kind prefix.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "tf1": ("tensorflow-cpu",),
    "keras": ("keras", "tensorflow-cpu"),
    "torch": ("torch",),
    "optax": ("optax", "jax", "jaxlib"),
}

Case = dict[str, Any]


def quiet_environment() -> None:
    """Select the Keras backend and silence TensorFlow before anything imports it."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def versions(kind: str) -> dict[str, str]:
    """The versions block of a fixture file: the kind's libraries, numpy and python."""
    found = {name: metadata.version(name) for name in LIBRARIES.get(kind.split(".", 1)[0], ())}
    found["numpy"] = metadata.version("numpy")
    found["python"] = platform.python_version()
    return found


def module_cases(module_name: str, only: str) -> Iterator[tuple[str, Case]]:
    """The (kind, case) pairs of one generator module; an optional module that is missing yields nothing."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if module_name in OPTIONAL and error.name == module_name:
            print(f"skip {module_name}: not present", file=sys.stderr)
            return
        raise
    produce = getattr(module, "cases", None) or module.generate
    produced = produce(only=only) if "only" in inspect.signature(produce).parameters else produce()
    if isinstance(produced, Mapping):
        for kind, kind_cases in produced.items():
            yield from ((kind, case) for case in kind_cases)
    else:
        yield from produced


def collect(only: str) -> dict[str, list[Case]]:
    """All cases of all generator modules, grouped by kind, filtered by the kind prefix."""
    grouped: dict[str, list[Case]] = {}
    for module_name in MODULES:
        for kind, case in module_cases(module_name, only):
            if kind.startswith(only):
                grouped.setdefault(kind, []).append(case)
    return grouped


def render(kind: str, cases: Iterable[Case]) -> str:
    """Compact JSON with one case per line; NaN or infinity is an error."""

    def dump(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    lines = ",\n".join(dump(case) for case in cases)
    return f'{{"kind":{dump(kind)},"versions":{dump(versions(kind))},"cases":[\n{lines}\n]}}\n'


def check_names(kind: str, cases: list[Case]) -> None:
    """Case names are unique within a kind."""
    names = [case["name"] for case in cases]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{kind}: duplicate case names {duplicates}")


def write(grouped: Mapping[str, list[Case]]) -> None:
    """One file per kind in the fixtures directory."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for kind in sorted(grouped):
        check_names(kind, grouped[kind])
        path = FIXTURES / f"{kind}.json"
        path.write_text(render(kind, grouped[kind]), encoding="utf-8")
        print(f"{path.name}: {len(grouped[kind])} cases, {path.stat().st_size} bytes")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, generate, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", metavar="KIND_PREFIX", help="only kinds starting with this prefix")
    args = parser.parse_args(argv)
    quiet_environment()
    grouped = collect(args.only)
    if not grouped:
        print(f"no kind starts with {args.only!r}", file=sys.stderr)
        return 1
    write(grouped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
