"""qlib's expression language as a grammar: text -> a tree of ``Node`` values, never ``eval``.

qlib writes its formulas as Python expressions over ``$field`` names and operator calls, so the
grammar follows Python's precedence (lowest first)::

    expression := bitor [('>' | '>=' | '<' | '<=' | '==' | '!=') bitor]
    bitor      := bitand ('|' bitand)*
    bitand     := sum ('&' sum)*
    sum        := product (('+' | '-') product)*
    product    := unary (('*' | '/') unary)*
    unary      := ('-' | '+') unary | power
    power      := atom ['**' unary]
    atom       := NUMBER | '$' NAME | NAME '(' [expression (',' expression)*] ')'
                | '(' expression ')'

A chained comparison (``a < b < c``) is refused: Python would turn it into ``and``, which qlib's
series cannot do. Every node keeps the 0-based offset of its token, so errors can point at it.

>>> parse("$close - 1")
Call(pos=7, name='-', args=(Field(pos=0, name='close'), Number(pos=9, value=1.0, text='1')))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from screener.factors.base import FactorError

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<field>\$[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|>=|<=|==|!=|[-+*/()<>,&|])"
)
COMPARISONS = (">", ">=", "<", "<=", "==", "!=")
LEVELS: tuple[tuple[str, ...], ...] = (("|",), ("&",), ("+", "-"), ("*", "/"))


class ExprError(FactorError):
    """A bad expression: ``pos`` is the 0-based offset of the offending token in the text."""

    def __init__(self, reason: str, *, pos: int, text: str) -> None:
        super().__init__(f"column {pos + 1}: {reason}")
        self.reason, self.pos, self.text = reason, pos, text


@dataclass(frozen=True)
class Number:
    pos: int
    value: float
    text: str


@dataclass(frozen=True)
class Field:
    pos: int
    name: str


@dataclass(frozen=True)
class Call:
    """An operator call (``Mean``) or an infix/prefix operator (``'+'``, ``'neg'``)."""

    pos: int
    name: str
    args: tuple[Node, ...]


Node = Number | Field | Call


@dataclass(frozen=True)
class _Token:
    kind: str  # number, field, name, op, end
    text: str
    pos: int


def tokens(text: str) -> list[_Token]:
    """The tokens of ``text``; an ExprError at the first character that starts none."""
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExprError(f"unexpected character {text[pos]!r}", pos=pos, text=text)
        kind = match.lastgroup or ""
        if kind != "space":
            out.append(_Token(kind, match.group(), pos))
        pos = match.end()
    out.append(_Token("end", "", len(text)))
    return out


def parse(text: str) -> Node:
    """The tree of one expression; ExprError names the column of the first bad token."""
    return _Parser(text).whole()


class _Parser:
    """Recursive descent over ``tokens(text)``, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokens(text)
        self.at = 0

    def whole(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.expression()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r} after a complete expression")
        return node

    def peek(self) -> _Token:
        return self.toks[self.at]

    def take(self) -> _Token:
        tok = self.toks[self.at]
        self.at += 1
        return tok

    def error(self, reason: str, tok: _Token | None = None) -> ExprError:
        return ExprError(reason, pos=(tok or self.peek()).pos, text=self.text)

    def expect(self, text: str, context: str) -> _Token:
        if self.peek().text != text or self.peek().kind != "op":
            found = self.peek().text or "the end"
            raise self.error(f"expected {text!r} {context}, found {found!r}")
        return self.take()

    def expression(self) -> Node:
        left = self.binary(0)
        if self.peek().text in COMPARISONS and self.peek().kind == "op":
            op = self.take()
            left = Call(op.pos, op.text, (left, self.binary(0)))
            if self.peek().text in COMPARISONS and self.peek().kind == "op":
                raise self.error("chained comparison: use parentheses and & or |")
        return left

    def binary(self, level: int) -> Node:
        if level == len(LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in LEVELS[level]:
            op = self.take()
            left = Call(op.pos, op.text, (left, self.binary(level + 1)))
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.take()
            operand = self.unary()
            return Call(tok.pos, "neg", (operand,)) if tok.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek().kind == "op" and self.peek().text == "**":
            op = self.take()
            return Call(op.pos, "**", (base, self.unary()))
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Number(tok.pos, float(tok.text), tok.text)
        if tok.kind == "field":
            return Field(tok.pos, tok.text[1:])
        if tok.kind == "name":
            self.expect("(", f"after the operator name {tok.text}")
            args: list[Node] = []
            if self.peek().text != ")":
                args.append(self.expression())
                while self.peek().text == "," and self.peek().kind == "op":
                    self.take()
                    args.append(self.expression())
            self.expect(")", f"to close {tok.text}(")
            return Call(tok.pos, tok.text, tuple(args))
        if tok.kind == "op" and tok.text == "(":
            inner = self.expression()
            self.expect(")", "to close '('")
            return inner
        found = "the end of the expression" if tok.kind == "end" else repr(tok.text)
        raise self.error(f"expected a number, a $field or an operator, found {found}", tok)
