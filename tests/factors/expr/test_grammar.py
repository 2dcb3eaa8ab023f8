"""The grammar: Python's precedence as qlib writes formulas, and errors that point at a column."""

from __future__ import annotations

import pytest

from screener.factors.base import FactorError
from screener.factors.expr import expression_factor, from_assignment
from screener.factors.expr.grammar import Call, ExprError, Field, Number, parse


def shape(node: object) -> object:
    """A tree as nested tuples of names, for comparing structure only."""
    if isinstance(node, Call):
        return (node.name, *(shape(a) for a in node.args))
    if isinstance(node, Field):
        return f"${node.name}"
    assert isinstance(node, Number)
    return node.value


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("$a + $b * $c", ("+", "$a", ("*", "$b", "$c"))),
        ("($a + $b) * $c", ("*", ("+", "$a", "$b"), "$c")),
        ("$a - $b - $c", ("-", ("-", "$a", "$b"), "$c")),
        ("-$a ** 2", ("neg", ("**", "$a", 2.0))),
        ("$a > 1 & $b", (">", "$a", ("&", 1.0, "$b"))),  # Python: & binds tighter than >
        ("($a > 1) | ($b < 2)", ("|", (">", "$a", 1.0), ("<", "$b", 2.0))),
        ("Mean($close, 5) / $close - 1", ("-", ("/", ("Mean", "$close", 5.0), "$close"), 1.0)),
        ("$v / ($v + 1e-12)", ("/", "$v", ("+", "$v", 1e-12))),
        ("Quantile($c, 20, .8)", ("Quantile", "$c", 20.0, 0.8)),
    ],
)
def test_precedence_follows_python(text: str, tree: object) -> None:
    assert shape(parse(text)) == tree


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("Mean($close, 5", 15, "expected ')'"),
        ("Mean($close 5)", 13, "expected ')'"),
        ("$close @ 2", 8, "unexpected character '@'"),
        ("$close +", 9, "found the end"),
        ("", 1, "empty expression"),
        ("$close $open", 8, "after a complete expression"),
        ("1 < $close < 3", 12, "chained comparison"),
        ("Foo($close)", 1, "unknown operator 'Foo'"),
        ("Mean($closing, 5)", 6, "unknown field $closing"),
        ("Mean($close, 2.5)", 14, "whole number"),
        ("Mean($close, $open)", 14, "needs a number"),
        ("Mean(5, 5)", 6, "needs a series"),
        ("Corr($close, 5)", 1, "takes 3 argument"),
        ("Quantile($close, 5, 1.5)", 21, "in [0, 1]"),
        ("Skew($close, 2)", 14, ">= 3"),
        ("Ref($close, 0)", 13, ">= 1"),
        ("EMA($close, 2.5)", 13, "span >= 1"),
        ("1 + 2", 3, "at least one $field"),
    ],
)
def test_errors_name_the_column_of_the_bad_token(text: str, column: int, words: str) -> None:
    with pytest.raises(ExprError) as err:
        expression_factor("f", text)
    assert err.value.pos + 1 == column, str(err.value)
    assert words in str(err.value)
    assert str(err.value).startswith(f"column {column}:")


def test_cli_assignment_counts_columns_in_the_whole_argument() -> None:
    assert from_assignment("gap = $close / $open - 1").name == "gap"
    with pytest.raises(FactorError, match=r"column 19: expected '\)'"):
        from_assignment("gap=Mean($close, 5")
    with pytest.raises(FactorError, match="name=EXPR"):
        from_assignment("Mean($close, 5)")


@pytest.mark.parametrize(
    ("text", "lookback"),
    [
        ("$close / $open", 1),
        ("Ref($close, 5) / $close", 6),
        ("Mean($close, 20)", 20),
        ("Corr($close / Ref($close, 1), Log($volume / Ref($volume, 1) + 1), 60)", 61),
        ("Std(Abs($close / Ref($close, 1) - 1) * $volume, 10)", 11),
        ("Max(Mean($high, 5), 10) - Delta($low, 30)", 31),
        ("EMA($close, 0.5)", 20),  # qlib: the rows until a weight is 1e-6
        ("EMA($close, 1)", 1),
    ],
)
def test_lookback_is_computed_from_the_windows(text: str, lookback: int) -> None:
    assert expression_factor("f", text).lookback == lookback
