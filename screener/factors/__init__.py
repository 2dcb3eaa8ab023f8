"""Factors: values (``Factor``, base.py) built from terms that carry their own history (term.py).

Time-series verbs for new factors, each deriving the lookback from its window (timeseries.py):
``lag`` and ``windowed`` (finite windows down the ticker-sorted column), the per-ticker
``rolling_*`` statistics and ``wilder_mean`` (numba kernels, kernels.py), ``per_ticker`` for
anything else. Cross-section verbs (``rank``, ``zscore``, ...) and ``composite`` are in base.py;
the shipped set in library.py; qlib's expression language in expr/.

>>> from screener.factors import REGISTRY, rank
>>> REGISTRY["ret_20d"].lookback
21
"""

from __future__ import annotations

from screener.factors.base import (
    Factor,
    FactorError,
    composite,
    demean,
    rank,
    winsorize,
    zscore,
)
from screener.factors.library import REGISTRY, describe, lookup
from screener.factors.term import Term
from screener.factors.timeseries import (
    lag,
    per_ticker,
    rolling_beta,
    rolling_corr,
    rolling_cov,
    rolling_mean,
    rolling_std,
    rolling_var,
    wilder_mean,
    windowed,
)

__all__ = [
    "REGISTRY",
    "Factor",
    "FactorError",
    "Term",
    "composite",
    "demean",
    "describe",
    "lag",
    "lookup",
    "per_ticker",
    "rank",
    "rolling_beta",
    "rolling_corr",
    "rolling_cov",
    "rolling_mean",
    "rolling_std",
    "rolling_var",
    "wilder_mean",
    "windowed",
    "winsorize",
    "zscore",
]
