"""Every schedule and optimizer kind against the real library's numbers (fixtures written by `generate.py`), held
to `fidelity.tolerance`: bit for bit, or within a relative tolerance (see `tests/golden/fidelity.py`)."""

from typing import Any

import numpy as np
import pytest

from service.engine import schedules
from service.specs.catalog import KIND_MODELS
from service.specs.kinds.base import kind_of
from tests.golden.fidelity import FIDELITY_PAGE, compare, deviations, fixtures, table, tolerance

pytestmark = [pytest.mark.golden, pytest.mark.usefixtures("engine_path")]


def cases(statistical: bool = False) -> list[Any]:
    """The golden cases as test parameters: exact ones, or those that only give the library's statistics."""
    return [
        pytest.param(case, id=f"{fixture['kind']}:{case['name']}")
        for fixture in fixtures()
        for case in fixture["cases"]
        if ("stats" in case) == statistical
    ]


@pytest.mark.parametrize("case", cases())
def test_matches_the_library(case: dict[str, Any]) -> None:
    rtol = tolerance(case)
    for what, (ours, library) in compare(case).items():
        off = deviations(ours, library) > rtol
        if off.any():
            first = tuple(np.argwhere(off)[0])
            raise AssertionError(
                f"{what}: {off.sum()} of {off.size} values differ (tolerance {rtol or 'exact'}); first at row "
                f"{first[0]}: ours {ours[first]!r}, library {library[first]!r}"
            )


@pytest.mark.parametrize("case", cases(statistical=True))
def test_noise_has_the_library_statistics(case: dict[str, Any]) -> None:
    """A schedule with noise (TF's draws are not reproducible): our seeded draws have the library's mean and
    standard deviation at each step, within what `samples` draws can tell apart."""
    stats = case["stats"]
    spec = case["spec"]["schedule"]
    steps = np.asarray(stats["steps"], dtype=np.int64)
    draws = np.stack(
        [schedules.build({**spec, "seed": seed}, np.dtype(np.float32))(steps)[:, 0] for seed in range(stats["samples"])]
    ).astype(np.float64)
    mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
    error_of_mean = np.sqrt(std**2 / stats["samples"] * 2)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 5 * error_of_mean + 1e-7)
    np.testing.assert_allclose(draws.std(axis=0), std, rtol=0.1, atol=1e-7)


def test_every_kind_has_golden_cases() -> None:
    covered = {fixture["kind"] for fixture in fixtures()}
    served = {kind_of(model) for group in ("schedules", "optimizers") for model in KIND_MODELS[group]}
    assert served - {"constant"} <= covered, f"kinds without golden cases: {sorted(served - covered - {'constant'})}"
    assert covered <= served, f"golden cases for kinds the service does not serve: {sorted(covered - served)}"


def test_fidelity_page_is_current() -> None:
    assert FIDELITY_PAGE.read_text() == table(), "run `python -m tests.golden.fidelity` and commit docs/fidelity.md"
