"""Cross-sections of a sessions x tickers grid, flattened row by row: who is compared with whom.

A ``Grouping`` cuts the grid's cells into the groups that are compared within: one per session
(``by_date``), or per session and label (``by_date_and``: the metal). On a grouping, ``sort``
orders a column once per group, ``ranks`` ranks it among any subset of each group by walking
that order, ``correlations`` correlates two columns per group and ``means`` averages one per
group. Missing values are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from screener.factors import rank_kernels
from screener.research import kernels


@dataclass(frozen=True)
class Grouping:
    """Cells (flattened: session t, ticker j is t * N + j) in ``n_groups`` groups;
    ``per_date`` groups on each session, group ``t * per_date + label``."""

    shape: tuple[int, int]
    codes: np.ndarray  # (T * N,) the group of each cell
    rows: np.ndarray  # the cells grouped: group g is rows[offsets[g]:offsets[g + 1]]
    offsets: np.ndarray
    per_date: int

    @property
    def n_groups(self) -> int:
        return self.shape[0] * self.per_date

    def head(self, sessions: int) -> Grouping:
        """The same grouping of the first ``sessions`` sessions (cells keep their numbers)."""
        cells = sessions * self.shape[1]
        if self.per_date != 1:
            raise ValueError("head() takes a grouping by date")
        return Grouping(
            (sessions, self.shape[1]),
            self.codes[:cells],
            self.rows[:cells],
            self.offsets[: sessions + 1],
            1,
        )


def by_date(shape: tuple[int, int]) -> Grouping:
    """One group per session: the whole cross-section."""
    t, n = shape
    codes = np.repeat(np.arange(t, dtype=np.int64), n)
    offsets = np.arange(t + 1, dtype=np.int64) * n
    return Grouping(shape, codes, np.arange(t * n, dtype=np.int64), offsets, 1)


def by_date_and(shape: tuple[int, int], labels: np.ndarray, n_labels: int) -> Grouping:
    """One group per session and label (``labels``: one code in [0, n_labels) per ticker)."""
    t, _ = shape
    codes = (np.arange(t, dtype=np.int64)[:, None] * n_labels + labels[None, :]).ravel()
    rows = np.empty(codes.size, np.int64)
    offsets = np.zeros(t * n_labels + 1, np.int64)
    rank_kernels.group_rows(codes, rows, offsets)
    return Grouping(shape, codes, rows, offsets, n_labels)


@dataclass(frozen=True)
class Sorted:
    """A column's valid cells in ascending order within each group of a grouping."""

    values: np.ndarray  # (T * N,) the column, flattened
    order: np.ndarray
    counts: np.ndarray


def sort(values: np.ndarray, grouping: Grouping) -> Sorted:
    """Sort the finite cells of ``values`` (T x N) within each group, once."""
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    bitmap = np.packbits(np.isfinite(flat), bitorder="little")
    order = np.empty(flat.size, np.int64)
    counts = np.zeros(grouping.n_groups, np.int64)
    rank_kernels.group_order(flat, bitmap, grouping.rows, grouping.offsets, order, counts)
    return Sorted(flat, order, counts)


def ranks(
    column: Sorted, grouping: Grouping, keep: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Average ranks (1 = lowest) among the kept cells of each group, NaN elsewhere; or,
    into ``out`` (a buffer to reuse), the kept cells only, the others left as they were.

    ``keep`` (T * N bools) must hold only finite cells of the column.
    """
    out = np.full(column.values.size, np.nan) if out is None else out
    kernels.subset_ranks(column.values, column.order, grouping.offsets, column.counts, keep, out)
    return out


def correlations(
    x: np.ndarray, y: np.ndarray, keep: np.ndarray, grouping: Grouping
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of x and y (flat) over the kept cells of each group, and the count."""
    corr = np.empty(grouping.n_groups)
    count = np.empty(grouping.n_groups, np.int64)
    kernels.group_corr(x, y, keep, grouping.rows, grouping.offsets, corr, count)
    return corr, count


def means(x: np.ndarray, keep: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of x (flat) over the kept cells of each code; NaN for a code with none."""
    out = np.empty(n_groups)
    kernels.group_means(x, keep, codes, out)
    return out


def bucket_means(
    x: np.ndarray, bucket: np.ndarray, grouping: Grouping, quantiles: int
) -> np.ndarray:
    """Sessions x quantiles: the mean of x (flat) over each session's cells in each bucket."""
    out = np.empty((grouping.shape[0], quantiles))
    kernels.bucket_means(x, bucket, grouping.shape[1], out)
    return out


def buckets(rank: np.ndarray, grouping: Grouping, quantiles: int) -> np.ndarray:
    """Each cell's quantile 1..quantiles by its average rank (``ranks``) within its group, 0
    where unranked or the group has fewer than ``quantiles`` ranked cells: the rule is in
    ``kernels.quantile_buckets``."""
    out = np.empty(rank.size, np.int64)
    kernels.quantile_buckets(rank, grouping.codes, quantiles, out)
    return out
