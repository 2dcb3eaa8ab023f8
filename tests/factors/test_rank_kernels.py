"""The per-group sort order against numpy's stable argsort, on ties, nulls, signed zeros and
groups large enough for every radix pass."""

from __future__ import annotations

import numpy as np
import pytest

from screener.factors.rank_kernels import group_order


def _order(x: np.ndarray, valid: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    size = len(x) // n_groups
    offsets = np.arange(n_groups + 1, dtype=np.int64) * size
    order = np.full(len(x), -1, np.int64)
    counts = np.zeros(n_groups, np.int64)
    bitmap = np.packbits(valid, bitorder="little")
    group_order(x, bitmap, np.arange(len(x), dtype=np.int64), offsets, order, counts)
    return order, counts


@pytest.mark.parametrize("size", [1, 7, 3_000])
def test_each_groups_valid_rows_come_in_ascending_order(size: int) -> None:
    rng = np.random.default_rng(size)
    n_groups = 5
    x = rng.standard_normal(n_groups * size) * 10.0 ** rng.integers(-8, 8, n_groups * size)
    x[rng.random(len(x)) < 0.2] = 1.5  # ties
    x[::11] = -0.0
    x[5::13] = 0.0
    valid = rng.random(len(x)) > 0.1
    order, counts = _order(x, valid, n_groups)
    for g in range(n_groups):
        rows = np.arange(g * size, (g + 1) * size)
        kept = rows[valid[rows]]
        assert counts[g] == len(kept)
        got = order[g * size : g * size + counts[g]]
        assert sorted(got) == sorted(kept)  # every valid row once, no other
        assert np.all(np.diff(x[got]) >= 0)  # ascending (-0.0 == 0.0)
        want = kept[np.argsort(x[kept], kind="stable")]
        assert np.array_equal(x[got], x[want])
