"""Broker notes: news text → recommendation picks resolved against the instrument master."""

from screener.brokers.notes import (
    Article,
    ParsedNote,
    decode_note,
    parse_file,
    parse_note,
    split_articles,
)

__all__ = ["Article", "ParsedNote", "decode_note", "parse_file", "parse_note", "split_articles"]
