"""What a vendor file's data say that its header does not: the volume unit and the price basis.

``volume_unit_evidence`` and ``price_basis_evidence`` read them from amount, volume and prices;
``scale_units`` and ``price_basis`` apply a layout's traits, let the data overrule a default,
and write each decision, with its evidence, into ``detected``.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from screener.errors import InputError
from screener.ingest.vendor_formats import BASIS_OVERRIDES, SHARES_PER, VendorFormat

# -- evidence from the data: volume unit and price basis -----------------------------------------
# amount / (volume x close) is about 1 when volume is in shares and prices are the traded ones
# (the volume unit's test). For the price basis the typical price (O+H+L+C)/4 replaces the close:
# over 6,252 windows of 1 to 3 years of 155 real raw tickers (2000-2021, >= 60 traded rows) the
# median log ratio of the first or last fifth never left +-0.7% (against the close: 150 windows
# beyond 0.6%). Prices rescaled by a corporate-action factor move it by that factor (a real qfq
# ChiNext file: 1.1%), lots move it by 100x.
BASIS_TOLERANCE = 0.008  # |median log ratio| above this at either end of a file means rescaled
MIN_ROWS_FOR_BASIS = 60


def volume_unit_evidence(frame: pl.DataFrame) -> tuple[str | None, str]:
    """('lots' | 'shares' | None, sentence) from the median of amount / (volume x close)."""
    if not {"amount", "volume", "close"} <= set(frame.columns):
        return None, "no amount column to check the volume unit against"
    ratio = frame.select(
        (pl.col("amount") / (pl.col("volume") * pl.col("close")))
        .filter((pl.col("volume") > 0) & (pl.col("amount") > 0) & (pl.col("close") > 0))
        .median()
    ).item()
    if ratio is None:
        return None, "no row with volume and amount to check the volume unit against"
    text = f"median amount / (volume x close) = {ratio:.3g}"
    if 0.5 <= ratio <= 2:
        return "shares", text
    if 50 <= ratio <= 200:
        return "lots", text
    return None, text + " (neither about 1 nor about 100)"


def price_basis_evidence(frame: pl.DataFrame, shares_per_unit: float) -> tuple[str | None, str]:
    """('raw' | 'forward-adjusted' | 'back-adjusted' | None, sentence), per ticker, from VWAP.

    Raw prices keep the VWAP (amount / volume) near the day's typical price (O+H+L+C)/4.
    Forward-adjusted (qfq) prices are scaled down before each ex-date, so old rows show a ratio
    above 1; back-adjusted (hfq) prices are scaled up after it, so recent rows show one below 1.
    The typical price, not the close: in a falling market the VWAP sits above the close for
    weeks (January 2016 looked 0.66% "adjusted" against the close).
    """
    if "amount" not in frame.columns or frame.get_column("amount").null_count() == frame.height:
        return None, "no amount column: cannot compare prices with amount / volume"
    vwap = pl.col("amount") / (pl.col("volume") * shares_per_unit)
    typical = (pl.col("open") + pl.col("high") + pl.col("low") + pl.col("close")) / 4
    logr = (vwap / typical).log()
    rows = frame.filter((pl.col("volume") > 0) & (pl.col("amount") > 0)).sort("ticker", "date")
    ends = rows.group_by("ticker").agg(
        pl.len().alias("n"),
        logr.head(pl.len().floordiv(5).clip(5, 250)).median().alias("head"),
        logr.tail(pl.len().floordiv(5).clip(5, 250)).median().alias("tail"),
    )
    ends = ends.filter(pl.col("n") >= MIN_ROWS_FOR_BASIS)
    if ends.is_empty():
        return None, f"fewer than {MIN_ROWS_FOR_BASIS} traded rows: too few to test"
    head, tail = ends.get_column("head").max(), ends.get_column("tail").min()
    assert isinstance(head, float) and isinstance(tail, float)
    pct = (
        f"VWAP/close is {math.exp(head) - 1:+.2%} in the first rows, "
        f"{math.exp(tail) - 1:+.2%} in the last"
    )
    tol = BASIS_TOLERANCE
    if abs(head) <= tol and abs(tail) <= tol:
        return "raw", pct + f" (both within ±{tol:.1%}: prices are the traded ones)"
    if head > tol and head >= tail:
        return "forward-adjusted", pct + ": old prices are scaled down (前复权, qfq)"
    if tail < -tol and head >= tail:
        return "back-adjusted", pct + ": recent prices are scaled up (后复权, hfq)"
    return None, pct + ": no consistent pattern"


def scale_units(
    frame: pl.DataFrame, layout: VendorFormat, kind: str, detected: dict[str, str]
) -> pl.DataFrame:
    """Volume to shares (integers) and amount to CNY; the data overrules a layout's default."""
    unit = layout.volume_unit
    found, evidence = volume_unit_evidence(frame) if kind == "bars" else (None, "")
    if found and unit != "detect" and found != unit:
        evidence += f"; the {layout.name} layout usually has {unit}, the data says {found}"
    unit = found or (unit if unit != "detect" else "shares")
    how = "detected" if found else "layout" if layout.volume_unit != "detect" else "assumed"
    label = f"{unit} (x{SHARES_PER[unit]:g} -> shares)" if unit != "shares" else "shares"
    detected["volume_unit"] = f"{label} ({how}{': ' + evidence if evidence else ''})"
    out = frame
    if "volume" in frame.columns:
        shares = pl.col("volume") * SHARES_PER[unit]
        fractional = frame.select((shares - shares.round(0)).abs().gt(1e-6).sum()).item()
        if fractional:
            detected["volume_rounded"] = f"{fractional} fractional volume(s) rounded to shares"
        out = out.with_columns(shares.round(0).alias("volume"))
    if "amount" in frame.columns and layout.amount_scale != 1.0:
        out = out.with_columns(pl.col("amount") * layout.amount_scale)
        detected["amount_unit"] = f"x{layout.amount_scale:g} -> CNY"
    return out


def price_basis(
    frame: pl.DataFrame,
    layout: VendorFormat,
    fmt: str,
    kind: str,
    path: Path,
    detected: dict[str, str],
) -> str:
    """'raw', 'forward-adjusted' or 'back-adjusted', and why, into ``detected``."""
    if kind != "bars":
        basis, why = "raw", "index points and futures prices are not adjusted"
    elif fmt in BASIS_OVERRIDES:
        basis, why = BASIS_OVERRIDES[fmt], f"stated by --format {fmt}"
    elif layout.price_basis != "detect":
        basis, why = layout.price_basis, layout.basis_note or f"the {layout.name} layout is raw"
    elif (
        "prev_close" in frame.columns and frame.get_column("prev_close").null_count() < frame.height
    ):
        basis, why = "raw", "the file carries prev_close (前收盘价), which only raw data has"
    else:
        found, evidence = price_basis_evidence(frame, 1.0)
        if found is None and layout.name == "akshare":
            raise InputError(
                f"cannot tell whether the prices are raw or adjusted ({evidence})",
                path=path,
                field="close",
                hint="pass --format akshare-raw or --format akshare-qfq",
            )
        basis = found or "raw"
        why = f"detected: {evidence}" if found else f"assumed raw: {evidence}"
    detected["price_basis"] = basis
    detected["price_basis_evidence"] = why
    return basis
