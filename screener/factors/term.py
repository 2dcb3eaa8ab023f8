"""``Term``: a polars expression together with the history it reads, derived, never stated twice.

A factor's lookback is a fact about its expression, so it is computed where the expression is
built: a panel column reads its own row (1 session), ``lag(x, n)`` reads ``n`` more than ``x``,
a window of ``n`` rows over ``x`` reads ``n - 1`` more than ``x``, and combining terms reads as
far back as the furthest of them. The time-series verbs (timeseries.py) and the expression
language (expr/) both build terms this way; ``Factor`` takes its lookback from its term.

Terms combine with ``+ - * / **``, unary minus, ``abs`` and the order comparisons, with other
terms, polars expressions (one row each) and numbers. Put a term on the left of a polars
expression, or wrap the expression with ``term`` (polars refuses a term as its right operand).

>>> t = Term(pl.col("x"), 3) / pl.col("y") - 1
>>> t.lookback
3
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True, eq=False)
class Term:
    """``expr`` reads ``lookback`` sessions of a ticker's history, its own row included.

    Equality is identity (a polars expression has no value equality): ``==`` is not an
    operator on terms, use ``combine(pl.Expr.eq, a, b)``.
    """

    expr: pl.Expr
    lookback: int = 1

    def __post_init__(self) -> None:
        if self.lookback < 1:
            raise ValueError(f"a term reads at least its own row, got lookback {self.lookback}")

    def map(self, fn: Callable[[pl.Expr], pl.Expr]) -> Term:
        """An elementwise function of this term: the same history."""
        return Term(fn(self.expr), self.lookback)

    def __add__(self, other: object) -> Term:
        return combine(operator.add, self, other)

    def __radd__(self, other: object) -> Term:
        return combine(operator.add, other, self)

    def __sub__(self, other: object) -> Term:
        return combine(operator.sub, self, other)

    def __rsub__(self, other: object) -> Term:
        return combine(operator.sub, other, self)

    def __mul__(self, other: object) -> Term:
        return combine(operator.mul, self, other)

    def __rmul__(self, other: object) -> Term:
        return combine(operator.mul, other, self)

    def __truediv__(self, other: object) -> Term:
        return combine(operator.truediv, self, other)

    def __rtruediv__(self, other: object) -> Term:
        return combine(operator.truediv, other, self)

    def __pow__(self, other: object) -> Term:
        return combine(operator.pow, self, other)

    def __gt__(self, other: object) -> Term:
        return combine(operator.gt, self, other)

    def __ge__(self, other: object) -> Term:
        return combine(operator.ge, self, other)

    def __lt__(self, other: object) -> Term:
        return combine(operator.lt, self, other)

    def __le__(self, other: object) -> Term:
        return combine(operator.le, self, other)

    def __neg__(self) -> Term:
        return self.map(operator.neg)

    def __abs__(self) -> Term:
        return self.map(pl.Expr.abs)


def term(x: object) -> Term:
    """``x`` as a term: a polars expression or a number reads only its own row."""
    if isinstance(x, Term):
        return x
    if isinstance(x, pl.Expr):
        return Term(x)
    if isinstance(x, bool | int | float):
        return Term(pl.lit(x))
    raise TypeError(f"cannot make a term of {type(x).__name__}")


def combine(fn: Callable[..., pl.Expr], *parts: object) -> Term:
    """``fn`` of the parts' expressions, reading as far back as the furthest part."""
    terms = [term(p) for p in parts]
    return Term(fn(*(t.expr for t in terms)), max(t.lookback for t in terms))
