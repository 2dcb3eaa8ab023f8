"""Live source: akshare (optional extra ``live``), imported only inside the fetch functions.

Each source is a network ``fetch_*`` that returns what a pure ``map_*`` makes of akshare's
pandas frame: a polars frame conformed to the store table and validated like a vendor file.
Tests run the ``map_*`` functions on fixture frames and pass a failing ``fetch`` to check the
offline message; nothing here is called at import time.

- Stock bars: ``stock_zh_a_hist`` (Eastmoney) twice, unadjusted and 后复权 (hfq);
  adj_factor = hfq close / raw close, so adjusted = raw x adj_factor; volume in lots x 100.
- Shenwan indices: ``index_hist_sw(symbol, period="day")``.
- SHFE/GFEX continuous futures: ``futures_zh_daily_sina(symbol="CU0")``; not roll-adjusted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import polars as pl

from screener import metals, rules, schema
from screener.errors import DataUnavailableError, InputError
from screener.ingest import validate as v
from screener.ingest import vendor_formats as vf
from screener.ingest.bars import add_bar_flags
from screener.ingest.importer import ImportResult, Source, write_rows
from screener.ingest.merge import Prefer

if TYPE_CHECKING:
    import pandas as pd

    from screener.store import Store

Fetch = Callable[..., Any]  # akshare's function, or a stand-in with the same keywords

STOCK_COLUMNS = {
    "日期": "date",
    "开盘": "open",
    "收盘": "close",
    "最高": "high",
    "最低": "low",
    "成交量": "volume",
    "成交额": "amount",
    "涨跌额": "change",
}
SW_COLUMNS = {
    "代码": "index_code",
    "日期": "date",
    "收盘": "close",
    "开盘": "open",
    "最高": "high",
    "最低": "low",
    "成交量": "volume",
    "成交额": "amount",
}
# Shenwan publishes index volume in 10^4 shares and turnover in 10^8 CNY. Not documented by
# akshare: inferred from magnitudes and checked by ``_plausible_turnover`` on every fetch.
SW_VOLUME_SCALE = vf.SHARES_PER[vf.by_name("sw-index").volume_unit]
SW_AMOUNT_SCALE = vf.by_name("sw-index").amount_scale
FUTURES_COLUMNS = {"date": "date", "open": "open", "high": "high", "low": "low", "close": "close"}
FUTURES_COLUMNS |= {"volume": "volume", "hold": "open_interest", "settle": "settle"}
# Sina continuous-contract symbols for our series ids.
FUTURES_SYMBOLS = {
    "SHFE.CU": "CU0",
    "SHFE.AL": "AL0",
    "SHFE.ZN": "ZN0",
    "SHFE.PB": "PB0",
    "SHFE.SN": "SN0",
    "SHFE.NI": "NI0",
    "SHFE.AU": "AU0",
    "SHFE.AG": "AG0",
    "GFEX.LC": "LC0",
}


# -- the network door ---------------------------------------------------------------------------
def _akshare() -> ModuleType:
    try:
        import akshare
    except ImportError:
        raise DataUnavailableError(
            "akshare is not installed: pip install 'screener[live]'"
        ) from None
    return akshare


def _call(fetch: Fetch, what: str, **kwargs: Any) -> Any:
    """Run one akshare request; network and upstream failures become one-sentence errors."""
    try:
        frame = fetch(**kwargs)
    except OSError as exc:  # ConnectionError, TimeoutError and requests' errors are OSErrors
        raise DataUnavailableError(
            f"cannot reach the akshare data source for {what} (network unreachable): {exc}"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataUnavailableError(
            f"the akshare data source returned no usable data for {what}: {exc!r}"
        ) from None
    if frame is None or len(frame) == 0:
        raise DataUnavailableError(f"the akshare data source returned no rows for {what}")
    return frame


def _yyyymmdd(day: dt.date | None, default: str) -> str:
    return day.strftime("%Y%m%d") if day else default


# -- stock bars ---------------------------------------------------------------------------------
def fetch_stock_bars(
    ticker: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    fetch: Fetch | None = None,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
) -> pl.DataFrame:
    """Raw daily bars of one A-share (600362.SH) with adj_factor, ready for ``bars_daily``."""
    code = vf.stock_ticker(ticker)
    if code is None:
        raise InputError(f"cannot read the ticker '{ticker}'")
    fn = fetch or _akshare().stock_zh_a_hist
    args = {
        "symbol": code[:6],
        "period": "daily",
        "start_date": _yyyymmdd(start, "19700101"),
        "end_date": _yyyymmdd(end, "20500101"),
    }
    raw = _call(fn, f"{code} bars", adjust="", **args)
    hfq = _call(fn, f"{code} back-adjusted bars", adjust="hfq", **args)
    return map_stock_bars(raw, hfq, ticker=code, st_switch=st_switch)


def map_stock_bars(
    raw: pd.DataFrame | pl.DataFrame,
    hfq: pd.DataFrame | pl.DataFrame,
    *,
    ticker: str,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
) -> pl.DataFrame:
    """``stock_zh_a_hist`` frames (adjust='' and 'hfq') -> validated ``bars_daily`` rows.

    prev_close is close - 涨跌额: Eastmoney measures the change from the exchange pre-close, the
    ex-rights reference price on ex-dates [M: not verifiable offline; the previous close is used
    where 涨跌额 is missing]. is_st is unknown (no point-in-time name), so limits assume not ST.
    """
    bars = _rename(raw, STOCK_COLUMNS, ("date", "open", "high", "low", "close", "volume"))
    adj = _rename(hfq, {"日期": "date", "收盘": "hfq_close"}, ("date", "hfq_close"))
    bars = bars.join(adj, on="date", how="left").sort("date")
    previous = pl.col("close").shift(1)
    if "change" in bars.columns:
        from_change = (pl.col("close") - pl.col("change")).round(2)  # prices are in fen
        prev_close = pl.coalesce(from_change, previous)
    else:
        prev_close = previous
    bars = bars.with_columns(
        pl.lit(ticker).alias("ticker"),
        prev_close.alias("prev_close"),
        (pl.col("volume") * 100).round(0).alias("volume"),
        (pl.col("hfq_close") / pl.col("close")).alias("adj_factor"),
    )
    missing = bars.filter(pl.col("adj_factor").is_null())
    if missing.height:
        raise InputError(
            f"no back-adjusted close for {missing.height} date(s), the first {missing['date'][0]}",
            path=f"akshare stock_zh_a_hist {ticker}",
            field="adj_factor",
        )
    bars = add_bar_flags(bars, st_switch=st_switch)
    return _checked(bars, "bars", f"akshare stock_zh_a_hist {ticker}")


# -- Shenwan indices ----------------------------------------------------------------------------
def fetch_sw_index(
    code: str = schema.SECTOR_INDEX,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    fetch: Fetch | None = None,
) -> pl.DataFrame:
    """Daily bars of a Shenwan index (801050.SI) for ``index_daily``."""
    index = vf.index_code(code)
    if index is None or not index.endswith(".SI"):
        raise InputError(f"'{code}' is not a Shenwan index code like 801050.SI")
    fn = fetch or _akshare().index_hist_sw
    frame = map_sw_index(_call(fn, f"Shenwan index {index}", symbol=index[:6], period="day"))
    if start:
        frame = frame.filter(pl.col("date") >= start)
    return frame.filter(pl.col("date") <= end) if end else frame


def map_sw_index(frame: pd.DataFrame | pl.DataFrame) -> pl.DataFrame:
    """``index_hist_sw`` frame -> validated ``index_daily`` rows (volume in shares, CNY)."""
    out = _rename(frame, SW_COLUMNS, ("index_code", "date", "close"))
    out = out.with_columns(
        vf.normalise_keys(out.get_column("index_code").cast(pl.String), "index"),
        *[pl.col(c) * s for c, s in (("volume", SW_VOLUME_SCALE), ("amount", SW_AMOUNT_SCALE))],
    )
    _plausible_turnover(out)
    return _checked(out, "index", "akshare index_hist_sw")


def _plausible_turnover(frame: pl.DataFrame) -> None:
    """Guard the assumed units: the average traded price must look like a share price."""
    price = frame.select((pl.col("amount") / pl.col("volume")).median()).item()
    if price is not None and not 1.0 <= price <= 1000.0:
        raise InputError(
            f"index turnover / volume is {price:.4g} CNY per share: the units of 成交量/成交额 "
            "have changed",
            path="akshare index_hist_sw",
            field="volume",
        )


# -- futures ------------------------------------------------------------------------------------
def fetch_futures(series_id: str, *, fetch: Fetch | None = None) -> pl.DataFrame:
    """Sina continuous futures (SHFE.CU -> CU0) for ``series_daily``; every row Sina has."""
    symbol = FUTURES_SYMBOLS.get(series_id)
    if symbol is None:
        known = ", ".join(FUTURES_SYMBOLS)
        raise InputError(f"no Sina continuous contract for '{series_id}' (known: {known})")
    fn = fetch or _akshare().futures_zh_daily_sina
    return map_futures(_call(fn, f"{series_id} futures", symbol=symbol), series_id=series_id)


def map_futures(frame: pd.DataFrame | pl.DataFrame, *, series_id: str) -> pl.DataFrame:
    """``futures_zh_daily_sina`` frame -> validated ``series_daily`` rows.

    Volume and open interest are in lots; a settle of 0 means "none" at Sina and becomes null.
    """
    out = _rename(frame, FUTURES_COLUMNS, ("date", "close"))
    spec = metals.SERIES.get(series_id)
    out = out.with_columns(
        pl.lit(series_id).alias("series_id"),
        pl.lit(spec.unit if spec else None, pl.String).alias("unit"),
        pl.lit(spec.currency if spec else None, pl.String).alias("currency"),
    )
    if "settle" in out.columns:
        out = out.with_columns(pl.when(pl.col("settle") > 0).then(pl.col("settle")).alias("settle"))
    return _checked(out, "series", f"akshare futures_zh_daily_sina {series_id}")


# -- writing ------------------------------------------------------------------------------------
def upsert_fetched(
    store: Store, frames: Mapping[str, Sequence[pl.DataFrame]], *, prefer: Prefer = "refuse"
) -> dict[str, ImportResult]:
    """Merge fetched frames by table in one transaction (one import per table); a table with
    none is left alone. Values akshare gives are marked given; the rest is derived."""
    results: dict[str, ImportResult] = {}
    with store.transaction():
        for table, parts in frames.items():
            if parts:
                data = pl.concat(parts)
                kind = KIND_OF[table]
                spec = schema.TABLES[table]
                source = Source("akshare", f"akshare {kind}", kind)
                results[table] = write_rows(store, spec, _given(data, spec), source, prefer=prefer)
    return results


KIND_OF = {"bars_daily": "bars", "index_daily": "index", "series_daily": "series"}


def _given(frame: pl.DataFrame, spec: schema.Table) -> pl.DataFrame:
    """Every non-null value akshare gave, except what the store derives (bars: adj_factor)."""
    return frame.with_columns(spec.given_expr(frame.columns).alias("given"))


# -- shared -------------------------------------------------------------------------------------
def _rename(
    frame: pd.DataFrame | pl.DataFrame, columns: dict[str, str], required: tuple[str, ...]
) -> pl.DataFrame:
    """Polars frame with our column names; dates as Date and numbers as Float64."""
    data = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
    data = data.select(
        [pl.col(src).alias(dst) for src, dst in columns.items() if src in data.columns]
    )
    absent = [c for c in required if c not in data.columns]
    if absent:
        raise DataUnavailableError(
            f"the akshare frame lacks column(s) {absent}: did akshare change?"
        )
    date = pl.col("date")
    if data.schema["date"] not in (pl.Date, pl.Datetime):
        date = date.cast(pl.String).str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    numbers = [c for c in data.columns if c not in ("date", "index_code")]
    return data.with_columns(date.cast(pl.Date), *[pl.col(c).cast(pl.Float64) for c in numbers])


def _checked(frame: pl.DataFrame, kind: str, source: str) -> pl.DataFrame:
    """Validate like a vendor file (line = row number) and conform to the table."""
    return v.validated(frame, kind=kind, source=source)
