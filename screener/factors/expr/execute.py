"""Run compiled expressions (ops.py) with numpy and the window kernels, as qlib runs them.

Every elementwise operator is numpy's own function on float32 fields, so dtypes, NaN rules and
rounding are qlib's; every window operator is a kernel of kernels.py over the rows of each
ticker (``seg``). ``Values`` holds a frame's fields and caches each node by its key, so a
subexpression shared by many factors (``Ref($close, 1)`` in Alpha158) is computed once.

Two ways in: ``term_of`` wraps one graph as a polars ``Term`` (one ``map_batches`` over the
columns it reads) for ``engine.evaluate``; ``evaluate_frame`` computes many graphs at once over
one frame, sharing the cache (bulk.py). Both call ``Values.of``: the same numbers either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
import polars as pl

from screener.factors.base import TICKER, FactorError
from screener.factors.expr.ops import FIELDS, Op
from screener.factors.term import Term

Array = np.ndarray
NUMPY: dict[str, Callable[..., Array]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
    "&": np.bitwise_and,
    "|": np.bitwise_or,
    "neg": np.negative,
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Power": np.power,
    "Greater": np.maximum,
    "Less": np.minimum,
    "Gt": np.greater,
    "Ge": np.greater_equal,
    "Lt": np.less,
    "Le": np.less_equal,
    "Eq": np.equal,
    "Ne": np.not_equal,
    "And": np.bitwise_and,
    "Or": np.bitwise_or,
    "Abs": np.abs,
    "Sign": lambda x: np.sign(np.asarray(x, np.float32)),  # qlib casts to float32 first
    "Log": np.log,
    "Not": np.bitwise_not,
    "If": np.where,
}
# window operator -> (kernel of kernels.py, its parameters after the window)
KERNELS: dict[str, tuple[str, tuple[object, ...]]] = {
    "Sum": ("moments", ("SUM",)),
    "Mean": ("moments", ("MEAN",)),
    "Count": ("moments", ("COUNT",)),
    "Var": ("moments", ("VAR",)),
    "Std": ("moments", ("STD",)),
    "Skew": ("shape", (False,)),
    "Kurt": ("shape", (True,)),
    "Max": ("extreme", (True, False)),
    "Min": ("extreme", (False, False)),
    "IdxMax": ("extreme", (True, True)),
    "IdxMin": ("extreme", (False, True)),
    "Mad": ("mad", ()),
    "Rank": ("rank", ()),
    "WMA": ("wma", ()),
    "Slope": ("regression", ("SLOPE",)),
    "Rsquare": ("regression", ("RSQUARE",)),
    "Resi": ("regression", ("RESI",)),
}  # a str parameter names a constant of kernels.py


def constant(name: str, args: Sequence[Op]) -> float:
    """An operator on numbers only, folded when compiling (numpy's arithmetic, as a float)."""
    with np.errstate(all="ignore"):
        return float(NUMPY[name](*(np.float64(a.params[0]) for a in args)))


class Values:
    """One frame's fields (float32, as qlib stores them), segments and computed nodes."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.seg = frame.get_column(TICKER).rle_id().to_numpy().astype(np.int64)
        self.cache: dict[str, Array | float] = {}
        self.as_float64: dict[str, Array] = {}  # kernel inputs, converted once per node
        # (input key, window) -> {node key: q} of every quantile asked for (see ``plan_for``)
        self.quantiles: dict[tuple[str, int], dict[str, float]] = {}

    def plan_for(self, roots: Sequence[Op]) -> None:
        """Note the quantiles the graphs ask for, so that those of one window share a pass."""
        for node in _nodes(roots):
            if node.name in ("Quantile", "Med"):
                at = (node.args[0].key, int(node.params[0]))
                self.quantiles.setdefault(at, {})[node.key] = _q(node)

    def of(self, op: Op) -> Array | float:
        """The values of ``op`` on every row (a float for a constant), computed once."""
        if op.key not in self.cache:
            with np.errstate(all="ignore"):
                self.cache[op.key] = self._compute(op)
        return self.cache[op.key]

    def _compute(self, op: Op) -> Array | float:
        if op.name == "const":
            return float(op.params[0])
        if op.name == "field":
            return self._field(str(op.params[0]))
        args = [self.of(a) for a in op.args]
        if op.name in NUMPY:
            return self._numpy(op, args)
        n = int(op.params[0])
        if op.name in ("Ref", "Delta"):
            shifted = self._shift(args[0], n)
            return shifted if op.name == "Ref" else args[0] - shifted
        inputs = [self._float64(a) for a in op.args]
        if op.name in ("Corr", "Cov"):
            return self._kernel("pair", inputs, n, op.name == "Corr")
        if op.name in ("Quantile", "Med"):
            return self._quantile(op, inputs[0], n)
        if op.name == "EMA":
            out = np.empty(len(self.seg))
            _kernels().ema(self.seg, inputs[0], float(op.params[0]), out)
            return out
        kernel, params = KERNELS[op.name]
        out = self._kernel(kernel, inputs, n, *params)
        if op.name == "Rsquare":  # qlib: NaN where the input's rolling std is near 0
            std = self._kernel("moments", inputs, n, "STD")
            out[np.isclose(std, 0, atol=2e-05)] = np.nan
        return out

    def _numpy(self, op: Op, args: list[Array | float]) -> Array:
        try:
            return np.asarray(NUMPY[op.name](*args))
        except TypeError as err:  # e.g. numpy refuses to subtract two comparisons
            raise FactorError(f"numpy cannot compute {op.key}: {err}") from None

    def _field(self, name: str) -> Array:
        def column(c: str) -> Array:
            return self.frame.get_column(c).cast(pl.Float64).to_numpy()

        if name == "vwap":
            volume = column("volume")
            with np.errstate(all="ignore"):
                vwap = column("amount") / volume * column("adj_factor")
            return np.where(volume > 0, vwap, np.nan).astype(np.float32)
        return column(FIELDS.get(name, (name,))[0]).astype(np.float32)

    def _shift(self, x: Array | float, n: int) -> Array:
        """``x`` ``n`` rows back within each ticker (NaN before), keeping a float's dtype."""
        x = np.asarray(x)
        out = np.full(x.shape, np.nan, x.dtype if x.dtype.kind == "f" else np.float64)
        if n < len(x):
            out[n:] = x[:-n]
            out[n:][self.seg[n:] != self.seg[:-n]] = np.nan
        return out

    def _quantile(self, op: Op, x: Array, n: int) -> Array:
        """Every quantile of ``x`` over ``n`` rows that the graphs ask for, in one pass."""
        wanted = self.quantiles.get((op.args[0].key, n), {op.key: _q(op)})
        qs = np.array(list(wanted.values()))
        out = np.empty((len(qs), len(self.seg)))
        _kernels().quantile(self.seg, x, n, qs, out)
        for row, key in zip(out, wanted, strict=True):
            self.cache[key] = row
        return self.cache[op.key]  # type: ignore[return-value]

    def _float64(self, op: Op) -> Array:
        """A node's values as float64 (pandas' windows compute in float64), converted once."""
        if op.key not in self.as_float64:
            self.as_float64[op.key] = np.ascontiguousarray(self.of(op), dtype=np.float64)
        return self.as_float64[op.key]

    def _kernel(self, name: str, inputs: list, n: int, *params: object) -> Array:
        kernels = _kernels()
        out = np.empty(len(self.seg))
        args = [getattr(kernels, p) if isinstance(p, str) else p for p in params]
        getattr(kernels, name)(self.seg, *inputs, n, *args, out)
        return out


def term_of(root: Op) -> Term:
    """One graph as a polars term: a single ``map_batches`` over the columns it reads."""
    columns = list(root.columns())

    def run(series: Sequence[pl.Series]) -> pl.Series:
        frame = pl.DataFrame(list(series))
        return _as_series(root.key, Values(frame).of(root), frame.height)

    inputs = [pl.col(TICKER), *(pl.col(c) for c in columns)]
    return Term(pl.map_batches(inputs, run, return_dtype=pl.Float64), root.lookback)


def evaluate_frame(frame: pl.DataFrame, roots: dict[str, Op]) -> pl.DataFrame:
    """ticker, date and one Float32 column per named graph (qlib's precision), sharing
    computed nodes; NaN and +-inf are null."""
    values = Values(frame)
    values.plan_for(list(roots.values()))
    block = np.empty((len(roots), frame.height), np.float32)
    for at, root in enumerate(roots.values()):
        block[at] = values.of(root)
    block[~np.isfinite(block)] = np.nan
    out = pl.from_numpy(block, schema=list(roots), orient="col")
    return frame.select(TICKER, "date").with_columns(out.fill_nan(None))


def fields_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """ticker, date and qlib's seven fields as the expressions read them (float32): what a
    qlib data folder must hold for qlib to compute the same values (benchmarks/)."""
    values = Values(frame)
    return frame.select(TICKER, "date").with_columns(
        pl.Series(name, values._field(name)) for name in FIELDS
    )


@functools.cache
def _kernels() -> ModuleType:
    """kernels.py, imported when something is computed (numba takes a while to load)."""
    from screener.factors.expr import kernels

    return kernels


def _q(op: Op) -> float:
    return 0.5 if op.name == "Med" else float(op.params[1])


def _nodes(roots: Sequence[Op]) -> list[Op]:
    """Every node of the graphs, each once."""
    seen: dict[str, Op] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.key not in seen:
            seen[node.key] = node
            stack.extend(node.args)
    return list(seen.values())


def _as_series(name: str, values: Array | float, height: int) -> pl.Series:
    """Float64, NaN and +-inf as null."""
    out = np.broadcast_to(np.asarray(values, np.float64), (height,))
    return pl.Series(name, np.where(np.isfinite(out), out, np.nan), nan_to_null=True)
