"""qlib's expression language: a formula becomes a ``Factor`` like any in the library.

``expression_factor("ma_gap_5", "Mean($close, 5) / $close - 1")`` parses the text with a
grammar (grammar.py, never ``eval``), checks it into a graph of qlib's operators whose
lookback comes from the windows used (ops.py) and runs that graph with numpy and the window
kernels, qlib's semantics (execute.py, kernels.py). Factor files
(``strategies/factors/*.toml``, files.py) and ``--expr name=EXPR`` on the command line both end
here.

>>> f = expression_factor("ma_gap_5", "Mean($close, 5) / $close - 1")
>>> f.lookback, f.higher_is_better
(5, True)
"""

from __future__ import annotations

from screener.factors.base import Factor, FactorError
from screener.factors.expr.execute import term_of
from screener.factors.expr.grammar import ExprError, parse
from screener.factors.expr.ops import FIELDS, OPERATORS, PANEL_FIELDS, Op, compile_tree

__all__ = [
    "FIELDS",
    "OPERATORS",
    "PANEL_FIELDS",
    "ExprError",
    "expression_factor",
    "from_assignment",
    "plan",
]


def plan(text: str) -> Op:
    """The checked graph of an expression (ops.py): its lookback, its columns, its nodes."""
    return compile_tree(parse(text), text)


def expression_factor(
    name: str, text: str, *, higher_is_better: bool = True, doc: str | None = None
) -> Factor:
    """The factor ``name`` computed by the qlib expression ``text``.

    ExprError (a FactorError) names the column of the bad token; callers add file and line.
    """
    term = term_of(plan(text))
    meaning = doc or f"qlib expression: {' '.join(text.split())}"
    return Factor(name, term, higher_is_better, meaning, source=text)


def from_assignment(text: str) -> Factor:
    """``name=EXPR`` (the CLI's ``--expr``) as a factor; errors say which ``--expr``.

    >>> from_assignment("gap=$close/$open-1").lookback
    1
    """
    name, sep, formula = text.partition("=")
    if not sep or not name.strip():
        raise FactorError(f"--expr {text!r}: write name=EXPR, e.g. ma_gap=Mean($close,5)/$close")
    offset = len(name) + 1 + len(formula) - len(formula.lstrip())
    try:
        return expression_factor(name.strip(), formula.strip())
    except ExprError as err:
        raise FactorError(f"--expr {text!r}: column {err.pos + offset + 1}: {err.reason}") from None
