"""Factors: values (``Factor``) and cross-section verbs in base.py; the shipped set in library.py.

Time-series verbs for new factors: ``windowed`` and ``lag`` (finite windows down the
ticker-sorted column), the per-ticker ``rolling_*`` statistics and ``wilder_mean`` (numba
kernels, kernels.py), ``per_ticker`` for anything else.

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
    lag,
    per_ticker,
    rank,
    rolling_beta,
    rolling_corr,
    rolling_cov,
    rolling_mean,
    rolling_std,
    rolling_var,
    wilder_mean,
    windowed,
    winsorize,
    zscore,
)
from screener.factors.library import REGISTRY, describe, lookup

__all__ = [
    "REGISTRY",
    "Factor",
    "FactorError",
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
