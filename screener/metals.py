"""Metals and their commodity series: which series stand for a metal, and when each is known.

Each metal maps to an ordered tuple of series (``METAL_SERIES``): the domestic contract first
(known at the Beijing close), then foreign ones to fall back on where it is absent or stale.
``point_in_time.metal_prices`` splices them into one price per metal and session.

``settles_after_close`` marks venues that settle after the Beijing close (LME, COMEX, FX): a
value dated t there is known to A-share traders only from the next session. A series this
registry does not know is treated the same way (``known_next_session``): late is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    series_id: str
    name: str
    exchange: str
    unit: str
    currency: str
    settles_after_close: bool


def _domestic(series_id: str, name: str, unit: str = "CNY/t") -> Series:
    return Series(series_id, name, series_id.split(".")[0], unit, "CNY", False)


def _foreign(series_id: str, name: str, unit: str) -> Series:
    return Series(series_id, name, series_id.split(".")[0], unit, "USD", True)


_LME = {"CU": "copper", "AL": "aluminium", "ZN": "zinc", "PB": "lead", "NI": "nickel", "SN": "tin"}

SERIES: dict[str, Series] = {
    s.series_id: s
    for s in (
        _domestic("SHFE.CU", "SHFE copper continuous"),
        _domestic("SHFE.AL", "SHFE aluminium continuous"),
        _domestic("SHFE.ZN", "SHFE zinc continuous"),
        _domestic("SHFE.PB", "SHFE lead continuous"),
        _domestic("SHFE.SN", "SHFE tin continuous"),
        _domestic("SHFE.NI", "SHFE nickel continuous"),
        _domestic("SHFE.AU", "SHFE gold continuous", "CNY/g"),
        _domestic("SHFE.AG", "SHFE silver continuous", "CNY/kg"),
        _domestic("GFEX.LC", "GFEX lithium carbonate continuous"),
        _domestic("SMM.NDPR", "NdPr oxide spot"),
        _domestic("SMM.CO", "cobalt metal spot"),
        _domestic("SMM.W", "tungsten concentrate spot"),
        *(_foreign(f"LME.{c}.CASH", f"LME {m} cash", "USD/t") for c, m in _LME.items()),
        *(_foreign(f"LME.{c}.3M", f"LME {m} 3-month", "USD/t") for c, m in _LME.items()),
        _foreign("COMEX.HG", "COMEX copper front month", "USD/lb"),
        _foreign("COMEX.GC", "COMEX gold front month", "USD/troy oz"),
        _foreign("COMEX.SI", "COMEX silver front month", "USD/troy oz"),
        Series("FX.USDCNY", "USD/CNY", "FX", "CNY per USD", "CNY", True),
    )
}
FX = "FX.USDCNY"  # converts USD series to CNY (as known each session, itself a session late)

# Metal tag -> its series, most preferred first: the first known on a session speaks for it.
METAL_SERIES: dict[str, tuple[str, ...]] = {
    "copper": ("SHFE.CU", "LME.CU.CASH", "COMEX.HG"),
    "aluminium": ("SHFE.AL", "LME.AL.CASH"),
    "zinc": ("SHFE.ZN", "LME.ZN.CASH"),
    "lead": ("SHFE.PB", "LME.PB.CASH"),
    "tin": ("SHFE.SN", "LME.SN.CASH"),
    "nickel": ("SHFE.NI", "LME.NI.CASH"),
    "gold": ("SHFE.AU", "COMEX.GC"),
    "silver": ("SHFE.AG", "COMEX.SI"),
    "lithium": ("GFEX.LC",),
    "rare_earth": ("SMM.NDPR",),
    "magnet": ("SMM.NDPR",),
    "cobalt": ("SMM.CO",),
    "tungsten": ("SMM.W",),
}

METALS: tuple[str, ...] = tuple(METAL_SERIES)


def metal_of(tags: Sequence[str] | None) -> str | None:
    """The metal whose price a stock follows: its first metal tag that has series."""
    return next((m for m in tags or () if m in METAL_SERIES), None)


def known_next_session(series_id: str) -> bool:
    """True if a value dated t is first known on the session after t (unknown ids: True)."""
    spec = SERIES.get(series_id)
    return spec is None or spec.settles_after_close


def in_usd(series_id: str) -> bool:
    return series_id in SERIES and SERIES[series_id].currency == "USD"


def series_needed(metals: Iterable[str]) -> list[str]:
    """Every series the metals' prices read, in table order, plus FX if any is in USD."""
    ids = list(dict.fromkeys(s for m in metals for s in METAL_SERIES[m]))
    return [*ids, FX] if any(map(in_usd, ids)) else ids


def metals_served(series_id: str) -> list[str]:
    """The metals a series stands for (in table order)."""
    return [m for m, ids in METAL_SERIES.items() if series_id in ids]
