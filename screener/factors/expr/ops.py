"""qlib's operators: a parsed expression becomes a graph of ``Op`` values, checked and sized.

Compiling checks every operator, its arguments and windows (errors point at the token), folds
constants, and derives each node's lookback: a field reads its own row, ``Ref(x, n)`` reads
``n`` more than ``x``, a window of ``n`` reads ``n - 1`` more, ``EMA`` reads until a weight is
1e-6 (qlib's own rule). Each node's canonical text (``key``) names it in the cache that shares
a subexpression between factors (qlib's idea). execute.py runs the graph with numpy.

Semantics are qlib's (qlib/data/ops.py, pyqlib 0.9.7), odd parts kept on purpose:

- Rolling operators use the rows a window has (pandas' ``min_periods=1``): values start on a
  ticker's first row, from a partial window. The lookback is what a *full* window needs,
  which is what the one-date path loads.
- Fields are float32, as qlib stores them, and arithmetic follows numpy (float32 stays
  float32, window statistics are float64 as in pandas): qlib's own rounding.
- Values that are not finite are skipped inside windows (pandas does so for NaN and +-inf).
- Comparisons are numpy's: false against NaN (so ``Mean($close > Ref($close, 1), 5)`` counts a
  ticker's first row as 0), ``Ne`` true; ``If`` takes NaN as true; two comparisons add as *or*.
- ``EMA(x, n)``: pandas' adjusted ``ewm(span=n)`` (``0 < n < 1``: alpha) from a ticker's
  first row. ``IdxMax``/``IdxMin``: 1-based position in the window, the first NaN if any.
  ``Corr`` is NaN where either side's rolling std is within 2e-5 of 0, ``Rsquare`` where its
  input's is (qlib's guards). ``WMA`` divides by the count of present values.
- ``Ref``/``Delta`` need n >= 1 and windows n >= 1: the expanding forms (n = 0) read a
  ticker's whole history, which no lookback can state.

Fields: ``$open $high $low $close`` are the panel's back-adjusted prices, ``$volume`` (shares)
and ``$amount`` (CNY) as stored, ``$vwap`` = amount / volume x adj_factor (NaN without volume);
any other numeric or boolean panel column by its name (``$metal_close``, ``$sector_close``,
``$adj_factor``, ``$ret_1d``, ``$suspended``, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from screener import rules
from screener.factors.expr.grammar import Call, ExprError, Field, Node, Number

# Each qlib field and the panel columns it is computed from (execute.py computes it).
FIELDS: dict[str, tuple[str, ...]] = {
    "open": ("adj_open",),
    "high": ("adj_high",),
    "low": ("adj_low",),
    "close": ("adj_close",),
    "volume": ("volume",),
    "amount": ("amount",),
    "vwap": ("amount", "volume", "adj_factor"),
}
# Panel columns a formula may read by their own name (numbers and flags).
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
# name -> number of arguments; the infix forms are named by their symbol, unary minus "neg".
ELEMENTWISE = {
    **dict.fromkeys(("+", "-", "*", "/", "**", ">", ">=", "<", "<=", "==", "!=", "&", "|"), 2),
    **dict.fromkeys(("Add", "Sub", "Mul", "Div", "Power", "Greater", "Less"), 2),
    **dict.fromkeys(("Gt", "Ge", "Lt", "Le", "Eq", "Ne", "And", "Or"), 2),
    **dict.fromkeys(("neg", "Abs", "Sign", "Log", "Not"), 1),
    "If": 3,
}
# name -> smallest window; each runs a kernel of kernels.py (execute.py says which)
ROLLING = {
    **dict.fromkeys(("Sum", "Mean", "Count", "Var", "Std", "Max", "Min", "IdxMax"), 1),
    **dict.fromkeys(("IdxMin", "Med", "Mad", "Rank", "WMA", "Slope", "Rsquare", "Resi"), 1),
    "Skew": 3,
    "Kurt": 4,
}
SPECIAL = ("Ref", "Delta", "Quantile", "EMA", "Corr", "Cov")
OPERATORS = tuple(sorted(n for n in {*ELEMENTWISE, *ROLLING, *SPECIAL} if n[0].isalpha()))


@dataclass(frozen=True)
class Op:
    """One node: an operator, its argument nodes, its numbers, its lookback and its key.

    ``name`` is ``field`` (params: the field's name) or ``const`` (params: the value) for the
    leaves. ``lookback`` is 0 for a constant.
    """

    name: str
    args: tuple[Op, ...]
    params: tuple[float | str, ...]
    lookback: int
    key: str

    @staticmethod
    def make(name: str, args: tuple[Op, ...], params: tuple[float | str, ...], reads: int) -> Op:
        """A node reading ``reads`` rows more than its furthest-reaching argument."""
        inner = [a.key for a in args] + [repr(p) for p in params]
        lookback = max((a.lookback for a in args), default=1 if name == "field" else 0)
        return Op(name, args, params, lookback + reads, f"{name}({','.join(inner)})")

    def columns(self) -> tuple[str, ...]:
        """The panel columns the graph reads, in first-use order."""
        if self.name == "field":
            name = str(self.params[0])
            return FIELDS.get(name, (name,))
        return tuple(dict.fromkeys(c for a in self.args for c in a.columns()))


class _Compiler:
    """Walks a parse tree; ``text`` is kept for error positions."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, node: Node, reason: str) -> ExprError:
        return ExprError(reason, pos=node.pos, text=self.text)

    def value(self, node: Node) -> Op:
        if isinstance(node, Number):
            return Op.make("const", (), (node.value,), 0)
        if isinstance(node, Field):
            if node.name not in FIELDS and node.name not in PANEL_FIELDS:
                known = ", ".join(f"${f}" for f in (*FIELDS, *PANEL_FIELDS))
                raise self.error(node, f"unknown field ${node.name} (known: {known})")
            return Op.make("field", (), (node.name,), 0)
        if node.name in ELEMENTWISE:
            args = self.arguments(node, ELEMENTWISE[node.name])
            if all(a.name == "const" for a in args):  # folded here
                from screener.factors.expr.execute import constant

                return Op.make("const", (), (constant(node.name, args),), 0)
            return Op.make(node.name, tuple(args), (), 0)
        if node.name in ROLLING:
            x, n = self.series(node, 0), self.window(node, 1, ROLLING[node.name])
            self.arguments(node, 2)
            return Op.make(node.name, (x,), (n,), n - 1)
        if node.name in SPECIAL:
            return self.special(node)
        known = ", ".join(OPERATORS)
        raise self.error(node, f"unknown operator {node.name!r} (qlib's operators: {known})")

    def arguments(self, node: Call, arity: int) -> list[Op]:
        if len(node.args) != arity:
            label = node.name if node.name[0].isalpha() else f"'{node.name}'"
            raise self.error(node, f"{label} takes {arity} argument(s), got {len(node.args)}")
        return [self.value(a) for a in node.args]

    def series(self, node: Call, at: int) -> Op:
        if at >= len(node.args):
            raise self.error(node, f"{node.name} is missing its argument {at + 1}")
        value = self.value(node.args[at])
        if value.name == "const":
            raise self.error(node.args[at], f"{node.name} needs a series here, not a number")
        return value

    def constant(self, node: Call, at: int) -> float:
        arg = node.args[at] if at < len(node.args) else None
        if not isinstance(arg, Number):
            raise self.error(arg or node, f"{node.name} needs a number as argument {at + 1}")
        return arg.value

    def window(self, node: Call, at: int, least: int) -> int:
        n = self.constant(node, at)
        if n != int(n) or n < least:
            reason = f"{node.name}'s window must be a whole number >= {least}, got {n:g}"
            raise self.error(node.args[at], reason)
        return int(n)

    def special(self, node: Call) -> Op:
        name = node.name
        if name in ("Corr", "Cov"):
            self.arguments(node, 3)
            a, b, n = self.series(node, 0), self.series(node, 1), self.window(node, 2, 1)
            return Op.make(name, (a, b), (n,), n - 1)
        x = self.series(node, 0)
        if name == "Quantile":
            self.arguments(node, 3)
            n, q = self.window(node, 1, 1), self.constant(node, 2)
            if not 0.0 <= q <= 1.0:
                raise self.error(node.args[2], f"Quantile's q must be in [0, 1], got {q:g}")
            return Op.make(name, (x,), (n, q), n - 1)
        self.arguments(node, 2)
        if name == "EMA":
            span = self.constant(node, 1)
            if span <= 0 or (span >= 1 and span != int(span)):
                reason = f"EMA needs a span >= 1 or an alpha in (0, 1), got {span:g}"
                raise self.error(node.args[1], reason)
            alpha = span if span < 1 else 2.0 / (span + 1.0)
            memory = int(math.log(1e-6) / math.log(1.0 - alpha)) if alpha < 1 else 0
            return Op.make(name, (x,), (alpha,), memory)
        n = self.window(node, 1, 1)
        return Op.make(name, (x,), (n,), n)


def compile_tree(tree: Node, text: str) -> Op:
    """The graph of a parsed expression; a bare number is refused (it is not a factor)."""
    compiler = _Compiler(text)
    root = compiler.value(tree)
    if root.lookback < 1:
        raise compiler.error(tree, "an expression needs at least one $field")
    return root
