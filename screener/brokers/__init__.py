"""Broker notes: news text → recommendation picks resolved against the instrument master."""

from screener.brokers.lexicon import Lexicon
from screener.brokers.note_files import decode_note
from screener.brokers.notes import (
    Article,
    ParsedNote,
    parse_file,
    read_note,
    split_articles,
)

__all__ = [
    "Article",
    "Lexicon",
    "ParsedNote",
    "decode_note",
    "parse_file",
    "read_note",
    "split_articles",
]
