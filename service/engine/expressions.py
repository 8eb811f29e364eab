"""Expression losses: a formula in `w` from a small safe language, compiled once into NumPy operations with an
exact gradient by reverse-mode automatic differentiation.

The language is a whitelist over Python's `ast` (the formula is parsed, never evaluated or compiled):

    formula   := number | variable | constant | formula op formula | -formula | +formula | (formula)
                 | function(formula)
    op        := + | - | * | / | **
    variable  := w (one dimension) | x | y (w[0], w[1]) | w[i] (i a whole number below the dimension)
    constant  := pi | e
    function  := exp log sqrt sin cos tan tanh sinh cosh abs square log1p expm1 atan sigmoid softplus

A formula has at most `MAX_LENGTH` characters, `MAX_NODES` terms and `MAX_DEPTH` levels of nesting. Anything
else is refused with a `ParameterError` that quotes the offending token and its column.

Compilation turns the tree into a tape: nodes in evaluation order, constant sub-expressions folded in the run's
dtype, equal sub-expressions shared. `value` runs the tape forward over rows (n, R); `gradient` runs the part of it
the derivatives read, then once backward, each operation passing the adjoint to its arguments (one sweep for all D
coordinates, where forward mode would need D). Every step is a NumPy call over a whole batch column.

`bounded_below` is False only when the formula is a polynomial that provably falls without bound (odd degree; in
one variable, a negative leading coefficient; of degree 2, an indefinite or sloping quadratic form). Otherwise it
is True, also for formulas it cannot decide (log(w), x**4 - x**2*y**2): the analysis then calls an overflowing
run "diverged" rather than "unbounded", which is the safer mistake.
"""

import ast
import difflib
import keyword
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array
from service.engine.errors import ParameterError
from service.engine.facts import polynomial_facts, quadratic_form_bounded, quadratic_form_facts, unknown
from service.engine.loss_kinds import register

MAX_LENGTH: Final = 500
MAX_DEPTH: Final = 50
MAX_NODES: Final = 250

Value = Any
"""An array of the run's dtype (a column of the batch), or a scalar of it (a folded constant)."""


class _One:
    """The adjoint of the result, exactly 1: multiplying by it is skipped."""

    def __repr__(self) -> str:
        return "ONE"


ONE: Final = _One()


def _scale(g: Value, d: Value) -> Value:
    return d if g is ONE else np.multiply(g, d)


def _over(g: Value, d: Value) -> Value:
    return np.reciprocal(d) if g is ONE else np.divide(g, d)


def _negate(g: Value) -> Value:
    return -1.0 if g is ONE else np.negative(g)


def _sigmoid(x: Value) -> Value:
    return 0.5 + 0.5 * np.tanh(0.5 * x)  # never overflows, unlike 1 / (1 + exp(-x))


VectorJacobian = Callable[[Value, Sequence[Value], Value], Value]
"""(adjoint of the result, argument values, result value) -> the adjoint's share for one argument."""


@dataclass(frozen=True)
class Operation:
    forward: Callable[..., Value]
    vjps: tuple[VectorJacobian, ...]
    reads: tuple[str, ...]
    """Per argument, what its vector-Jacobian product reads: "a" the arguments, "o" the result."""


def _unary(forward: Callable[[Value], Value], vjp: VectorJacobian, reads: str) -> Operation:
    return Operation(forward, (vjp,), (reads,))


FUNCTIONS: Final[dict[str, Operation]] = {
    "exp": _unary(np.exp, lambda g, a, o: _scale(g, o), "o"),
    "log": _unary(np.log, lambda g, a, o: _over(g, a[0]), "a"),
    "sqrt": _unary(np.sqrt, lambda g, a, o: _over(g, o + o), "o"),
    "sin": _unary(np.sin, lambda g, a, o: _scale(g, np.cos(a[0])), "a"),
    "cos": _unary(np.cos, lambda g, a, o: _scale(g, np.negative(np.sin(a[0]))), "a"),
    "tan": _unary(np.tan, lambda g, a, o: _scale(g, np.square(o) + 1), "o"),
    "tanh": _unary(np.tanh, lambda g, a, o: _scale(g, 1 - np.square(o)), "o"),
    "sinh": _unary(np.sinh, lambda g, a, o: _scale(g, np.cosh(a[0])), "a"),
    "cosh": _unary(np.cosh, lambda g, a, o: _scale(g, np.sinh(a[0])), "a"),
    "abs": _unary(np.abs, lambda g, a, o: _scale(g, np.sign(a[0])), "a"),
    "square": _unary(np.square, lambda g, a, o: _scale(g, a[0] * 2), "a"),
    "log1p": _unary(np.log1p, lambda g, a, o: _over(g, a[0] + 1), "a"),
    "expm1": _unary(np.expm1, lambda g, a, o: _scale(g, o + 1), "o"),
    "atan": _unary(np.arctan, lambda g, a, o: _over(g, np.square(a[0]) + 1), "a"),
    "sigmoid": _unary(_sigmoid, lambda g, a, o: _scale(g, o * (1 - o)), "o"),
    "softplus": _unary(lambda x: np.logaddexp(0, x), lambda g, a, o: _scale(g, _sigmoid(a[0])), "a"),
}
OPERATIONS: Final[dict[str, Operation]] = {
    **FUNCTIONS,
    "neg": _unary(np.negative, lambda g, a, o: _negate(g), ""),
    "add": Operation(np.add, (lambda g, a, o: g, lambda g, a, o: g), ("", "")),
    "sub": Operation(np.subtract, (lambda g, a, o: g, lambda g, a, o: _negate(g)), ("", "")),
    "mul": Operation(np.multiply, (lambda g, a, o: _scale(g, a[1]), lambda g, a, o: _scale(g, a[0])), ("a", "a")),
    "div": Operation(
        np.divide,
        (lambda g, a, o: _over(g, a[1]), lambda g, a, o: np.negative(np.divide(_scale(g, o), a[1]))),
        ("a", "ao"),
    ),
    "pow": Operation(
        np.power,
        (
            lambda g, a, o: _scale(g, a[1] * np.power(a[0], a[1] - 1)),
            lambda g, a, o: _scale(g, o * np.log(a[0])),
        ),
        ("a", "ao"),
    ),
}
BINARY: Final = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
CONSTANTS: Final = {"pi": math.pi, "e": math.e}
HINT: Final = (
    "use numbers, w (or x, y, or w[0], w[1], …), + - * / ** and parentheses, the constants pi and e, "
    f"and the functions {', '.join(FUNCTIONS)}"
)


@dataclass(frozen=True)
class Node:
    """One entry of the tape: a coordinate of w ("var"), a constant ("const"), or an operation on earlier nodes."""

    op: str
    args: tuple[int, ...] = ()
    index: int = 0
    constant: Value = None
    wants: tuple[bool, ...] = ()
    """Per argument, whether it depends on w (only those receive an adjoint)."""


# The language: text -> checked tree -> tape -------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z_]\w*|\d*\.?\d+(?:[eE][+-]?\d+)?|\*\*|//|[<>=!:]=|\S")
_NAMES: Final = {
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Lambda: "a lambda",
    ast.IfExp: "a conditional",
    ast.Compare: "a comparison",
    ast.BoolOp: "a logical operator",
    ast.NamedExpr: "an assignment",
    ast.JoinedStr: "a string",
    ast.Starred: "unpacking",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def _refusal(token: str, column: int, why: str) -> ParameterError:
    shown = token if len(token) <= 40 else token[:37] + "..."
    return ParameterError("formula", f"`{shown}` at column {column} {why}", "invalid_expression")


def _check_text(formula: str) -> None:
    if len(formula) > MAX_LENGTH:
        raise _refusal(
            formula[MAX_LENGTH : MAX_LENGTH + 10],
            MAX_LENGTH + 1,
            f"is past the limit: a formula has at most {MAX_LENGTH} characters and this one has {len(formula)}.",
        )
    for column, char in enumerate(formula, 1):
        if not (" " <= char <= "~" or char == "\t"):
            shown = char if char.isprintable() else repr(char)[1:-1]
            raise _refusal(shown, column, "is not allowed: a formula is one line of plain ASCII (w**2, not w²).")
    if not formula.strip():
        raise ParameterError("formula", "The formula is empty; write one, such as (w + 1)**2.", "invalid_expression")


def _parse(formula: str) -> ast.expr:
    try:
        return ast.parse(formula, mode="eval").body
    except SyntaxError as error:
        offset = error.offset or 0
        if not 1 <= offset <= len(formula):  # Python points past the end: the formula stops mid-way
            last = list(_TOKEN.finditer(formula))[-1]
            raise _refusal(
                last.group(),
                last.start() + 1,
                f"ends the formula too early ({error.msg}): something is missing after it.",
            ) from None
        match = _TOKEN.match(formula, offset - 1)
        token = match.group() if match else formula[offset - 1]
        if keyword.iskeyword(token) or keyword.issoftkeyword(token):
            raise _refusal(token, offset, f"is not allowed; {HINT}.") from None
        raise _refusal(token, offset, f"is a syntax error ({error.msg}).") from None
    except (ValueError, MemoryError, RecursionError) as error:  # pragma: no cover - the text checks come first
        raise ParameterError("formula", f"The formula cannot be parsed ({error}).", "invalid_expression") from None


def _check_size(tree: ast.expr, formula: str) -> None:
    """At most MAX_NODES terms and MAX_DEPTH levels, checked without recursion, in source order. A flat sum or
    product is one level however long (`a + b - c + d`), as a reader sees it; parentheses, calls and a change of
    operator nest."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr) and depth > 0:  # the parts of w[i] are counted as one term, at w[i]
            count += 1
            if depth > MAX_DEPTH:
                why = f"is nested {depth} levels deep; a formula allows {MAX_DEPTH}."
                raise _refusal(_segment(formula, node), _column(node), why)
            if count > MAX_NODES:
                why = f"is term number {count}; a formula has at most {MAX_NODES}."
                raise _refusal(_segment(formula, node), _column(node), why)
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.Subscript):
            stack.extend((child, -MAX_DEPTH) for child in children)  # not counted, never too deep
        else:
            stack.extend((child, depth + (0 if _continues(node, child) else 1)) for child in reversed(children))


def _continues(parent: ast.AST, child: ast.AST) -> bool:
    """Whether `child` is the left part of the same flat sum or product as `parent` (a + b + c is ((a + b) + c))."""
    families = ({ast.Add, ast.Sub}, {ast.Mult, ast.Div})
    return (
        isinstance(parent, ast.BinOp)
        and isinstance(child, ast.BinOp)
        and child is parent.left
        and any(type(parent.op) in f and type(child.op) in f for f in families)
    )


def _segment(formula: str, node: ast.AST) -> str:
    """The source text of a node (a formula is one line, so columns are offsets into it)."""
    return formula[getattr(node, "col_offset", 0) : getattr(node, "end_col_offset", None)]


def _column(node: ast.AST) -> int:
    return int(getattr(node, "col_offset", 0)) + 1


class _Builder:
    """Checks each node against the whitelist and appends it to the tape (constants folded, duplicates shared)."""

    def __init__(self, formula: str, dims: int, dtype: np.dtype[np.floating]) -> None:
        self.formula, self.dims, self.dtype = formula, dims, dtype
        self.nodes: list[Node] = []
        self.slots: dict[tuple[Any, ...], int] = {}

    def segment(self, node: ast.AST) -> str:
        return _segment(self.formula, node)

    def between(self, left: ast.AST, right: ast.AST) -> tuple[str, int]:
        """The operator written between two operands (parentheses and spaces stripped) and its column."""
        start, end = getattr(left, "end_col_offset", 0), getattr(right, "col_offset", 0)
        gap = self.formula[start:end]
        stripped = gap.strip(" ()")
        return stripped, start + gap.index(stripped) + 1 if stripped else start + 1

    def add(self, node: Node) -> int:
        key = ("const", node.constant.tobytes()) if node.op == "const" else (node.op, node.args, node.index)
        if key not in self.slots:
            self.slots[key] = len(self.nodes)
            self.nodes.append(node)
        return self.slots[key]

    def constant(self, value: float, source: ast.AST) -> int:
        with np.errstate(all="ignore"):
            number = self.dtype.type(value)
        if not np.isfinite(number):
            wider = " or dtype float64" if math.isfinite(value) else ""
            raise _refusal(
                self.segment(source),
                _column(source),
                f"does not fit in {self.dtype.name} (largest magnitude {np.finfo(self.dtype).max:.8g}); "
                f"use a smaller number{wider}.",
            )
        return self.add(Node("const", constant=number))

    def is_constant(self, slot: int) -> bool:
        return self.nodes[slot].op == "const"

    def apply(self, op: str, args: tuple[int, ...], source: ast.AST) -> int:
        nodes = [self.nodes[a] for a in args]
        if all(n.op == "const" for n in nodes):
            with np.errstate(all="ignore"):
                folded = self.dtype.type(OPERATIONS[op].forward(*(n.constant for n in nodes)))
            if not np.isfinite(folded):
                raise _refusal(
                    self.segment(source),
                    _column(source),
                    f"is {folded} in {self.dtype.name}; the constant parts of a formula must be finite numbers.",
                )
            return self.add(Node("const", constant=folded))
        if op == "pow" and nodes[1].op == "const":
            exponent = float(nodes[1].constant)
            if exponent == 1:
                return args[0]
            if exponent == 2:
                op, args = "square", args[:1]
        return self.add(Node(op, args, wants=tuple(not self.is_constant(a) for a in args)))

    def build(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant):
            return self.literal(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.build(node.operand)
            return self.apply("neg", (operand,), node) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            left, right = self.build(node.left), self.build(node.right)
            return self.apply(BINARY[type(node.op)], (left, right), node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(node)

    def literal(self, node: ast.Constant) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = {str: "a string", bytes: "a string", complex: "a complex number"}.get(type(value), "not a number")
            raise _refusal(self.segment(node), _column(node), f"is not allowed ({what}); {HINT}.")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        return self.constant(number, node)

    def name(self, node: ast.Name) -> int:
        name, column = node.id, _column(node)
        if name in CONSTANTS:
            return self.constant(CONSTANTS[name], node)
        if name == "w":
            if self.dims != 1:
                raise _refusal(
                    name,
                    column,
                    f"is a vector of {self.dims} numbers here (w0 has {self.dims} dimensions); "
                    f"write its coordinates w[0] to w[{self.dims - 1}]" + (", or x and y." if self.dims == 2 else "."),
                )
            return self.variable(0)
        if name in ("x", "y"):
            index = "xy".index(name)
            if index >= self.dims:
                raise _refusal(
                    name, column, "is the second coordinate, but w0 has 1 dimension; write the formula in w."
                )
            return self.variable(index)
        if name in FUNCTIONS:
            raise _refusal(name, column, f"is a function: call it, as in {name}(w).")
        close = difflib.get_close_matches(name, [*FUNCTIONS, *CONSTANTS], n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise _refusal(name, column, f"is not a name a formula knows; {hint}{HINT}.")

    def variable(self, index: int) -> int:
        return self.add(Node("var", index=index))

    def subscript(self, node: ast.Subscript) -> int:
        index = node.slice
        if not (isinstance(node.value, ast.Name) and node.value.id == "w"):
            raise _refusal(self.segment(node), _column(node), "is not allowed: only w has coordinates, as in w[0].")
        if not (isinstance(index, ast.Constant) and type(index.value) is int and 0 <= index.value < self.dims):
            last = self.dims - 1
            raise _refusal(
                self.segment(node),
                _column(node),
                f"is not a coordinate of w: w0 has {self.dims} dimension{'s' if self.dims > 1 else ''}, "
                f"so write w[0]" + (f" to w[{last}]." if last else "."),
            )
        return self.variable(index.value)

    def call(self, node: ast.Call) -> int:
        if isinstance(node.func, ast.Attribute):
            raise self.refuse(node.func)
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node.func)
        name = node.func.id
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise _refusal(name, _column(node), f"is not a function a formula knows; {hint}use {', '.join(FUNCTIONS)}.")
        if node.keywords:
            keyword = node.keywords[0]
            raise _refusal(self.segment(keyword), _column(keyword), "is not allowed: functions take no keywords.")
        starred = [arg for arg in node.args if isinstance(arg, ast.Starred)]
        if starred:
            raise self.refuse(starred[0])
        if len(node.args) != 1:
            raise _refusal(self.segment(node), _column(node), f"gives {name} {len(node.args)} arguments; it takes one.")
        return self.apply(name, (self.build(node.args[0]),), node)

    def refuse(self, node: ast.AST) -> ParameterError:
        """The refusal of a node outside the whitelist, pointing at its most telling token."""
        token, column = self.segment(node), _column(node)
        what = _NAMES.get(type(node), "not part of the language")
        if isinstance(node, ast.BinOp):
            token, column = self.between(node.left, node.right)
            what = "an operator a formula cannot use"
        elif isinstance(node, ast.Compare):
            token, column = self.between(node.left, node.comparators[0])
        elif isinstance(node, ast.BoolOp):
            token, column = self.between(node.values[0], node.values[1])
        elif isinstance(node, ast.IfExp):
            token, column = self.between(node.body, node.test)
        elif isinstance(node, ast.UnaryOp):
            token = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), token)
            what = "an operator a formula cannot use"
        elif isinstance(node, ast.Lambda):
            token = "lambda"
        elif isinstance(node, ast.Attribute):
            known = f" write {node.attr}(…), not {token}(…);" if node.attr in FUNCTIONS else ""
            return _refusal(
                token, column, f"is not allowed: attribute access is not part of the language;{known} {HINT}."
            )
        return _refusal(token, column, f"is not allowed ({what}); {HINT}.")


# Evaluation ------------------------------------------------------------------------------------------------------

Step = tuple[int, Operation, tuple[int, ...]]


@dataclass(frozen=True)
class Expression:
    """A compiled formula: `value` over rows (n, R, D), `gradient` at (R, D), both in the run's dtype."""

    formula: str
    nodes: tuple[Node, ...]
    root: int
    size: int
    dtype: np.dtype[np.floating]
    terms: "Terms | None" = field(init=False, repr=False)
    """The formula expanded as a polynomial, when it is one (for bounded_below and the analysis)."""
    bounded: bool = field(init=False)
    template: tuple[Value, ...] = field(init=False, repr=False)
    variables: tuple[tuple[int, int], ...] = field(init=False, repr=False)
    """(coordinate, node) for every coordinate the formula uses."""
    value_plan: tuple[Step, ...] = field(init=False, repr=False)
    gradient_plan: tuple[Step, ...] = field(init=False, repr=False)
    """The forward steps whose values the backward sweep reads (and the steps those need)."""
    backward_plan: tuple[tuple[int, tuple[int, ...], tuple[tuple[VectorJacobian, int], ...]], ...] = field(
        init=False, repr=False
    )
    """Per operation, last first: its node, its arguments, and (vector-Jacobian product, argument) for each argument
    that depends on w."""
    last_reads: tuple[tuple[int, ...], ...] = field(init=False, repr=False)
    """Per step of `value_plan`, the nodes no later step reads (the root excepted): `value` lets them go, so a grid
    of a million points holds a few arrays at a time, not one per node."""
    width: int = field(init=False, repr=False)
    """The most arrays `value` holds at once (its memory is about width × points × itemsize)."""

    def __post_init__(self) -> None:
        nodes = self.nodes
        live: set[int] = {self.root}
        for slot in range(self.root, -1, -1):
            if slot in live:
                live.update(nodes[slot].args)
        order = sorted(live)
        operations = [s for s in order if nodes[s].op not in ("var", "const")]
        needed: set[int] = set()
        for s in operations:
            for reads, wanted in zip(OPERATIONS[nodes[s].op].reads, nodes[s].wants, strict=True):
                needed.update(nodes[s].args if wanted and "a" in reads else ())
                needed.update((s,) if wanted and "o" in reads else ())
        for s in reversed(order):
            if s in needed:
                needed.update(nodes[s].args)
        terms = _expand(nodes, order)
        set_ = object.__setattr__
        set_(self, "terms", terms)
        set_(self, "bounded", _bounded_below(terms))
        set_(self, "template", tuple(node.constant for node in nodes))
        set_(self, "variables", tuple(sorted((nodes[s].index, s) for s in order if nodes[s].op == "var")))
        set_(self, "value_plan", tuple((s, OPERATIONS[nodes[s].op], nodes[s].args) for s in operations))
        set_(self, "gradient_plan", tuple(step for step in self.value_plan if step[0] in needed))
        set_(
            self,
            "backward_plan",
            tuple((s, nodes[s].args, _pullbacks(nodes[s])) for s in reversed(operations)),
        )
        last_read: dict[int, int] = {}
        for position, (_, _, args) in enumerate(self.value_plan):
            for a in args:
                last_read[a] = position
        dropped: list[list[int]] = [[] for _ in self.value_plan]
        for slot, position in last_read.items():
            if slot != self.root and nodes[slot].op != "const":
                dropped[position].append(slot)
        set_(self, "last_reads", tuple(tuple(slots) for slots in dropped))
        held, width = 0, 1
        for position in range(len(self.value_plan)):
            held += 1
            width = max(width, held)
            held -= sum(1 for s in dropped[position] if nodes[s].op != "var")
        set_(self, "width", width)

    @property
    def dims(self) -> int:
        return self.size

    def _forward(self, w: Array, plan: tuple[Step, ...]) -> list[Value]:
        values = list(self.template)
        for index, slot in self.variables:
            values[slot] = w[..., index]
        for slot, operation, args in plan:
            values[slot] = operation.forward(*[values[a] for a in args])
        return values

    def value(self, w: Array) -> Array:
        values = list(self.template)
        for index, slot in self.variables:
            values[slot] = w[..., index]
        for (slot, operation, args), done in zip(self.value_plan, self.last_reads, strict=True):
            values[slot] = operation.forward(*[values[a] for a in args])
            for finished in done:  # no later step reads it: let the array go
                values[finished] = None
        result = values[self.root]
        kind = self.nodes[self.root].op
        if kind == "const":
            return np.full(w.shape[:-1], result, dtype=self.dtype)
        return np.array(result, dtype=self.dtype) if kind == "var" else np.asarray(result, dtype=self.dtype)

    def gradient(self, w: Array, out: Array) -> None:
        values = self._forward(w, self.gradient_plan)
        adjoints: list[Value] = [None] * len(self.nodes)
        adjoints[self.root] = ONE
        for slot, args, pullbacks in self.backward_plan:
            g, result, arguments = adjoints[slot], values[slot], [values[a] for a in args]
            for vjp, arg in pullbacks:
                share = vjp(g, arguments, result)
                previous = adjoints[arg]
                adjoints[arg] = share if previous is None else np.add(_materialise(previous), _materialise(share))
        if len(self.variables) < self.size:
            out[...] = 0
        for index, slot in self.variables:
            out[:, index] = _materialise(adjoints[slot])

    def bounded_below(self) -> npt.NDArray[np.bool_]:
        return np.array([self.bounded])

    def facts(self, run: int) -> dict[str, Any]:
        """The facts of the polynomial or quadratic form the formula is, when it is one; otherwise only whether it
        is bounded below."""
        terms = self.terms
        if terms is None or degree(terms) == 0:
            return unknown("expression", self.bounded)
        if self.dims == 1:
            coefficients = [terms.get(((0, k),) if k else (), 0.0) for k in range(degree(terms) + 1)]
            return polynomial_facts(np.array(coefficients), kind="expression")
        if degree(terms) <= 2:
            return quadratic_form_facts("expression", *quadratic_parts(terms), coordinates(terms), self.dims)
        return unknown("expression", self.bounded)


def _pullbacks(node: Node) -> tuple[tuple[VectorJacobian, int], ...]:
    vjps = OPERATIONS[node.op].vjps
    return tuple((vjp, arg) for vjp, arg, wanted in zip(vjps, node.args, node.wants, strict=True) if wanted)


def _materialise(g: Value) -> Value:
    return 1.0 if g is ONE else g


def expression(formula: str, dims: int, dtype: np.dtype[np.floating]) -> Expression:
    """Compile `formula` for a `dims`-dimensional w in `dtype`; refuses anything outside the language."""
    _check_text(formula)
    tree = _parse(formula)
    _check_size(tree, formula)
    builder = _Builder(formula, dims, dtype)
    root = builder.build(tree)
    return Expression(formula, tuple(builder.nodes), root, dims, dtype)


@register("expression")  # any dimension: the compiler refuses a variable w0 does not have, naming it
def build_expression(*, formula: str, dims: int, dtype: np.dtype[np.floating]) -> Expression:
    """The loss of a formula in w (or x, y, or w[0], w[1], …) for a `dims`-dimensional w0."""
    return expression(formula, dims, dtype)


# Polynomials: what the analysis can say about a formula ---------------------------------------------------------

Monomial = tuple[tuple[int, int], ...]
"""((coordinate, power), ...) by coordinate; () is the constant term."""
Terms = dict[Monomial, float]
"""A polynomial: coefficient per monomial, zeros left out."""
MAX_DEGREE: Final = 16
MAX_TERMS: Final = 256
MAX_PRODUCTS: Final = 20_000
"""Work limit of one expansion, in products of two monomials (a few milliseconds)."""


def _expand(nodes: Sequence[Node], order: Sequence[int]) -> Terms | None:
    """The formula as a polynomial in the coordinates of w, or None when it is not one (or too big to expand)."""
    expanded: dict[int, Terms | None] = {}
    budget = [MAX_PRODUCTS]
    for slot in order:
        expanded[slot] = _expand_node(nodes[slot], [expanded[a] for a in nodes[slot].args], budget)
    return expanded[order[-1]] if order else None


def _expand_node(node: Node, args: list[Terms | None], budget: list[int]) -> Terms | None:
    if node.op == "var":
        return {((node.index, 1),): 1.0}
    if node.op == "const":
        return {(): float(node.constant)} if node.constant != 0 else {}
    p = [arg for arg in args if arg is not None]
    if len(p) < len(args):
        return None
    if node.op in ("add", "sub"):
        return _combine(p[0], p[1], 1.0 if node.op == "add" else -1.0)
    if node.op == "neg":
        return {m: -c for m, c in p[0].items()}
    if node.op in ("mul", "square"):
        return _times(p[0], p[-1], budget)
    constant = p[1].get((), 0.0) if len(p) == 2 and set(p[1]) <= {()} else None
    if node.op == "div" and constant:
        return {m: c / constant for m, c in p[0].items()}
    if node.op == "pow" and constant is not None and constant.is_integer() and 0 <= constant <= MAX_DEGREE:
        result: Terms | None = {(): 1.0}
        for _ in range(int(constant)):
            result = None if result is None else _times(result, p[0], budget)
        return result
    return None


def _combine(p: Terms, q: Terms, sign: float) -> Terms:
    result = dict(p)
    for m, c in q.items():
        result[m] = result.get(m, 0.0) + sign * c
    return {m: c for m, c in result.items() if c != 0}


def _times(p: Terms, q: Terms, budget: list[int]) -> Terms | None:
    budget[0] -= len(p) * len(q)
    if budget[0] < 0:
        return None
    result: Terms = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            powers = dict(m1)
            for index, power in m2:
                powers[index] = powers.get(index, 0) + power
            m = tuple(sorted(powers.items()))
            result[m] = result.get(m, 0.0) + c1 * c2
    result = {m: c for m, c in result.items() if c != 0}
    if len(result) > MAX_TERMS or degree(result) > MAX_DEGREE or not all(map(math.isfinite, result.values())):
        return None
    return result


def degree(terms: Terms) -> int:
    return max((sum(power for _, power in m) for m in terms), default=0)


def coordinates(terms: Terms) -> list[int]:
    """The coordinates of w a polynomial uses, in order."""
    return sorted({index for m in terms for index, _ in m})


def quadratic_parts(terms: Terms) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """A polynomial of degree ≤ 2 as ½·vᵀSv + bᵀv + c, where v = w[coordinates(terms)]."""
    position = {index: k for k, index in enumerate(coordinates(terms))}
    s, b, c = np.zeros((len(position), len(position))), np.zeros(len(position)), 0.0
    for m, coefficient in terms.items():
        if not m:
            c = coefficient
        elif len(m) == 2:
            i, j = position[m[0][0]], position[m[1][0]]
            s[i, j] = s[j, i] = coefficient
        elif m[0][1] == 2:
            s[position[m[0][0]], position[m[0][0]]] = 2 * coefficient
        else:
            b[position[m[0][0]]] = coefficient
    return s, b, c


def _bounded_below(terms: Terms | None) -> bool:
    """False only when the formula is a polynomial known to fall without bound; True otherwise (or unknown)."""
    if terms is None or degree(terms) == 0:
        return True
    top = degree(terms)
    if top % 2:
        return False  # the top-degree part is odd, so it is negative along some line: the loss falls to -inf
    used = coordinates(terms)
    if len(used) == 1:
        return terms.get(((used[0], top),), 0.0) > 0
    if top == 2:
        s, b, _ = quadratic_parts(terms)
        return quadratic_form_bounded(s, b)
    return True  # an even multivariate polynomial of degree 4 or more: not decided here
