"""Many factors over a whole panel, ticker chunk by ticker chunk, into one Parquet file.

Alpha158 on 5,000 tickers x 2,500 sessions is 2 billion values: more than memory should hold
at once. Every factor here is time-series only (no cross-section: qlib's features have none),
so a chunk of tickers is computed exactly as in the whole panel (tests check it bit for bit)
and its rows are written as one row group while the next chunks compute. Values are stored
as Float32, qlib's own precision, which halves the file.
"""

from __future__ import annotations

import ctypes
import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener.config import Settings
from screener.engine import factor_values, resolve
from screener.factors.base import TICKER, Factor, FactorError
from screener.factors.expr import plan
from screener.factors.expr.execute import evaluate_frame
from screener.panel import build_panel
from screener.store import Store

ROWS_PER_CHUNK = 100_000  # ~40 tickers of 10 years: intermediate arrays stay small and reused


@dataclass(frozen=True)
class Written:
    """What ``write_values`` wrote."""

    rows: int
    factors: int
    chunks: int


def ticker_chunks(panel: pl.DataFrame, rows: int = ROWS_PER_CHUNK) -> Iterator[pl.DataFrame]:
    """Slices of a (ticker, date)-sorted panel, whole tickers each, about ``rows`` rows."""
    counts = panel.group_by(TICKER, maintain_order=True).len().get_column("len").to_list()
    start = size = 0
    for n in counts:
        if size and size + n > rows:
            yield panel.slice(start, size)
            start, size = start + size, 0
        size += n
    if size:
        yield panel.slice(start, size)


def write_values(
    chunks: Iterable[pl.DataFrame],
    factors: Sequence[Factor],
    out: Path,
    *,
    dates: Sequence[dt.date] | None = None,
) -> Written:
    """Values of ``factors`` (no ranks) for each chunk's rows (only ``dates``), into ``out``.

    Each chunk holds whole tickers. Two chunks compute at once (numpy and the kernels release
    the GIL) while the one before is written. Expression factors share their common parts
    (``execute.evaluate_frame``); any other factor goes through ``engine.factor_values``.
    """
    import pyarrow.parquet as pq

    if any(f.needs for level in resolve(factors) for f in level):
        raise FactorError("bulk values are per ticker: composites need the whole cross-section")
    out.parent.mkdir(parents=True, exist_ok=True)
    _keep_freed_memory()
    compute = _computer(factors, dates)
    writer: pq.ParquetWriter | None = None
    rows = count = 0
    with ThreadPoolExecutor(max_workers=2) as pool, ThreadPoolExecutor(max_workers=1) as io:
        try:
            pending: Future[None] | None = None
            for values in _in_order(pool, compute, chunks, ahead=2):
                table = values.with_columns(pl.selectors.float().cast(pl.Float32)).to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(
                        out, table.schema, compression="snappy", use_dictionary=False
                    )
                if pending is not None:
                    pending.result()
                pending = io.submit(writer.write_table, table)
                rows, count = rows + values.height, count + 1
            if pending is not None:
                pending.result()
        finally:
            if writer is not None:
                writer.close()
    if writer is None:
        raise FactorError("no rows to write: the panel is empty")
    return Written(rows, len(factors), count)


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system.

    Each chunk allocates and frees the same few hundred MB of columns. By default glibc gives
    large blocks back at once, and this kind of virtual machine supplies a page again on first
    touch at about 1 GB/s (benchmarks/README.md): a third of the CPU time went there. A
    process-wide allocator setting, harmless elsewhere; skipped where there is no glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    libc.mallopt(m_trim_threshold, 2**31 - 1)
    libc.mallopt(m_top_pad, 256 << 20)
    libc.mallopt(m_mmap_threshold, 1 << 30)


def _computer(
    factors: Sequence[Factor], dates: Sequence[dt.date] | None
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """The function that turns one chunk into its values."""
    keep = None if dates is None else pl.col("date").is_in(list(dates))
    if all(f.source != "library" for f in factors):  # all expressions: one shared cache
        roots = {f.name: plan(f.source) for f in factors}

        def expressions(chunk: pl.DataFrame) -> pl.DataFrame:
            values = evaluate_frame(chunk, roots)
            return values if keep is None else values.filter(keep)

        return expressions
    return lambda chunk: factor_values(chunk, factors, dates=dates)


def _in_order(
    pool: ThreadPoolExecutor,
    fn: Callable[[pl.DataFrame], pl.DataFrame],
    items: Iterable[pl.DataFrame],
    *,
    ahead: int,
) -> Iterator[pl.DataFrame]:
    """``fn`` of each item, in order, with at most ``ahead`` computing at once."""
    queue: deque[Future[pl.DataFrame]] = deque()
    for item in items:
        queue.append(pool.submit(fn, item))
        if len(queue) >= ahead:
            yield queue.popleft().result()
    while queue:
        yield queue.popleft().result()


def export_factors(
    store: Store,
    factors: Sequence[Factor],
    *,
    out: Path,
    start: dt.date,
    end: dt.date,
    settings: Settings,
) -> Written:
    """Every stock's ``factors`` on every session from ``start`` to ``end`` into ``out``.

    The panel is built chunk by chunk of tickers with the history the factors need before
    ``start`` (their largest lookback, which covers Wilder's warm-up).
    """
    depth = max(f.lookback for f in factors)
    sessions = store.sessions()
    before = [d for d in sessions if d < start][-depth:]
    first = before[0] if before else start
    tickers = store.read_instruments().filter(pl.col("board") != "hk").get_column(TICKER)
    per_chunk = max(1, ROWS_PER_CHUNK // max(1, len([d for d in sessions if first <= d <= end])))
    names = tickers.sort().to_list()

    def chunks() -> Iterator[pl.DataFrame]:
        for at in range(0, len(names), per_chunk):
            part = names[at : at + per_chunk]
            yield build_panel(store, tickers=part, start=first, end=end, settings=settings)

    days = [d for d in sessions if start <= d <= end]
    return write_values(chunks(), factors, out, dates=days)
