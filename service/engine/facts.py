"""What the analysis can say about a loss from its formula, shared by the loss kinds' `facts`: the minimum, the
curvatures there, and which constant rates work.

A `facts` dict always has the keys `kind`, `bounded_below`, `minimum` ({"w": [...], "loss": ...} or None),
`curvature` (a list or None), `max_stable_lr` and `one_step_lr` (numbers or None), all in float64.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

Float64 = npt.NDArray[np.float64]


def unknown(kind: str, bounded: bool) -> dict[str, Any]:
    """The facts of a loss whose minimum is not known."""
    return {
        "kind": kind,
        "bounded_below": bounded,
        "minimum": None,
        "curvature": None,
        "max_stable_lr": None,
        "one_step_lr": None,
    }


def rates(curvature: Float64, tol: float = 0.0) -> dict[str, float | None]:
    """The rate limit 2/λmax and, when every positive curvature is the same λ, the one-step rate 1/λ."""
    positive = curvature[curvature > tol]
    if not positive.size:
        return {"max_stable_lr": None, "one_step_lr": None}
    same = bool(np.all(np.abs(positive - positive[0]) <= 1e-12 * positive[0]))
    return {"max_stable_lr": float(2 / positive.max()), "one_step_lr": float(1 / positive[0]) if same else None}


def quadratic_form_bounded(s: Float64, b: Float64) -> bool:
    """Whether ½·vᵀSv + bᵀv + c (S symmetric) has a finite infimum: S positive semi-definite and b in its range."""
    if s.size == 0:
        return True
    eigenvalues, vectors = np.linalg.eigh(s)
    tol = flat_tolerance(eigenvalues)
    if eigenvalues[0] < -tol:
        return False
    flat = vectors[:, np.abs(eigenvalues) <= tol]
    return bool(np.linalg.norm(flat.T @ b) <= 1e-9 * max(float(np.linalg.norm(b)), 1e-300))


def flat_tolerance(eigenvalues: Float64) -> float:
    """Eigenvalues of a symmetric matrix within this of zero count as zero (the rounding of `eigh`)."""
    return float(64 * np.finfo(np.float64).eps * eigenvalues.size * max(float(np.abs(eigenvalues).max()), 1e-300))


def quadratic_form_facts(kind: str, s: Float64, b: Float64, c: float, used: list[int], dims: int) -> dict[str, Any]:
    """½·vᵀSv + bᵀv + c with v = w[used]: the (minimum-norm) minimiser −S⁺b when S is positive semi-definite and
    b lies in its range; the other coordinates of w are free (curvature 0)."""
    eigenvalues, vectors = np.linalg.eigh(s)
    curvature = np.sort(np.concatenate([eigenvalues, np.zeros(dims - len(used))]))
    facts = {**unknown(kind, quadratic_form_bounded(s, b)), "curvature": curvature.tolist()}
    if not facts["bounded_below"]:
        return facts
    tol = flat_tolerance(eigenvalues)
    inverse = np.divide(1, eigenvalues, out=np.zeros_like(eigenvalues), where=np.abs(eigenvalues) > tol)
    v = -(vectors * inverse) @ (vectors.T @ b)
    w = np.zeros(dims)
    w[used] = v
    return {**facts, "minimum": {"w": w.tolist(), "loss": c + 0.5 * float(b @ v)}, **rates(curvature, tol)}


def polynomial_facts(coefficients: Float64, kind: str = "polynomial") -> dict[str, Any]:
    """c0 + c1·w + … + cn·wⁿ: bounded below when the degree is even and the leading coefficient positive (or the
    degree 0); then the minimum is the lowest critical point, with the curvature there."""
    poly = np.polynomial.Polynomial(coefficients)
    bounded = poly.degree() == 0 or (poly.degree() % 2 == 0 and coefficients[-1] > 0)
    facts: dict[str, Any] = {
        "kind": kind,
        "bounded_below": bool(bounded),
        "minimum": None,
        "curvature": None,
        "max_stable_lr": None,
        "one_step_lr": None,
    }
    if not bounded or poly.degree() == 0:
        return facts
    critical = poly.deriv().roots()
    real = critical[np.abs(critical.imag) < 1e-9].real
    w_min = float(real[np.argmin(poly(real))])
    curvature = float(poly.deriv(2)(w_min))
    facts["minimum"] = {"w": [w_min], "loss": float(poly(w_min))}
    facts["curvature"] = [curvature]
    if curvature > 0:
        facts["max_stable_lr"] = 2 / curvature
        facts["one_step_lr"] = 1 / curvature
    return facts
