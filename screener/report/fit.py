"""Terminal tables that never cut a number: each column has a priority, the least needed go.

Rich fits a table wider than the terminal by shortening every column, numbers included
(``+120…``, a rank ``…``). A ``FitTable`` decides at render time, when it knows the width:
numbers, dates and tickers keep their full width; text columns marked ``shrink`` (names, paths)
may end in an ellipsis; if that is not enough, the lowest-priority columns are left out and one
line under the table says which, and how to see them. Measured (a pipe or a file widens to the
measure), it asks for every column at full width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

KEEP = 1 << 30  # the priority of a column that is never left out (a key: ticker, rank)
SHRUNK = 8  # columns a shortened text column keeps (three Chinese characters and the ellipsis)
HINT = "a wider terminal or --format csv/json shows them"


@dataclass(frozen=True)
class Column:
    """One column: its heading, alignment, and how much it matters when space is short."""

    header: str
    justify: Literal["left", "right"] = "left"
    priority: int = 0  # higher stays longer; KEEP never goes
    shrink: bool = False  # text that may end in an ellipsis (never numbers or tickers)
    style: str = ""


def _width(cell: str | Text) -> int:
    plain = cell.plain if isinstance(cell, Text) else cell
    return max((cell_len(line) for line in plain.split("\n")), default=0)


def _text(cell: str | Text) -> Text:
    """A cell as text: a plain string is never read as markup (a value may hold '[')."""
    return cell if isinstance(cell, Text) else Text(cell)


class FitTable:
    """A rich table of ``columns`` and ``rows`` (plain strings are never read as markup) that
    leaves out its lowest-priority columns rather than cut a value; ``options`` go to rich's
    ``Table`` (title, box, padding ...); ``hint`` says how to see what was left out."""

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[Sequence[str | Text]] = (),
        *,
        hint: str = HINT,
        **options: Any,
    ) -> None:
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.hint = hint
        self.options = options

    def add_row(self, *cells: str | Text) -> None:
        self.rows.append(list(cells))

    @property
    def full(self) -> list[int]:
        """Each column's width with nothing cut: its widest heading line or cell."""
        return [
            max([_width(c.header), *(_width(row[i]) for row in self.rows)])
            for i, c in enumerate(self.columns)
        ]

    def layout(self, console: Console, width: int) -> tuple[list[int], list[int]]:
        """The columns kept (by index) and their widths at ``width`` terminal columns."""
        full = self.full
        least = [min(w, SHRUNK) if c.shrink else w for c, w in zip(self.columns, full, strict=True)]
        kept = list(range(len(self.columns)))
        by_need = sorted(kept, key=lambda i: (self.columns[i].priority, -i))
        while self._need(console, kept, least) > width:
            droppable = [i for i in by_need if i in kept and self.columns[i].priority < KEEP]
            if not droppable:
                break
            kept.remove(droppable[0])
        slack = width - self._need(console, kept, least)
        widths = [least[i] for i in kept]
        for k, i in enumerate(kept):  # shortened text gets back what space is left, left first
            give = max(min(slack, full[i] - least[i]), 0)
            widths[k] += give
            slack -= give
        return kept, widths

    def _need(self, console: Console, kept: list[int], widths: list[int]) -> int:
        """Terminal columns the table takes with these columns at these widths (borders and
        padding included, as rich measures them)."""
        table = self._table(kept, [1] * len(kept))
        frame = Measurement.get(console, console.options.update_width(1 << 16), table).maximum
        return frame - len(kept) + sum(widths[i] for i in kept)

    def _table(self, kept: list[int], widths: list[int]) -> Table:
        table = Table(**self.options)
        for i, w in zip(kept, widths, strict=True):
            c = self.columns[i]
            overflow: Literal["ellipsis", "fold"] = "ellipsis" if c.shrink else "fold"
            table.add_column(
                c.header, justify=c.justify, style=c.style, width=w, no_wrap=True, overflow=overflow
            )
        for row in self.rows:
            table.add_row(*(_text(row[i]) for i in kept))
        return table

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        everything = list(range(len(self.columns)))
        return Measurement.get(console, options, self._table(everything, self.full))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        kept, widths = self.layout(console, options.max_width)
        yield self._table(kept, widths)
        left_out = [
            c.header.replace("\n", " ") for i, c in enumerate(self.columns) if i not in kept
        ]
        if left_out:
            yield Text(
                f"{len(left_out)} column(s) left out at {options.max_width} columns: "
                f"{', '.join(left_out)} ({self.hint})",
                style="dim",
            )
