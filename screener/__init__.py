"""screener: research tool for China A-share nonferrous-metal stocks."""

__version__ = "0.1.0"
