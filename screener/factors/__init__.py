"""Factors: values (``Factor``) and cross-section verbs in base.py; the shipped set in library.py.

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
    per_ticker,
    rank,
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
    "lookup",
    "per_ticker",
    "rank",
    "winsorize",
    "zscore",
]
