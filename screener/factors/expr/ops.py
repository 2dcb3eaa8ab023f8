"""qlib's operators as terms: each node of a parsed expression becomes a ``Term``.

Semantics are qlib's (qlib/data/ops.py, pyqlib 0.9.7), so a formula gives here what it gives
there; the odd parts are kept on purpose and listed here:

- Rolling operators use the rows a window has (pandas' ``min_periods=1``): values start on a
  ticker's first row, from a partial window. The term's lookback is the history a *full*
  window needs, which is what the one-date path loads.
- Values that are not finite are skipped inside windows (pandas does so for NaN and +-inf).
- Comparisons give 1.0 or 0.0 and are false where either side is missing (numpy's NaN rule),
  so ``Mean($close > Ref($close, 1), 5)`` counts a ticker's first row as a 0. ``Ne`` is true
  there. ``If`` takes a missing condition as true (numpy's ``where`` on NaN). Between two
  comparisons ``+`` is *or* and ``*`` is *and* (numpy booleans); ``-`` is refused.
- ``Greater``/``Less`` are missing where either side is (numpy's maximum/minimum).
- ``EMA(x, n)``: pandas' adjusted ``ewm(span=n)`` (alpha = 2 / (n + 1); ``0 < n < 1`` is alpha
  itself) from a ticker's first row; its lookback is qlib's: the rows until a weight is 1e-6.
- ``IdxMax``/``IdxMin``: the 1-based position in the window, the first NaN if there is one.
- ``Corr`` is missing where either side's rolling std is within 2e-5 of 0, and ``Rsquare``
  where its input's is (qlib's own guard). ``WMA`` divides by the count of present values.
- ``Ref(x, n)`` and ``Delta(x, n)`` need n >= 1; the expanding forms (n = 0) are refused: they
  read a ticker's whole history, which no lookback can state.

- Fields are float32, as qlib stores them, and elementwise arithmetic stays float32 where
  numpy's would (window statistics are float64, as in pandas): qlib's own rounding, kept so
  that values agree with it to 1e-5 rather than drift by float32's 6e-8 through a ratio.

Fields: ``$open $high $low $close`` are the panel's back-adjusted prices, ``$volume`` (shares)
and ``$amount`` (CNY) as stored, ``$vwap`` = amount / volume x adj_factor (missing without
volume); any other numeric or boolean panel column by its name (``$metal_close``,
``$sector_close``, ``$adj_factor``, ``$ret_1d``, ``$suspended``, ...).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable

import numpy as np
import polars as pl

from screener import rules
from screener.factors.expr.grammar import Call, ExprError, Field, Node, Number
from screener.factors.term import Term, combine, term
from screener.factors.timeseries import kernel, lag

KERNELS = "screener.factors.expr.kernels"
PRICE_FIELDS = {f: pl.col(f"adj_{f}") for f in ("open", "high", "low", "close")}
# qlib stores every field as float32 and numpy keeps float32 through elementwise arithmetic
# (a window statistic returns float64, as pandas does): fields are Float32 here too, and
# number literals are polars' weak floats, so polars follows the same promotion rules.
FIELDS: dict[str, pl.Expr] = {
    name: expr.cast(pl.Float32)
    for name, expr in {
        **PRICE_FIELDS,
        "volume": pl.col("volume"),
        "amount": pl.col("amount"),
        "vwap": pl.when(pl.col("volume") > 0).then(
            pl.col("amount") / pl.col("volume") * pl.col("adj_factor")
        ),
    }.items()
}
# Panel columns a formula may read by their own name (numbers and flags, as Float64).
PANEL_FIELDS = (
    "prev_close",
    "adj_factor",
    "ret_1d",
    "up_limit",
    "down_limit",
    "sector_close",
    "market_close",
    "metal_close",
    "metal_age",
    "is_st",
    "metal_stale",
    *rules.TRADABILITY_COLUMNS,
)

Operand = Term | float


def _missing(x: pl.Expr) -> pl.Expr:
    return x.is_null() | x.is_nan()


def _compare(op: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> Callable[[pl.Expr, pl.Expr], pl.Expr]:
    """numpy's comparison: 1.0 or 0.0, false where either side is missing (polars would order
    NaN above everything)."""
    return lambda a, b: (op(a, b) & ~_missing(a) & ~_missing(b)).fill_null(False).cast(pl.Float64)


def _truth(x: pl.Expr) -> pl.Expr:
    """numpy's truth of a number: not zero; NaN (here also null) is true."""
    return (x != 0).fill_null(True)


def _numpy_log(s: pl.Series) -> pl.Series:
    with np.errstate(all="ignore"):
        return pl.Series(s.name, np.log(s.to_numpy()))


def _numpy_power(s: pl.Series) -> pl.Series:
    base, exponent = (f.to_numpy() for f in s.struct.unnest().iter_columns())
    with np.errstate(all="ignore"):
        return pl.Series(s.name, np.power(base, exponent))


@functools.cache
def _power_with(constant: float, constant_is_base: bool) -> Callable[[pl.Series], pl.Series]:
    """numpy's power of a series and a Python number (which keeps float32 float32)."""

    def run(s: pl.Series) -> pl.Series:
        values = s.to_numpy()
        with np.errstate(all="ignore"):
            out = np.power(constant, values) if constant_is_base else np.power(values, constant)
        return pl.Series(s.name, out)

    return run


def _log(x: pl.Expr) -> pl.Expr:
    """numpy's log: polars' float32 log is a float32 computation that often misses numpy's
    value by an ulp, which a correlation of log volumes turns into 1e-5."""
    return x.map_batches(_numpy_log, is_elementwise=True)


def _power(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """numpy's power, with numpy's dtype rules (a float32 base stays float32)."""
    return pl.struct(a.alias("a"), b.alias("b")).map_batches(_numpy_power, is_elementwise=True)


def _greater(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(a >= b).then(a).when(a < b).then(b)  # null if either is null; NaN wins


def _less(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(a <= b).then(a).when(a > b).then(b)


ELEMENTWISE: dict[str, tuple[int, Callable[..., pl.Expr]]] = {
    "+": (2, operator.add),
    "-": (2, operator.sub),
    "*": (2, operator.mul),
    "/": (2, operator.truediv),
    "**": (2, _power),
    "neg": (1, operator.neg),
    "Add": (2, operator.add),
    "Sub": (2, operator.sub),
    "Mul": (2, operator.mul),
    "Div": (2, operator.truediv),
    "Power": (2, _power),
    "Abs": (1, pl.Expr.abs),
    "Sign": (1, pl.Expr.sign),
    "Log": (1, _log),
    "Greater": (2, _greater),
    "Less": (2, _less),
    ">": (2, _compare(operator.gt)),
    ">=": (2, _compare(operator.ge)),
    "<": (2, _compare(operator.lt)),
    "<=": (2, _compare(operator.le)),
    "==": (2, _compare(operator.eq)),
    "!=": (2, lambda a, b: 1.0 - _compare(operator.eq)(a, b)),
    "&": (2, lambda a, b: (_truth(a) & _truth(b)).cast(pl.Float64)),
    "|": (2, lambda a, b: (_truth(a) | _truth(b)).cast(pl.Float64)),
    "Not": (1, lambda a: (~_truth(a)).cast(pl.Float64)),
    "If": (3, lambda c, a, b: pl.when(_truth(c)).then(a).otherwise(b)),
}
for _alias, _infix in (("Gt", ">"), ("Ge", ">="), ("Lt", "<"), ("Le", "<="), ("Eq", "=="),
                       ("Ne", "!="), ("And", "&"), ("Or", "|")):  # fmt: skip
    ELEMENTWISE[_alias] = ELEMENTWISE[_infix]

# name -> (kernel, its parameters after the window, smallest window)
ROLLING: dict[str, tuple[str, tuple[object, ...], int]] = {
    "Sum": ("moments", ("SUM",), 1),
    "Mean": ("moments", ("MEAN",), 1),
    "Count": ("moments", ("COUNT",), 1),
    "Var": ("moments", ("VAR",), 1),
    "Std": ("moments", ("STD",), 1),
    "Skew": ("shape", (False,), 3),
    "Kurt": ("shape", (True,), 4),
    "Max": ("extreme", (True, False), 1),
    "Min": ("extreme", (False, False), 1),
    "IdxMax": ("extreme", (True, True), 1),
    "IdxMin": ("extreme", (False, True), 1),
    "Med": ("quantile", (0.5,), 1),
    "Mad": ("mad", (), 1),
    "Rank": ("rank", (), 1),
    "WMA": ("wma", (), 1),
    "Slope": ("regression", ("SLOPE",), 1),
    "Rsquare": ("regression", ("RSQUARE",), 1),
    "Resi": ("regression", ("RESI",), 1),
}
# Results that are numpy booleans in qlib, and what numpy's + and * mean between two of them.
FLAGS = frozenset(
    (">", ">=", "<", "<=", "==", "!=", "&", "|", "Not", "Gt", "Ge", "Lt", "Le", "Eq", "Ne")
) | {"And", "Or"}
BOOLEAN_ARITHMETIC = {"+": "|", "Add": "|", "*": "&", "Mul": "&"}
SPECIAL = ("Ref", "Delta", "Quantile", "EMA", "Corr", "Cov")
OPERATORS = tuple(sorted({*ELEMENTWISE, *ROLLING, *SPECIAL} - {"neg"}))


class _Compiler:
    """Walks a tree; ``text`` is kept for error positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.flags: dict[int, Term] = {}  # comparison results (numpy booleans), by id; kept alive

    def error(self, node: Node, reason: str) -> ExprError:
        return ExprError(reason, pos=node.pos, text=self.text)

    def value(self, node: Node) -> Operand:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Field):
            return self.field(node)
        if node.name in ELEMENTWISE:
            return self.elementwise(node)
        if node.name in ROLLING:
            name, params, least = ROLLING[node.name]
            x, n = self.series(node, 0), self.window(node, 1, least)
            self.arguments(node, 2)
            value = kernel(name, [x], (n, *params), reads=n - 1, module=KERNELS)
            if node.name == "Rsquare":  # qlib: missing where the input's std is near 0
                std = kernel("moments", [x], (n, "STD"), reads=n - 1, module=KERNELS)
                return combine(
                    lambda r, s: pl.when(s > 2e-5).then(r).when(s.is_null()).then(r), value, std
                )
            return value
        if node.name in SPECIAL:
            return self.special(node)
        known = ", ".join(op for op in OPERATORS if op[0].isalpha())
        raise self.error(node, f"unknown operator {node.name!r} (qlib's operators: {known})")

    def elementwise(self, node: Call) -> Operand:
        arity, fn = ELEMENTWISE[node.name]
        args = self.arguments(node, arity)
        if all(isinstance(a, float) for a in args):  # constant: folded here
            return float(pl.select(fn(*(pl.lit(a, pl.Float64) for a in args))).item())
        if node.name in ("**", "Power") and any(isinstance(a, float) for a in args):
            base, exponent = args
            if isinstance(base, float):
                assert isinstance(exponent, Term)
                series, run = exponent, _power_with(base, True)
            else:
                assert isinstance(exponent, float)
                series, run = base, _power_with(exponent, False)
            return series.map(lambda e: e.map_batches(run, is_elementwise=True))
        both_flags = len(args) == 2 and all(id(a) in self.flags for a in args)
        if both_flags:
            fn = self.flag_arithmetic(node, fn)
        value = combine(fn, *(pl.lit(a) if isinstance(a, float) else a for a in args))
        if node.name in FLAGS or (both_flags and node.name in BOOLEAN_ARITHMETIC):
            self.flags[id(value)] = value
        return value

    def flag_arithmetic(self, node: Call, fn: Callable[..., pl.Expr]) -> Callable[..., pl.Expr]:
        """numpy on two boolean series: + is or, * is and, - is refused (as qlib would fail)."""
        name = BOOLEAN_ARITHMETIC.get(node.name, node.name)
        if name in ("-", "Sub"):
            raise self.error(node, "numpy cannot subtract two comparisons: wrap one in If(c, 1, 0)")
        return ELEMENTWISE[name][1] if name in ("|", "&") else fn

    def field(self, node: Field) -> Term:
        if node.name in FIELDS:
            return Term(FIELDS[node.name])
        if node.name in PANEL_FIELDS:
            return Term(pl.col(node.name).cast(pl.Float32))
        known = ", ".join(f"${f}" for f in (*FIELDS, *PANEL_FIELDS))
        raise self.error(node, f"unknown field ${node.name} (known: {known})")

    def arguments(self, node: Call, arity: int) -> list[Operand]:
        if len(node.args) != arity:
            raise self.error(
                node, f"{_label(node)} takes {arity} argument(s), got {len(node.args)}"
            )
        return [self.value(a) for a in node.args]

    def series(self, node: Call, at: int) -> Term:
        if at >= len(node.args):
            raise self.error(node, f"{node.name} is missing its argument {at + 1}")
        value = self.value(node.args[at])
        if not isinstance(value, Term):
            raise self.error(node.args[at], f"{node.name} needs a series here, not a number")
        return value

    def constant(self, node: Call, at: int) -> float:
        if at >= len(node.args) or not isinstance(node.args[at], Number):
            where = node.args[at] if at < len(node.args) else node
            raise self.error(where, f"{node.name} needs a number as argument {at + 1}")
        arg = node.args[at]
        assert isinstance(arg, Number)
        return arg.value

    def window(self, node: Call, at: int, least: int) -> int:
        n = self.constant(node, at)
        if n != int(n) or n < least:
            raise self.error(
                node.args[at], f"{node.name}'s window must be a whole number >= {least}, got {n:g}"
            )
        return int(n)

    def special(self, node: Call) -> Term:
        name = node.name
        if name in ("Corr", "Cov"):
            self.arguments(node, 3)
            a, b, n = self.series(node, 0), self.series(node, 1), self.window(node, 2, 1)
            return kernel("pair", [a, b], (n, name == "Corr"), reads=n - 1, module=KERNELS)
        x = self.series(node, 0)
        if name == "Quantile":
            self.arguments(node, 3)
            n, q = self.window(node, 1, 1), self.constant(node, 2)
            if not 0.0 <= q <= 1.0:
                raise self.error(node.args[2], f"Quantile's q must be in [0, 1], got {q:g}")
            return kernel("quantile", [x], (n, q), reads=n - 1, module=KERNELS)
        self.arguments(node, 2)
        if name == "EMA":
            return self.ema(node, x)
        n = self.window(node, 1, 1)
        return lag(x, n) if name == "Ref" else x - lag(x, n)

    def ema(self, node: Call, x: Term) -> Term:
        n = self.constant(node, 1)
        if n <= 0 or (n >= 1 and n != int(n)):
            raise self.error(
                node.args[1], f"EMA needs a span >= 1 or an alpha in (0, 1), got {n:g}"
            )
        alpha = n if n < 1 else 2.0 / (n + 1.0)
        memory = int(math.log(1e-6) / math.log(1.0 - alpha)) if alpha < 1 else 0
        return kernel("ema", [x], (alpha,), reads=memory, module=KERNELS)


def _label(node: Call) -> str:
    return f"'{node.name}'" if not node.name[0].isalpha() else node.name


def compile_tree(tree: Node, text: str) -> Term:
    """The term of a parsed expression; a bare number is refused (it is not a factor)."""
    compiler = _Compiler(text)
    value = compiler.value(tree)
    if not isinstance(value, Term):
        raise compiler.error(tree, "an expression needs at least one $field")
    return term(value)
