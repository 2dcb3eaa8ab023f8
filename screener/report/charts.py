"""Report charts: matplotlib figures turned into inline SVG text (HTML) or PNG bytes (e-mail).

No pyplot: every figure gets its own Agg canvas, so nothing touches matplotlib's global
backend (a notebook keeps its own), there is no figure registry to leak, and no display is
needed. Labels stay ASCII (tickers, not Chinese names): matplotlib's bundled fonts have no CJK
glyphs. A gain and a loss take the colours of ``colors.Colors`` (red a gain by default, the
A-share convention); markers that are neither use ``MARK``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import PercentFormatter

from screener.report.colors import A_SHARE, Colors

MARK = "#111111"  # a marker that is neither a gain nor a loss (a mean, the best cell)
STRATEGY = "#1f3b73"
PALETTE = ("#e08214", "#7f7f7f", "#8e44ad", "#17becf", "#bcbd22", "#8c564b", "#e377c2")
WIDTH = 11.0  # inches: 1056 px, about the page column, so text shows near its own size
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


def gain_loss(colors: Colors) -> LinearSegmentedColormap:
    """A diverging colour map: a loss's colour, white at zero, a gain's."""
    return LinearSegmentedColormap.from_list(
        "gain_loss", [colors.down.hex, "#ffffff", colors.up.hex]
    )


# -- output ----------------------------------------------------------------------------------
def to_svg(fig: Figure, *, prefix: str) -> str:
    """An ``<svg>`` element to paste into HTML: no XML prolog, no namespace URLs.

    ``prefix`` makes every element id unique on a page holding several charts; the element
    shrinks to its container through the ``chart`` CSS class but is never enlarged.
    """
    buf = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "screener"}):  # text, stable ids
        fig.savefig(buf, format="svg", metadata=_SVG_METADATA)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    head_end = svg.index(">") + 1
    width = re.search(r'width="([0-9.]+pt)"', svg[:head_end])
    viewbox = re.search(r'viewBox="[^"]*"', svg[:head_end])
    size = f' style="max-width: {width.group(1)}"' if width else ""  # never scaled up
    head = f'<svg {viewbox.group(0) if viewbox else ""} class="chart" role="img"{size}>'
    body = re.sub(r'(id="|href="#|url\(#)', rf"\1{prefix}-", svg[head_end:])
    return head + body


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """PNG bytes, e.g. for an inline e-mail image."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def ascii_label(text: str) -> str:
    """Drop characters the bundled fonts cannot draw (CJK) rather than print empty boxes."""
    kept = text.encode("ascii", "ignore").decode().strip()
    return kept or "?"


def _figure(height: float, width: float = WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # explicit raster backend; SVG output switches canvas per save
    return fig


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _signed(values: np.ndarray, colors: Colors) -> np.ndarray:
    """Each value's colour: a gain's from zero up, a loss's below."""
    return np.where(values >= 0, colors.up.hex, colors.down.hex)


def _style(ax: Axes) -> None:
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# -- backtest charts ---------------------------------------------------------------------------
def rebase_on(dates: pl.Series, series: pl.DataFrame) -> np.ndarray:
    """``series`` (date, close) as of each of ``dates``, divided by its first value among them.

    As-of backward: a session the series lacks takes its last earlier close, never a later one;
    dates before the series starts are NaN (a gap in the plot).
    """
    left = pl.DataFrame({"date": dates}).with_row_index("_i")
    joined = left.sort("date").join_asof(
        series.select("date", pl.col("close").cast(pl.Float64)).sort("date"),
        on="date",
        strategy="backward",
    )
    close = joined.sort("_i").get_column("close")
    first = close.drop_nulls()
    if first.is_empty() or first[0] == 0:
        return np.full(len(dates), np.nan)
    return (close / first[0]).fill_null(np.nan).to_numpy()


def equity_figure(equity: pl.DataFrame, benchmarks: Mapping[str, pl.DataFrame]) -> Figure:
    """Growth of 1: the strategy (date, value) and each benchmark (date, close) from its start."""
    eq = equity.sort("date")
    dates = eq.get_column("date")
    fig = _figure(3.6)
    ax = fig.add_subplot()
    for i, (name, frame) in enumerate(benchmarks.items()):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(dates, rebase_on(dates, frame), color=color, lw=1.1, label=ascii_label(name))
    values = eq.get_column("value").cast(pl.Float64)
    ax.plot(dates, (values / values[0]).to_numpy(), color=STRATEGY, lw=1.8, label="strategy")
    ax.axhline(1.0, color="#999999", lw=0.6)
    ax.set_ylabel("growth of 1")
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    _date_axis(ax)
    _style(ax)
    return fig


def drawdown_figure(
    drawdown: pl.DataFrame,
    *,
    worst: tuple[str | None, str | None] | None = None,
    colors: Colors = A_SHARE,
) -> Figure:
    """Underwater curve (date, drawdown); ``worst`` = (start, end) ISO dates shades the maximum."""
    dates = drawdown.get_column("date")
    fig = _figure(2.2)
    ax = fig.add_subplot()
    dd = drawdown.get_column("drawdown").to_numpy()
    ax.fill_between(dates, dd, 0.0, color=colors.down.hex, alpha=0.35, lw=0)
    ax.plot(dates, dd, color=colors.down.hex, lw=0.9)
    if worst and worst[0]:
        end = np.datetime64(worst[1]) if worst[1] else dates.max()
        ax.axvspan(np.datetime64(worst[0]), end, color="#999999", alpha=0.15, lw=0)  # type: ignore[arg-type]
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("drawdown")
    _date_axis(ax)
    _style(ax)
    return fig


def monthly_figure(monthly: pl.DataFrame, *, colors: Colors = A_SHARE) -> Figure:
    """Year x month heatmap of (year, month, ret), plus a compounded year column, annotated."""
    years = sorted(monthly.get_column("year").unique().to_list())
    grid = np.full((len(years), 13), np.nan)
    for year, month, ret in monthly.select("year", "month", "ret").iter_rows():
        if ret is not None:
            grid[years.index(year), month - 1] = ret
    for i in range(len(years)):
        row = grid[i, :12]
        if np.isfinite(row).any():
            grid[i, 12] = np.prod(1.0 + row[np.isfinite(row)]) - 1.0
    fig = _figure(0.9 + 0.36 * len(years))
    ax = fig.add_subplot()
    _heatmap(ax, grid, fmt="{:+.1%}", cmap=gain_loss(colors), centred=True)
    ax.set_xticks(range(13), [*_MONTHS, "Year"])
    ax.set_yticks(range(len(years)), [str(y) for y in years])
    ax.axvline(11.5, color="#ffffff", lw=4)
    ax.tick_params(length=0)
    return fig


def _heatmap(ax: Axes, grid: np.ndarray, *, fmt: str, cmap: str | Colormap, centred: bool) -> None:
    """Colour cells, write each value in it; NaN cells stay blank."""
    finite = grid[np.isfinite(grid)]
    if centred:
        span = float(np.abs(finite).max()) if finite.size else 0.0
        span = span or 0.01
        norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        norm = Normalize(lo, hi if hi > lo else lo + 1e-9)
    rows, cols = grid.shape
    edges_x, edges_y = np.arange(cols + 1) - 0.5, np.arange(rows + 1) - 0.5
    masked = np.ma.masked_invalid(grid)
    ax.pcolormesh(edges_x, edges_y, masked, cmap=cmap, norm=norm, edgecolors="#ffffff", lw=1)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)  # first row on top, like a table
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            dark = abs(norm(value) - 0.5) > 0.35 if centred else norm(value) < 0.45
            color = "#ffffff" if dark else "#222222"
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8.5, color=color)
    for side in ax.spines.values():
        side.set_visible(False)


def event_car_figure(
    car: pl.DataFrame, *, entry_at: str = "open", model: str = "market", level: float = 0.95
) -> Figure:
    """Mean CAR by relative day (rel_day, role, car, lo, hi): the selection and reaction days
    grey, as context; the holding days from the entry fill with their band. Marks day 0 (the
    close that picked the names) and the entry fill (the open or the close of day 1)."""
    car = car.sort("rel_day")
    if "role" not in car.columns:  # a run recorded before the windows had roles
        car = car.with_columns(role=pl.lit("holding"))
    fig = _figure(3.0)
    ax = fig.add_subplot()
    context = car.filter(pl.col("role") != "holding")
    held = car.filter(pl.col("role") == "holding")
    days = held.get_column("rel_day").to_numpy()
    lo, hi = held.get_column("lo").to_numpy(), held.get_column("hi").to_numpy()
    band = f"{level:.0%} band (episodes as units)"
    ax.fill_between(days, lo, hi, color=STRATEGY, alpha=0.18, lw=0, label=band)
    held_line = held.get_column("car").to_numpy()
    ax.plot(days, held_line, color=STRATEGY, lw=1.8, label="holding: CAR from the entry fill")
    ax.plot(
        context.get_column("rel_day").to_numpy(),
        context.get_column("car").to_numpy(),
        color="#999999",
        lw=1.4,
        label="selection and reaction: context, not tested",
    )
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.axvline(0.0, color="#555555", lw=0.8, ls="--", label="day 0: trigger (names picked)")
    entry = 0.5 if entry_at == "open" else 1.0
    ax.axvline(entry, color=PALETTE[0], lw=0.8, ls=":", label=f"entry fill ({entry_at} of day 1)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel("sessions relative to the trigger")
    ax.set_title(f"mean cumulative abnormal return, {ascii_label(model)} model", fontsize=9)
    ax.legend(loc="best", frameon=False, fontsize=8)
    _style(ax)
    return fig


def sweep_figure(sweep: pl.DataFrame, *, x: str, y: str, metric: str) -> Figure:
    """Metric over a two-parameter grid (mean when other parameters vary); best cell framed."""
    cells = sweep.group_by(x, y).agg(pl.col(metric).cast(pl.Float64).mean())
    xs = sorted(cells.get_column(x).unique().to_list())
    ys = sorted(cells.get_column(y).unique().to_list())
    grid = np.full((len(ys), len(xs)), np.nan)
    for xv, yv, value in cells.select(x, y, metric).iter_rows():
        if value is not None:
            grid[ys.index(yv), xs.index(xv)] = value
    fig = _figure(1.2 + 0.5 * len(ys), min(WIDTH, 2.4 + 1.1 * len(xs)))
    ax = fig.add_subplot()
    _heatmap(ax, grid, fmt="{:.2f}", cmap="viridis", centred=False)
    if np.isfinite(grid).any():
        i, j = np.unravel_index(np.nanargmax(grid), grid.shape)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=MARK, lw=2))
    ax.set_xticks(range(len(xs)), [ascii_label(grid_value(v)) for v in xs])
    ax.set_yticks(range(len(ys)), [ascii_label(grid_value(v)) for v in ys])
    ax.set_xlabel(ascii_label(x))
    ax.set_ylabel(ascii_label(y))
    ax.set_title(ascii_label(metric), fontsize=9)
    ax.tick_params(length=0)
    return fig


def grid_value(value: object) -> str:
    """A swept value as a thesis writes it: 20.0 -> '20', -12.5 -> '-12.5'."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- screen chart ------------------------------------------------------------------------------
def screen_figure(
    sector: pl.DataFrame,
    prices: pl.DataFrame | None,
    *,
    tickers: list[str],
    sector_label: str,
    sessions: int = 120,
    width: float = 8.0,
) -> Figure:
    """The sector index (date, close) over its last ``sessions`` and ``tickers`` rebased to 100.

    ``prices`` is long (date, ticker, close); each name is taken as of the index's sessions.
    """
    window = sector.sort("date").tail(sessions)
    dates = window.get_column("date")
    fig = _figure(3.0, width)
    ax = fig.add_subplot()
    for i, ticker in enumerate(tickers):
        if prices is None:
            break
        one = prices.filter(pl.col("ticker") == ticker).select("date", "close")
        if one.height:
            color = PALETTE[i % len(PALETTE)]
            line = 100 * rebase_on(dates, one)
            ax.plot(dates, line, lw=1.0, color=color, label=ascii_label(ticker))
    label = ascii_label(sector_label)
    ax.plot(dates, 100 * rebase_on(dates, window), color="#111111", lw=2.2, label=label)
    ax.axhline(100.0, color="#999999", lw=0.6)
    ax.set_ylabel(f"rebased to 100 ({sessions} sessions)", fontsize=8)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    _date_axis(ax)
    _style(ax)
    return fig


# -- factor research (the tear sheet) --------------------------------------------------------
def ic_series_figure(daily: pl.DataFrame, *, rolling: int, colors: Colors = A_SHARE) -> Figure:
    """IC per session (date, ic, ic_rolling) as thin bars and its rolling mean as a line."""
    dates = daily.get_column("date")
    fig = _figure(2.8)
    ax = fig.add_subplot()
    ic = daily.get_column("ic").to_numpy()
    ax.bar(dates, ic, width=1.0, color=_signed(ic, colors), alpha=0.35, lw=0)
    ax.plot(dates, daily.get_column("ic_rolling").to_numpy(), color=STRATEGY, lw=1.6)
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.set_ylabel(f"IC, {rolling}-session mean")
    _date_axis(ax)
    _style(ax)
    return fig


def ic_histogram_figure(ic: pl.Series) -> Figure:
    """The distribution of the per-session IC, with its mean marked."""
    values = ic.drop_nans().drop_nulls().to_numpy()
    fig = _figure(2.6, WIDTH / 2)
    ax = fig.add_subplot()
    ax.hist(values, bins=40, color=STRATEGY, alpha=0.75)
    if values.size:
        ax.axvline(float(values.mean()), color=MARK, lw=1.4)
    ax.axvline(0.0, color="#999999", lw=0.6)
    ax.set_xlabel("IC per session")
    _style(ax)
    return fig


def ic_decay_figure(summary: pl.DataFrame) -> Figure:
    """Mean IC and rank IC by horizon (horizon, ic, rank_ic)."""
    horizons = summary.get_column("horizon").to_list()
    x = np.arange(len(horizons))
    fig = _figure(2.6, WIDTH / 2)
    ax = fig.add_subplot()
    for k, (column, color) in enumerate((("ic", STRATEGY), ("rank_ic", PALETTE[0]))):
        values = summary.get_column(column).fill_null(np.nan).to_numpy()
        ax.bar(x + (k - 0.5) * 0.38, values, width=0.38, color=color, label=column)
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.set_xticks(x, [f"{h}d" for h in horizons])
    ax.set_xlabel("horizon (sessions)")
    ax.legend(loc="best", frameon=False, fontsize=9)
    _style(ax)
    return fig


def quantile_returns_figure(returns: pl.DataFrame, *, colors: Colors = A_SHARE) -> Figure:
    """Mean forward return by quantile (quantile, mean_return): one bar each."""
    q = returns.get_column("quantile").to_numpy()
    values = returns.get_column("mean_return").fill_null(np.nan).to_numpy()
    fig = _figure(2.6, WIDTH / 2)
    ax = fig.add_subplot()
    ax.bar(q, values, color=_signed(values, colors), width=0.7)
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.set_xticks(q, [str(k) for k in q])
    ax.set_xlabel("quantile (1 = lowest factor value)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2))
    _style(ax)
    return fig


def cumulative_quantiles_figure(cumulative: pl.DataFrame, *, colors: Colors = A_SHARE) -> Figure:
    """Growth of 1 per quantile (date, quantile, growth), on a log scale."""
    fig = _figure(3.2)
    ax = fig.add_subplot()
    quantiles = sorted(cumulative.get_column("quantile").unique().to_list())
    lines = gain_loss(colors).reversed()(np.linspace(0.0, 1.0, max(len(quantiles), 2)))
    for k, q in enumerate(quantiles):
        one = cumulative.filter(pl.col("quantile") == q)
        ax.plot(
            one.get_column("date"),
            one.get_column("growth").to_numpy(),
            color=lines[k],
            lw=1.2,
            label=f"Q{q}",
        )
    ax.set_yscale("log")
    ax.set_ylabel("growth of 1")
    ax.legend(loc="upper left", frameon=False, fontsize=9, ncols=min(len(quantiles), 5))
    _date_axis(ax)
    _style(ax)
    return fig


def turnover_figure(series: pl.DataFrame, *, rolling: int) -> Figure:
    """Top-quantile turnover per session (date, turnover) and its rolling mean."""
    dates = series.get_column("date")
    values = series.get_column("turnover")
    fig = _figure(2.4)
    ax = fig.add_subplot()
    ax.plot(dates, values.to_numpy(), color="#bbbbbb", lw=0.7)
    ax.plot(dates, values.rolling_mean(rolling).to_numpy(), color=STRATEGY, lw=1.5)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("top-quantile turnover")
    _date_axis(ax)
    _style(ax)
    return fig


# -- backtest tear sheet -----------------------------------------------------------------------
def _line_panels(
    frame: pl.DataFrame, panels: tuple[tuple[str, str], ...], *, height: float
) -> tuple[Figure, list[Axes]]:
    """One panel per (column, y label) of ``frame`` (date, ...), sharing the date axis."""
    fig = _figure(height)
    axes = list(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
    dates = frame.get_column("date")
    for ax, (column, label) in zip(axes, panels, strict=True):
        values = frame.get_column(column).cast(pl.Float64).fill_null(np.nan).to_numpy()
        ax.plot(dates, values, color=STRATEGY, lw=1.1, drawstyle="steps-post")
        ax.set_ylabel(ascii_label(label), fontsize=8)
        _date_axis(ax)
        _style(ax)
    return fig, axes


def rolling_figure(rolling: pl.DataFrame, *, window: int, index_label: str) -> Figure:
    """Rolling Sharpe and rolling beta to the sector index (date, sharpe, beta)."""
    panels = (("sharpe", f"Sharpe, {window} sessions"), ("beta", f"beta to {index_label}"))
    fig, (sharpe, beta) = _line_panels(rolling, panels, height=3.6)
    sharpe.axhline(0.0, color="#999999", lw=0.6)
    beta.axhline(0.0, color="#999999", lw=0.6)
    beta.axhline(1.0, color="#999999", lw=0.6, ls="--")
    return fig


def exposure_figure(exposure: pl.DataFrame) -> Figure:
    """Invested fraction of equity and the number of names held at each close."""
    panels = (("invested", "invested"), ("names", "names held"))
    fig, (invested, _) = _line_panels(exposure, panels, height=3.2)
    invested.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    return fig


def distribution_figure(
    returns: np.ndarray, *, mean: float, var: float, level: float, colors: Colors = A_SHARE
) -> Figure:
    """Histogram of session returns with the mean and the historical VaR marked."""
    fig = _figure(2.6, WIDTH / 2)
    ax = fig.add_subplot()
    ax.hist(returns, bins=50, color=STRATEGY, alpha=0.75)
    ax.axvline(mean, color=MARK, lw=1.4, label=f"mean {mean:+.2%}")
    ax.axvline(var, color=colors.down.hex, lw=1.4, ls="--", label=f"VaR {level:.0%} {var:+.2%}")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel("session return (sessions invested at the previous close)")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    _style(ax)
    return fig


def attribution_figure(frame: pl.DataFrame, *, key: str, colors: Colors = A_SHARE) -> Figure:
    """P&L per ``key`` (key, pnl) as horizontal bars, a gain and a loss in their colours."""
    labels = [ascii_label(str(k)) for k in frame.get_column(key).to_list()]
    pnl = frame.get_column("pnl").cast(pl.Float64).to_numpy()
    fig = _figure(0.8 + 0.3 * len(labels), WIDTH / 2)
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y, pnl, color=_signed(pnl, colors), height=0.6)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # the table's order, top down
    ax.axvline(0.0, color="#999999", lw=0.6)
    ax.set_xlabel("P&L (CNY, after costs)")
    _style(ax)
    return fig
