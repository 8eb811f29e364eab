"""A loss kind as a library expression in `w`: the same function, written with the library's operations.

The quadratic is written in the order the engine evaluates it (add b, square, multiply by a, add c, then sum),
which is TensorFlow's: a TF1 or Keras float32 program gives the service's numbers bit for bit. The other kinds are
the same functions; their gradients come from the library's autodiff, so they agree with the engine's closed forms
to rounding.
"""

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from service.codegen.source import literal
from service.errors import NoCounterpart


@dataclass(frozen=True)
class Ops:
    """How a library spells the operations a loss needs."""

    module: str  # "tf", "torch", "jnp"
    names: Mapping[str, str]  # function of the formula language -> library function
    sum: str
    matvec: str  # format with {m} and {v}
    array: str  # format with {values} and {dtype}
    dtype: str  # the dtype argument, e.g. "tf.float32"


FORMULA_FUNCTIONS = (
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "abs",
    "square",
    "log1p",
    "expm1",
    "atan",
    "sigmoid",
    "softplus",
)


def tf_ops(dtype: str) -> Ops:
    names = {name: f"tf.{name}" for name in FORMULA_FUNCTIONS}
    names |= {
        "log": "tf.math.log",
        "log1p": "tf.math.log1p",
        "expm1": "tf.math.expm1",
        "softplus": "tf.nn.softplus",
    }
    return Ops(
        "tf", names, "tf.reduce_sum", "tf.linalg.matvec({m}, {v})", "tf.constant({values}, dtype={dtype})", dtype
    )


def torch_ops(dtype: str) -> Ops:
    names = {name: f"torch.{name}" for name in FORMULA_FUNCTIONS}
    names["softplus"] = "torch.nn.functional.softplus"
    return Ops("torch", names, "torch.sum", "{m} @ {v}", "torch.tensor({values}, dtype={dtype})", dtype)


def jax_ops(dtype: str) -> Ops:
    names = {name: f"jnp.{name}" for name in FORMULA_FUNCTIONS}
    names |= {"atan": "jnp.arctan", "sigmoid": "jax.nn.sigmoid", "softplus": "jax.nn.softplus"}
    return Ops("jnp", names, "jnp.sum", "{m} @ {v}", "jnp.array({values}, dtype={dtype})", dtype)


@dataclass(frozen=True)
class LossSource:
    """The loss as source: constants to define first (name, expression) and the expression of `w`."""

    constants: list[tuple[str, str]]
    expression: str


LossWriter = Callable[[Mapping[str, Any], bool, Ops], LossSource]


def loss_source(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
    """The loss of a normalised spec as `ops` writes it, for a scalar `w` or a vector `w`."""
    kind = loss["kind"]
    writer = _WRITERS.get(kind)
    if writer is None:
        raise NoCounterpart(["loss", "kind"], f"the loss {kind} cannot be written as code yet")
    return writer(loss, scalar, ops)


def _per_dim(name: str, value: Any, ops: Ops, constants: list[tuple[str, str]]) -> str:
    """A number stays a literal; a list becomes a constant array of the run's dtype."""
    if isinstance(value, list):
        constants.append((name, ops.array.format(values=literal(value), dtype=ops.dtype)))
        return name
    return literal(value)


def _quadratic(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
    constants: list[tuple[str, str]] = []
    a, b, c = (_per_dim(name.upper(), loss[name], ops, constants) for name in ("a", "b", "c"))
    shifted = "w" if loss["b"] == 0 and not isinstance(loss["b"], list) else f"w + {b}"
    if isinstance(loss["b"], float) and loss["b"] < 0:
        shifted = f"w - {literal(-loss['b'])}"
    term = f"{ops.names['square']}({shifted})"
    if isinstance(loss["a"], list) or loss["a"] != 1:
        term = f"{a} * {term}"
    if isinstance(loss["c"], list) or loss["c"] != 0:
        term = f"{term} + {c}"
    return LossSource(constants, term if scalar else f"{ops.sum}({term})")


def _polynomial(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
    x = "w" if scalar else "w[0]"
    coefficients = [float(c) for c in loss["coefficients"]]
    expression = literal(coefficients[-1])
    for coefficient in reversed(coefficients[:-1]):  # Horner, highest degree first, as the engine evaluates it
        factor = f"({expression})" if " " in expression else expression
        expression = f"{factor} * {x} + {literal(coefficient)}"
    return LossSource([], expression)


def _quadratic_form(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
    constants = [("A", ops.array.format(values=literal(loss["A"]), dtype=ops.dtype))]
    b = _per_dim("B", loss["b"], ops, constants)
    v = "w"
    quadratic = f"0.5 * {ops.sum}({v} * {ops.matvec.format(m='A', v=v)})"
    linear = f" + {ops.sum}({b} * {v})" if isinstance(loss["b"], list) or loss["b"] != 0 else ""
    constant = f" + {literal(loss['c'])}" if loss["c"] != 0 else ""
    return LossSource(constants, quadratic + linear + constant)


def _rosenbrock(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
    sq = ops.names["square"]
    a, b = literal(loss["a"]), literal(loss["b"])
    return LossSource([], f"{ops.sum}({b} * {sq}(w[1:] - {sq}(w[:-1])) + {sq}({a} - w[:-1]))")


def _named(formula: str) -> "LossWriter":
    def write(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
        sq = ops.names["square"]
        return LossSource([], formula.format(sq=sq, x="w[0]", y="w[1]"))

    return write


def _expression(loss: Mapping[str, Any], scalar: bool, ops: Ops) -> LossSource:
    tree = ast.parse(loss["formula"], mode="eval")
    written = _Formula(scalar, ops).visit(tree)
    return LossSource([], ast.unparse(written))


class _Formula(ast.NodeTransformer):
    """The engine's formula language (already checked by the engine) with the library's names."""

    def __init__(self, scalar: bool, ops: Ops) -> None:
        self.scalar, self.ops = scalar, ops

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == "w" and not self.scalar:
            return ast.Subscript(ast.Name("w", ast.Load()), ast.Constant(0), ast.Load())
        if node.id in ("x", "y"):
            return ast.Subscript(ast.Name("w", ast.Load()), ast.Constant(0 if node.id == "x" else 1), ast.Load())
        if node.id == "pi":
            return ast.Constant(math.pi)
        if node.id == "e":
            return ast.Constant(math.e)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        return node  # w[i]: already the library's indexing

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.args = [self.visit(arg) for arg in node.args]
        if isinstance(node.func, ast.Name):
            node.func = ast.parse(self.ops.names[node.func.id], mode="eval").body
        return node


_WRITERS: dict[str, LossWriter] = {
    "quadratic": _quadratic,
    "polynomial": _polynomial,
    "quadratic_form": _quadratic_form,
    "rosenbrock": _rosenbrock,
    "himmelblau": _named("{sq}({x} * {x} + {y} - 11.0) + {sq}({x} + {y} * {y} - 7.0)"),
    "beale": _named(
        "{sq}(1.5 - {x} + {x} * {y}) + {sq}(2.25 - {x} + {x} * {y} * {y}) + {sq}(2.625 - {x} + {x} * {y} * {y} * {y})"
    ),
    "booth": _named("{sq}({x} + 2.0 * {y} - 7.0) + {sq}(2.0 * {x} + {y} - 5.0)"),
    "expression": _expression,
}
