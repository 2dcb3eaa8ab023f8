"""Metals and their commodity series: the link from a stock's metal tag to a price series.

``settles_after_close`` marks venues that settle after the Beijing close (LME, COMEX, FX): a
value dated t there is known to A-share traders only from the next session (see panel.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    series_id: str
    name: str
    exchange: str
    unit: str
    currency: str
    settles_after_close: bool


SERIES: dict[str, Series] = {
    s.series_id: s
    for s in (
        Series("SHFE.CU", "SHFE copper continuous", "SHFE", "CNY/t", "CNY", False),
        Series("SHFE.AL", "SHFE aluminium continuous", "SHFE", "CNY/t", "CNY", False),
        Series("SHFE.ZN", "SHFE zinc continuous", "SHFE", "CNY/t", "CNY", False),
        Series("SHFE.SN", "SHFE tin continuous", "SHFE", "CNY/t", "CNY", False),
        Series("SHFE.NI", "SHFE nickel continuous", "SHFE", "CNY/t", "CNY", False),
        Series("SHFE.AU", "SHFE gold continuous", "SHFE", "CNY/g", "CNY", False),
        Series("SHFE.AG", "SHFE silver continuous", "SHFE", "CNY/kg", "CNY", False),
        Series("LME.CU.CASH", "LME copper cash", "LME", "USD/t", "USD", True),
        Series("LME.AL.CASH", "LME aluminium cash", "LME", "USD/t", "USD", True),
        Series("COMEX.GC", "COMEX gold front month", "COMEX", "USD/oz", "USD", True),
        Series("COMEX.SI", "COMEX silver front month", "COMEX", "USD/oz", "USD", True),
        Series("GFEX.LC", "GFEX lithium carbonate continuous", "GFEX", "CNY/t", "CNY", False),
        Series("SMM.NDPR", "NdPr oxide spot", "SMM", "CNY/t", "CNY", False),
        Series("SMM.CO", "cobalt metal spot", "SMM", "CNY/t", "CNY", False),
        Series("SMM.W", "tungsten concentrate spot", "SMM", "CNY/t", "CNY", False),
        Series("FX.USDCNY", "USD/CNY", "FX", "CNY per USD", "CNY", True),
    )
}

# Metal tag -> the series an A-share trader watches for it (domestic first: known at the close).
METAL_SERIES: dict[str, str] = {
    "copper": "SHFE.CU",
    "aluminium": "SHFE.AL",
    "zinc": "SHFE.ZN",
    "lead": "SHFE.ZN",
    "tin": "SHFE.SN",
    "nickel": "SHFE.NI",
    "gold": "SHFE.AU",
    "silver": "SHFE.AG",
    "lithium": "GFEX.LC",
    "rare_earth": "SMM.NDPR",
    "magnet": "SMM.NDPR",
    "cobalt": "SMM.CO",
    "tungsten": "SMM.W",
}

METALS: tuple[str, ...] = tuple(METAL_SERIES)


def series_for(metals: list[str] | None) -> str | None:
    """The primary series of a stock: that of its first metal tag that has one."""
    for metal in metals or []:
        if metal in METAL_SERIES:
            return METAL_SERIES[metal]
    return None
