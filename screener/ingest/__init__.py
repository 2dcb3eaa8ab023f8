"""Data sources: one module per origin (demo, vendor files, akshare)."""
