"""Gates: a reward counts only on the rows where a small condition over other rewards holds.

``when = "correct >= 1 and not (format < 0.5)"`` compares other rewards' *raw* values with numbers
(``<  <=  >  >=  ==  !=``), combined with ``and``, ``or``, ``not`` and parentheses. The text is
read by a hand-written tokenizer and recursive-descent parser (never ``eval``), bounded in length
and nesting. A None score makes its comparison unknown; unknown propagates as in three-valued
logic (``False and unknown`` is False, ``True or unknown`` is True) and a gate that ends unknown is
closed: a reward never contributes on the strength of a score that is missing.

What a closed gate gives is decided here, once, for score, bench and trainer and under every
aggregation mode: the smaller of the reward's own score and its *closed value* (the entry's
``closed = ...``, else the reward's lowest declared value). So failing a gate never pays more
than passing it would: a gate can withhold credit, never a penalty. A None score stays None.
A reward with no finite lowest value needs ``closed`` declared (see rewardset).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Union

import numpy as np

from .aggregation import close_gates

MAX_LENGTH = 200
MAX_DEPTH = 16
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)"
    r"|(?P<op><=|>=|==|!=|<|>)|(?P<paren>[()]))"
)
_KEYWORDS = ("and", "or", "not")


class GateSyntaxError(ValueError):
    """A gate expression that cannot be read; the message says where and what was expected."""


@dataclass(frozen=True)
class Compare:
    left: str | float
    op: str
    right: str | float


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Union[Compare, Not, BoolOp]


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: number, name, keyword, op, paren."""
    if len(text) > MAX_LENGTH:
        raise GateSyntaxError(f"gate is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise GateSyntaxError(f"unexpected {text[position:].lstrip()[:10]!r} at character {position + 1}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "keyword"
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    """expr := and_expr ('or' and_expr)*; and_expr := unary ('and' unary)*;
    unary := 'not' unary | '(' expr ')' | operand OP operand; operand := name | number."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i, self.depth = tokens, 0, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise GateSyntaxError("the gate ends too early: expected a comparison such as `correct >= 1`")
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise GateSyntaxError("the gate is empty: expected a comparison such as `correct >= 1`")
        node = self.expr()
        if self.peek() is not None:
            raise GateSyntaxError(f"unexpected {self.peek()[1]!r} after a complete condition")  # type: ignore[index]
        return node

    def expr(self) -> Node:
        return self._chain("or", self.and_expr)

    def and_expr(self) -> Node:
        return self._chain("and", self.unary)

    def _chain(self, keyword: str, inner: Callable[[], Node]) -> Node:
        operands = [inner()]
        while self.peek() == ("keyword", keyword):
            self.take()
            operands.append(inner())
        return operands[0] if len(operands) == 1 else BoolOp(keyword, tuple(operands))

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise GateSyntaxError(f"the gate nests deeper than {MAX_DEPTH} levels")
        try:
            token = self.peek()
            if token == ("keyword", "not"):
                self.take()
                return Not(self.unary())
            if token == ("paren", "("):
                self.take()
                node = self.expr()
                if self.take() != ("paren", ")"):
                    raise GateSyntaxError("expected `)`")
                return node
            left = self.operand()
            kind, op = self.take()
            if kind != "op":
                raise GateSyntaxError(f"expected a comparison (one of {' '.join(COMPARISONS)}) after {left!r}, got {op!r}")
            right = self.operand()
            if isinstance(left, float) and isinstance(right, float):
                raise GateSyntaxError(f"`{left:g} {op} {right:g}` compares two numbers: name a reward on one side")
            return Compare(left, op, right)
        finally:
            self.depth -= 1

    def operand(self) -> str | float:
        kind, text = self.take()
        if kind == "number":
            number = float(text)
            if not math.isfinite(number):
                raise GateSyntaxError(f"{text!r} is not a finite number: expected a number such as 0.5 or 1e3")
            return number
        if kind == "name":
            return text
        raise GateSyntaxError(f"expected a reward name or a number, got {text!r}")


def parse_gate(text: str) -> Node:
    """The syntax tree of a gate, or GateSyntaxError."""
    if not isinstance(text, str):
        raise GateSyntaxError(f'expected a string such as "correct >= 1", got {type(text).__name__}')
    return _Parser(tokenize(text)).parse()


def names_in(node: Node) -> list[str]:
    """The reward names a gate reads, in order of appearance, without repeats."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Compare):
            out.extend(x for x in (n.left, n.right) if isinstance(x, str) and x not in out)
        elif isinstance(n, Not):
            walk(n.operand)
        else:
            for operand in n.operands:
                walk(operand)

    walk(node)
    return out


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal}


def evaluate(node: Node, columns: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    """Where the gate is open (True), per row, from raw values (NaN for None) by reward name."""
    value, known = _evaluate(node, columns, rows)
    return np.asarray(value & known, dtype=bool)


def _evaluate(node: Node, columns: Mapping[str, np.ndarray], rows: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(node, Compare):
        left, right = (
            np.asarray(columns[x], dtype=float) if isinstance(x, str) else np.full(rows, x) for x in (node.left, node.right)
        )
        known = ~np.isnan(left) & ~np.isnan(right)
        with np.errstate(invalid="ignore"):
            return _OPS[node.op](left, right) & known, known
    if isinstance(node, Not):
        value, known = _evaluate(node.operand, columns, rows)
        return ~value & known, known
    parts = [_evaluate(operand, columns, rows) for operand in node.operands]
    value, known = parts[0]
    for other_value, other_known in parts[1:]:
        if node.op == "and":
            decided_false = (known & ~value) | (other_known & ~other_value)
            value, known = value & other_value, (known & other_known) | decided_false
        else:
            decided_true = (known & value) | (other_known & other_value)
            value, known = value | other_value, (known & other_known) | decided_true
    return value & known, known


def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in "reward -> rewards its gate reads", as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for nxt in graph.get(name, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in graph:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


@dataclass(frozen=True)
class GateTable:
    """The gates of a reward set: where each is open, and the scores once they are applied.

    Calling it gives the N x K open mask (True everywhere for ungated rewards)."""

    names: tuple[str, ...]
    gates: tuple[Node | None, ...]
    closed: tuple[float, ...]  # what a closed gate gives at most, per reward (NaN: ungated)

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.asarray(matrix, dtype=float).reshape(-1, len(self.names))
        columns = {name: matrix[:, i] for i, name in enumerate(self.names)}
        open_ = np.ones(matrix.shape, dtype=bool)
        for i, gate in enumerate(self.gates):
            if gate is not None:
                open_[:, i] = evaluate(gate, columns, matrix.shape[0])
        return open_

    def apply(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores with closed gates applied, open mask) for raw N x K scores."""
        matrix = np.asarray(matrix, dtype=float).reshape(-1, len(self.names))
        open_ = self(matrix)
        return close_gates(matrix, open_, list(self.closed)), open_
