"""Rendering rich output as text for assertions and snapshots."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType


def plain_text(renderable: RenderableType, width: int = 120) -> str:
    """What a monochrome terminal ``width`` columns wide shows for ``renderable``."""
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()
