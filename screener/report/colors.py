"""Which colour is a rise: the one rule every renderer asks (terminal, HTML, charts, e-mail).

Mainland quote screens show a rise in red and a fall in green (the A-share convention, our
default); Western screens the other way round. ``colors = "intl"`` in screener.toml (or
``--colors intl``) swaps them everywhere at once, so a page and its e-mail never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from screener.config import COLOR_CONVENTIONS


@dataclass(frozen=True)
class Hue:
    """One colour as each output names it."""

    name: str  # rich's colour name, for the terminal
    hex: str  # for HTML, charts and e-mail


RED = Hue("red", "#c62828")
GREEN = Hue("green", "#2e7d32")


@dataclass(frozen=True)
class Colors:
    """The colours of a rise and a fall under one convention."""

    convention: str  # one of config.COLOR_CONVENTIONS
    up: Hue
    down: Hue

    @property
    def legend(self) -> str:
        """The one line each report shows: 'Red is a rise, green a fall (A-share convention).'"""
        label = "A-share" if self.convention == "a-share" else "international"
        return (
            f"{self.up.name.capitalize()} is a rise, {self.down.name} a fall ({label} convention)."
        )

    def sign(self, value: float) -> str:
        """'up', 'down' or '' (zero or missing): the CSS class of a signed number."""
        return "up" if value > 0 else "down" if value < 0 else ""

    def style(self, value: float) -> str:
        """The terminal style of a signed number ('' for zero)."""
        return {"up": self.up.name, "down": self.down.name}.get(self.sign(value), "")


A_SHARE = Colors("a-share", up=RED, down=GREEN)
INTL = Colors("intl", up=GREEN, down=RED)


def colors_for(convention: str) -> Colors:
    """The Colors of a convention named in settings (``Settings.load`` checks the name)."""
    return dict(zip(COLOR_CONVENTIONS, (A_SHARE, INTL), strict=True))[convention]
