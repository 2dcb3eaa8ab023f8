"""Renderers: rich renderables for the terminal, HTML strings, and e-mail messages."""
