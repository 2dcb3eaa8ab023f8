"""Labels: forward returns, what a trade decided at the close of t could earn.

Factor values on t use data known at the close of t (engine.py); a trade on them fills at the
next session. ``forward_returns`` therefore starts from the open of t+1 by default: bought at
the open of t+1, sold at the open of t+1+h (``adj_open[t+1+h] / adj_open[t+1] - 1``), so every
horizon holds h sessions. With ``entry="close"`` it is close to close, ``adj_close[t+h] /
adj_close[t] - 1``. ``buyable`` says whether a buyer could get in at that entry: the name trades
on t+1 and does not open at its up limit (``can_buy_open``), or for close entry, it trades on t
and does not close at its up limit (``can_buy_close``). Research excludes names that are not
buyable unless asked to keep them.

Labels are only ever compared with factor values; nothing that computes a factor reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ENTRIES = ("open", "close")
HORIZONS = (1, 5, 20, 60)  # sessions: a day, a week, a month, a quarter


def label(horizon: int) -> str:
    """The column of one horizon: ``fwd_5d``."""
    return f"fwd_{horizon}d"


def forward_returns(
    panel: pl.DataFrame, horizons: Sequence[int] = HORIZONS, *, entry: str = "open"
) -> pl.DataFrame:
    """ticker, date, one ``fwd_<h>d`` per horizon (null where the future is not in the panel),
    and ``buyable``.

    ``panel`` holds ``adj_open``, ``adj_close``, ``can_buy_open`` and ``can_buy_close`` with
    one row per ticker and session (panel.py builds it so): shifting a ticker's rows by k is
    then k sessions ahead. A suspended session carries the last close as its price.

    Examples
    --------
    >>> p = pl.DataFrame({"ticker": "A", "date": [1, 2, 3], "adj_open": [10.0, 11.0, 12.1],
    ...                   "adj_close": [10.0, 11.0, 11.0], "can_buy_open": True,
    ...                   "can_buy_close": True})
    >>> forward_returns(p, [1]).get_column("fwd_1d").round(6).to_list()
    [0.1, None, None]
    """
    if entry not in ENTRIES:
        raise ValueError(f"entry must be one of {ENTRIES}, got {entry!r}")
    if not horizons or min(horizons) < 1 or len(set(horizons)) != len(horizons):
        raise ValueError(f"horizons must be distinct session counts >= 1, got {list(horizons)}")
    price, lead, can_buy = (
        ("adj_open", 1, "can_buy_open") if entry == "open" else ("adj_close", 0, "can_buy_close")
    )
    in_order = (pl.col("ticker") > pl.col("ticker").shift(1)) | (
        (pl.col("ticker") == pl.col("ticker").shift(1)) & (pl.col("date") > pl.col("date").shift(1))
    )
    if not panel.select(in_order.slice(1).all()).item():
        raise ValueError("the panel must be sorted by ticker, then date (panel.py makes it so)")
    run = pl.col("_ticker_run")  # shifting the whole column is k rows ahead within a ticker

    def ahead(column: str, k: int) -> pl.Expr:
        return pl.when(run.shift(-k) == run).then(pl.col(column).shift(-k))

    start = ahead(price, lead)
    return (
        panel.lazy()
        .select("ticker", "date", price, can_buy, _ticker_run=pl.col("ticker").rle_id())
        .select(
            "ticker",
            "date",
            *((ahead(price, lead + h) / start - 1.0).alias(label(h)) for h in horizons),
            buyable=ahead(can_buy, lead).fill_null(False),
        )
        .collect()
    )
