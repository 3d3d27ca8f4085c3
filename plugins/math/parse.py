"""A safe parser for final answers: whitelist tokens in, sympy objects out, never ``eval``.

:func:`parse_answer` normalises the text (:mod:`.normalize`), tokenizes it against a whitelist
(:mod:`.lexer`) and runs a small precedence-climbing parser that builds sympy objects directly,
one operation at a time. Every step is bounded: input length, token count, nesting depth, the
size of every exact number produced, exponents and factorials are checked *before* sympy computes
them, so ``9^9^9^9`` or ``1000000!`` are refused instead of eating the machine. Anything the
parser does not understand gives None; it never raises to the caller.

Conventions: ``i`` is the imaginary unit and ``e`` Euler's number; other single letters are
symbols; ``\\log`` is the natural log (``\\log_b`` has a base); ``a \\pm b`` is the pair of values;
``2\\frac{1}{2}`` and ``2 1/2`` are mixed numbers; a trailing ``%`` is remembered (50% matches 50
and 0.5); words around an answer (units, "dollars", "approximately") are dropped; ``f(x)`` is a
function applied; an inequality bounding one quantity is its interval and a named answer
(``(p,q) = (3,2)``) keeps its label (:mod:`.relations`); ``x = 5+5+1 = 11`` is its last member and
``1/3 \\approx 0.33`` the member before the approximation.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from fractions import Fraction
from itertools import product
from typing import Any

import sympy

from .bounded import (
    INVERSE,
    MANY_ARGS,
    ONE_ARG,
    TRIG,
    ParseError,
    binomial,
    check_size,
    divide,
    has_huge_number,
    mul,
    safe_factorial,
    safe_pow,
    safe_sqrt,
)
from .lexer import LexError, Token, tokenize
from .normalize import MAX_ANSWER_CHARS, normalize, strip_delimiters
from .relations import interval_of, label_kind, label_text
from .units import trailing_unit
from .values import (
    Ambiguous,
    Answer,
    BaseNumber,
    Bracketed,
    Choice,
    Clock,
    Collection,
    Labelled,
    Matrix,
    Relation,
    Scalar,
    Text,
)

MAX_DEPTH = 60
MAX_ALTERNATIVES = 16
MAX_SCI_EXPONENT = 400


def parse_answer(text: str) -> Answer | None:
    """The answer's value, or None when it cannot be parsed safely. Never raises (except for an
    enclosing time limit, which must propagate). Cached: gold answers repeat across a group."""
    if not isinstance(text, str) or len(text) > MAX_ANSWER_CHARS:
        return None
    return _parse_cached(text)


def clear_parse_cache() -> None:
    """Forget cached parses (for cold benchmarks and tests)."""
    _parse_cached.cache_clear()


@functools.lru_cache(maxsize=8192)
def _parse_cached(text: str) -> Answer | None:
    try:
        clock = _CLOCK.match(_TEXT_WRAPPER.sub(r"\1", strip_delimiters(text)))
        if clock:
            return _clock_time(*clock.groups())
        clock = _CLOCK_24.match(_TEXT_WRAPPER.sub(r"\1", strip_delimiters(text)))
        if clock and int(clock.group(1)) <= 24:
            return Clock(int(clock.group(1)), int(clock.group(2)))
        normal = normalize(text)
        if not normal:
            return None
        value = _Parser(tokenize(normal)).parse()
        comma = _DECIMAL_COMMA.fullmatch(normal)
        if comma and _decimal_comma_possible(*comma.groups()[1:]):  # 1,22 or 1000,99
            sign, whole, frac = comma.groups()
            decimal = _Parser(tokenize(f"{sign}{whole}.{frac}")).parse()
            return Ambiguous((value, decimal))
        return value
    except (
        ParseError,
        LexError,
        RecursionError,
        ArithmeticError,
        ValueError,
        TypeError,
        AttributeError,
        LookupError,
        MemoryError,
        NotImplementedError,
        sympy.SympifyError,
    ):
        return None


_DECIMAL_COMMA = re.compile(r"\s*(-?)(\d{1,12}),(\d{1,12})\s*")


def _decimal_comma_possible(whole: str, frac: str) -> bool:
    """``1,22``, ``0,111``, ``1000,99`` may be decimals written with a comma; ``1,234`` is a
    thousands separator and ``0,1`` a list (MATH writes its lists so), nothing else."""
    if len(frac) == 3 and whole[0] != "0" and len(whole) <= 3:
        return False
    return len(frac) >= 2


_TEXT_WRAPPER = re.compile(r"\\(?:text|mbox|mathrm|textrm)\s*\{([^{}]*)\}")
_CLOCK = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*(?:\\[ ,;]\s*)?([ap])\.?\s*m\.?\s*$", re.IGNORECASE)
_CLOCK_24 = re.compile(r"^\s*(\d{1,2})\s?:\s?([0-5]\d)\s*$")  # 12:00, 2:30, 6 : 00: a time of day


def _clock_time(hour: str, minute: str | None, half: str) -> Text:
    """A time of day as text: ``9 a.m.`` -> ``9:00am``, ``1:03 PM`` -> ``1:03pm`` (a bare ``3:10``
    stays a ratio)."""
    return Text(f"{int(hour)}:{minute or '00'}{half.lower()}m")


# -- internal values while parsing ------------------------------------------------------------


class _E:
    """An arithmetic value under construction: one or more alternatives (``\\pm``) and flags."""

    __slots__ = ("alts", "inexact", "percent", "int_literal", "frac_literal", "degrees", "digits")

    def __init__(
        self,
        alts: tuple[sympy.Expr, ...],
        inexact: bool = False,
        percent: bool = False,
        int_literal: bool = False,
        frac_literal: bool = False,
        degrees: bool = False,
    ) -> None:
        if len(alts) > MAX_ALTERNATIVES:
            raise ParseError("too many alternatives")
        for alt in alts:
            check_size(alt)
        self.alts = alts
        self.inexact = inexact
        self.percent = percent
        self.int_literal = int_literal
        self.frac_literal = frac_literal
        self.degrees = degrees  # written with a degree mark: a trig function converts it
        self.digits = 0  # fewest significant digits among the decimals written in it (0: none)


class _Group:
    """Structured values: ``kind`` is tuple/set/union/rel/chain/matrix; ``items`` what they hold."""

    __slots__ = ("kind", "items", "left", "right", "op", "meta")

    def __init__(self, kind: str, items: list[Any], left: str = "", right: str = "", op: Any = "", meta: Any = None) -> None:
        self.kind, self.items, self.left, self.right, self.op = kind, items, left, right, op
        self.meta = meta


_CONSTANTS = {"pi": sympy.pi, "oo": sympy.oo}
_LETTER_CONSTANTS = {"e": sympy.E, "i": sympy.I}
_CHOICE_LETTERS = frozenset("ABCDE")
_FUNCTION_NAMES = frozenset("fghFGH")


def _number(literal: str) -> _E:
    mantissa, _, exponent = literal.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_SCI_EXPONENT:
        raise ParseError("scientific exponent too large")
    value = Fraction(literal)
    inexact = "." in mantissa
    out = _E((sympy.Rational(value.numerator, value.denominator),), inexact=inexact, int_literal=not inexact and not exponent)
    if inexact:
        out.digits = len(mantissa.replace(".", "").lstrip("0")) or 1
    return out


def _fewest(*digits: int) -> int:
    """The precision of a value built from decimals: that of its least precise decimal."""
    written = [d for d in digits if d]
    return min(written) if written else 0


def _combine(a: Any, b: Any, fn: Callable[[sympy.Expr, sympy.Expr], sympy.Expr]) -> _E:
    if not isinstance(a, _E) or not isinstance(b, _E):
        raise ParseError("arithmetic on a tuple, set or relation")
    if len(a.alts) * len(b.alts) > MAX_ALTERNATIVES:
        raise ParseError("too many alternatives")
    alts = tuple(dict.fromkeys(fn(x, y) for x, y in product(a.alts, b.alts)))
    out = _E(alts, inexact=a.inexact or b.inexact, degrees=a.degrees or b.degrees)
    out.digits = _fewest(a.digits, b.digits)
    return out


def _map(a: Any, fn: Callable[[sympy.Expr], sympy.Expr], keep_literal: bool = False) -> _E:
    if not isinstance(a, _E):
        raise ParseError("arithmetic on a tuple, set or relation")
    out = _E(
        tuple(dict.fromkeys(fn(x) for x in a.alts)),
        inexact=a.inexact,
        percent=a.percent,
        int_literal=keep_literal and a.int_literal,
        frac_literal=keep_literal and a.frac_literal,
        degrees=a.degrees,
    )
    out.digits = a.digits
    return out


MAX_MATRIX_SIDE = 8


def _is_matrix(value: Any) -> bool:
    return isinstance(value, _Group) and value.kind == "matrix"


def _cell(value: Any) -> sympy.Expr:
    if not isinstance(value, _E) or len(value.alts) != 1:
        raise ParseError("unsupported matrix entry")
    return value.alts[0]


def _matrix_sum(a: _Group, b: _Group, sign: int) -> _Group:
    """``A + B``, ``A - B`` entry by entry (same shape)."""
    if len(a.items) != len(b.items) or any(len(r) != len(s) for r, s in zip(a.items, b.items)):
        raise ParseError("matrices of different shapes")
    return _Group("matrix", [[_combine(x, y, lambda u, v: u + sign * v) for x, y in zip(r, s)] for r, s in zip(a.items, b.items)])


def _matrix_product(a: _Group, b: _Group) -> _Group:
    """``AB``: the matrix product (small matrices only)."""
    rows, inner, cols = len(a.items), len(b.items), len(b.items[0])
    if any(len(r) != inner for r in a.items) or max(rows, inner, cols) > MAX_MATRIX_SIDE:
        raise ParseError("matrices that cannot be multiplied")
    out = []
    for i in range(rows):
        row = []
        for j in range(cols):
            total = sympy.S.Zero
            for k in range(inner):
                total = total + mul(_cell(a.items[i][k]), _cell(b.items[k][j]))
            cell = _E((total,), inexact=any(x.inexact for x in a.items[i]))
            row.append(cell)
        out.append(row)
    return _Group("matrix", out)


class _Parser:
    """Precedence climbing over the token list: list > relation > union > sum > term > unary >
    power > postfix > primary."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.abs_depth = 0

    # -- token helpers --------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind and (value is None or tok.value == value)

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end")
        self.pos += 1
        return tok

    def expect(self, kind: str, value: str | None = None) -> Token:
        if not self.at(kind, value):
            raise ParseError(f"expected {kind} {value or ''}")
        return self.take()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("nested too deeply")

    # -- whole answers --------------------------------------------------------------------
    def parse(self) -> Answer:
        words = [t for t in self.tokens if t.kind == "WORD"]
        if words and len(words) == len(self.tokens):
            return Text(" ".join(w.value.lower() for w in words))
        unit = trailing_unit(self.tokens)
        self.tokens = _drop_unit_letter(_drop_words(self.tokens))
        if not self.tokens:
            raise ParseError("nothing left")
        special = _choice(self.tokens) or _base_number(self.tokens)
        if special is not None:
            return special
        groups = [self.parse_list()]
        while self.at("COMMA", ";"):  # p=5, q=2; p=7, q=2: groups of one solution each
            self.take()
            groups.append(self.parse_list())
        if self.peek() is not None:
            raise ParseError(f"unexpected {self.peek().value!r}")
        if len(groups) > 1:
            return Collection(tuple(_finish_list(group, "list") for group in groups), "list")
        value = _finish_list(groups[0], "list")
        if unit and isinstance(value, Scalar):
            return dataclasses.replace(value, unit=unit)
        return value

    def parse_list(self) -> list[Any]:
        """Items separated by commas; at the top level a semicolon ends the list (a group)."""
        items = [self.parse_relation()]
        while self.at("COMMA") and not (self.depth == 0 and self.at("COMMA", ";")):
            self.take()
            items.append(self.parse_relation())
        return items

    def parse_relation(self) -> Any:
        start = self.pos
        left = self.parse_ratio()
        if not self.at("REL"):
            return left
        if self.at("REL", "in"):
            self.take()
            right = self.parse_ratio()
            if not (isinstance(left, _E) and len(left.alts) == 1 and left.alts[0].is_Symbol):
                raise ParseError("'in' needs a variable on the left")
            if isinstance(right, _Group) and right.kind == "tuple":
                right.meta = "interval"  # x \in (1, 2): a set of numbers, not a point
            return right
        sides, spans, ops = [left], [(start, self.pos)], []
        while self.at("REL") and self.peek().value not in ("in", ":"):
            ops.append(self.take().value)
            begin = self.pos
            sides.append(self.parse_ratio())
            spans.append((begin, self.pos))
        labels = [label_kind(self.tokens[a:b]) for a, b in spans]
        texts = [label_text(self.tokens[a:b]) for a, b in spans]
        return _Group("chain", sides, op=ops, meta=(labels, texts))

    def parse_ratio(self) -> Any:
        """``3:1`` is the number 3/1 (binds tighter than ``=``: ``V_1:V_2 = 11:21``)."""
        left = self.parse_union()
        while self.at("REL", ":"):
            self.take()
            left = _combine(left, self.parse_union(), divide)
        return left

    def parse_union(self) -> Any:
        left = self.parse_sum()
        if not self.at("OP", "cup"):
            return left
        items = [left]
        while self.at("OP", "cup"):
            self.take()
            items.append(self.parse_sum())
        return _Group("union", items)

    def parse_sum(self) -> Any:
        left = self.parse_term()
        while self.at("OP") and self.peek().value in ("+", "-", "pm", "mp"):
            op = self.take().value
            right = self.parse_term()
            if _is_matrix(left) and _is_matrix(right) and op in ("+", "-"):
                left = _matrix_sum(left, right, 1 if op == "+" else -1)
            elif op == "+":
                left = _combine(left, right, lambda x, y: x + y)
            elif op == "-":
                left = _combine(left, right, lambda x, y: x - y)
            else:
                plus = _combine(left, right, lambda x, y: x + y)
                minus = _combine(left, right, lambda x, y: x - y)
                first, second = (plus, minus) if op == "pm" else (minus, plus)
                left = _E(tuple(dict.fromkeys(first.alts + second.alts)), inexact=plus.inexact)
        return left

    def parse_term(self) -> Any:
        left = self.parse_unary()
        while True:
            tok = self.peek()
            if tok is not None and tok.kind == "OP" and tok.value in ("*", "/"):
                self.take()
                right = self.parse_unary()
                if tok.value == "*" and _is_matrix(left) and _is_matrix(right):
                    left = _matrix_product(left, right)
                else:
                    left = _combine(left, right, mul if tok.value == "*" else divide)
            elif self.starts_implicit(tok):
                right = self.parse_power()
                if _is_matrix(left) and _is_matrix(right):
                    left = _matrix_product(left, right)
                elif isinstance(left, _E) and _is_matrix(right):  # \frac{1}{2} \begin{pmatrix}..
                    left = _Group("matrix", [[_combine(left, x, mul) for x in row] for row in right.items])
                elif isinstance(left, _E) and isinstance(right, _E) and left.int_literal and right.frac_literal:
                    whole, frac = left.alts[0], right.alts[0]  # a mixed number: 2\frac{1}{2}
                    left = _E((whole - frac if whole < 0 else whole + frac,))
                else:
                    left = _combine(left, right, mul)
            else:
                return left

    def starts_implicit(self, tok: Token | None) -> bool:
        if tok is None:
            return False
        if tok.kind == "NUM":
            prev = self.tokens[self.pos - 1] if self.pos else None
            return prev is not None and prev.kind not in ("NUM", "OP")
        if tok.kind == "BAR":
            return self.abs_depth == 0
        if tok.kind in ("LP", "LB"):
            return True
        if tok.kind == "CONST":
            return tok.value != "empty"
        return tok.kind in ("SYM", "FUNC", "CMD", "LBRACE", "BEGIN")

    def parse_unary(self) -> Any:
        if self.at("OP", "-"):
            self.take()
            return _map(self.parse_unary(), lambda x: -x, keep_literal=True)
        if self.at("OP", "+"):
            self.take()
            return self.parse_unary()
        if self.at("OP", "pm") or self.at("OP", "mp"):
            self.take()
            value = self.parse_unary()
            if not isinstance(value, _E):
                raise ParseError("\\pm before a tuple")
            return _E(tuple(dict.fromkeys(value.alts + tuple(-x for x in value.alts))), inexact=value.inexact)
        return self.parse_power()

    def parse_power(self) -> Any:
        base = self.parse_postfix()
        if self.at("OP", "^"):
            self.take()
            exponent = self.parse_exponent()
            return _combine(base, exponent, safe_pow)
        return base

    def parse_exponent(self) -> Any:
        self.enter()
        try:
            if self.at("OP", "-"):
                self.take()
                return _map(self.parse_exponent(), lambda x: -x)
            if self.at("OP", "+"):
                self.take()
            value = self.parse_postfix()
            if self.at("OP", "^"):  # right-associative: a^b^c = a^(b^c)
                self.take()
                value = _combine(value, self.parse_exponent(), safe_pow)
            return value
        finally:
            self.depth -= 1

    def parse_postfix(self) -> Any:
        value = self.parse_primary()
        while self.at("OP") and self.peek().value in ("!", "%", "deg"):
            op = self.take().value
            if op == "deg":
                if not isinstance(value, _E):
                    raise ParseError("degree mark after a tuple")
                value.degrees = True
            elif op == "!":
                value = _map(value, safe_factorial)
            else:
                value = _map(value, lambda x: x / 100)
                value.percent = True
        return value

    # -- primaries ------------------------------------------------------------------------
    def parse_primary(self) -> Any:
        self.enter()
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Any:
        tok = self.take()
        kind, value = tok.kind, tok.value
        if kind == "NUM":
            return _number(value)
        if kind == "SYM":
            return self.symbol(value)
        if kind == "CONST":
            if value == "empty":
                return _Group("set", [])
            return _E((_CONSTANTS[value],))
        if kind == "FUNC":
            return self.function(value)
        if kind == "CMD":
            return self.command(value)
        if kind == "LP" and value == "(":
            return self.bracketed("(")
        if kind == "LB":
            return self.bracketed("[")
        if kind == "LP" and value in ("floor", "ceil"):
            inner = self.parse_sum()
            self.expect("RP", value)
            return _map(inner, ONE_ARG[value])
        if kind == "LBRACE":
            items = self.parse_list() if not self.at("RBRACE") else []
            self.expect("RBRACE")
            if len(items) == 1:
                return items[0]
            return _Group("set", items)
        if kind == "LSET":
            items = self.parse_list() if not self.at("RSET") else []
            self.expect("RSET")
            return _Group("set", items)
        if kind == "BAR":
            self.abs_depth += 1
            inner = self.parse_sum()
            self.abs_depth -= 1
            self.expect("BAR")
            return _map(inner, sympy.Abs)
        if kind == "BEGIN":
            return self.matrix(value)
        if kind == "DECOR":
            return self.decorated(value)
        raise ParseError(f"unexpected {value!r}")

    def symbol(self, name: str) -> _E:
        plain = not self.at("OP", "_") and not self.at("OP", "'")
        if self.at("OP", "_"):
            self.take()
            name = f"{name}_{self.subscript_text()}"
        while self.at("OP", "'"):  # y', f'' : a derivative's name
            self.take()
            name += "'"
        if self.applies(name):
            return self.application(name)
        if plain and name in _LETTER_CONSTANTS:
            return _E((_LETTER_CONSTANTS[name],))
        return _E((sympy.Symbol(name),))

    def applies(self, name: str) -> bool:
        """``f(x)``, ``I(0)``, ``x(t)``: a function applied, not a product. Only when "(" follows
        the name with no space and holds one name or number, or the name is f, g, h (a(b+c) stays
        a product)."""
        tok, after, close = self.peek(), self.peek(1), self.peek(2)
        if tok is None or tok.kind != "LP" or tok.value != "(" or tok.space or name in _LETTER_CONSTANTS:
            return False
        if name.rstrip("'") in _FUNCTION_NAMES:
            return True
        return (
            after is not None and after.kind in ("SYM", "NUM") and close is not None and close.kind == "RP" and close.value == ")"
        )

    def application(self, name: str) -> _E:
        self.take()
        items = self.parse_list()
        self.expect("RP", ")")
        if not all(isinstance(i, _E) and len(i.alts) == 1 for i in items):
            raise ParseError("unsupported function argument")
        return _E((sympy.Function(name)(*[i.alts[0] for i in items]),))

    def subscript_text(self) -> str:
        if self.at("LBRACE"):
            self.take()
            parts = []
            while not self.at("RBRACE"):
                tok = self.take()
                if tok.kind not in ("NUM", "SYM", "OP", "WORD") or len(parts) > 8:
                    raise ParseError("unsupported subscript")
                parts.append(tok.value)
            self.take()
            return "".join(parts)  # a_{1} is a_1
        tok = self.take()
        if tok.kind in ("NUM", "SYM"):
            return tok.value
        raise ParseError("unsupported subscript")

    def decorated(self, name: str) -> _E:
        """``\\overline{CD}``, ``\\vec{v}``, ``\\angle ABC``: a named object, kept as one symbol."""
        parts: list[str] = []
        braced = self.at("LBRACE")
        if braced:
            self.take()
        while self.at("SYM") or self.at("WORD") or (braced and self.at("NUM")):
            parts.append(self.take().value)
            if len(parts) > 8:
                raise ParseError("name too long")
        if braced:
            self.expect("RBRACE")
        if not parts:
            raise ParseError(f"\\{name} without a name")
        return self.symbol(f"{name}({''.join(parts)})")

    def bracketed(self, left: str) -> Any:
        items = self.parse_list()
        tok = self.take()
        if tok.kind not in ("RP", "RB") or (tok.kind == "RP" and tok.value != ")"):
            raise ParseError("unclosed bracket")
        right = ")" if tok.kind == "RP" else "]"
        if len(items) == 1:
            if left + right not in ("()", "[]"):
                raise ParseError("mismatched brackets")
            return items[0]
        return _Group("tuple", items, left=left, right=right)

    def latex_arg(self) -> Any:
        """One argument of ``\\frac``/``\\sqrt``/``\\binom``: a braced group, else one token
        (``\\frac12`` is 1/2: a multi-digit number gives up its first digit)."""
        tok = self.peek()
        if tok is None:
            raise ParseError("missing argument")
        if tok.kind == "LBRACE":
            self.take()
            self.enter()
            try:
                value = self.parse_sum()
            finally:
                self.depth -= 1
            self.expect("RBRACE")
            return value
        if tok.kind == "NUM" and len(tok.value) > 1 and tok.value[0].isdigit():
            self.tokens[self.pos] = Token("NUM", tok.value[1:], False)
            return _number(tok.value[0])
        if tok.kind in ("NUM", "SYM", "CONST", "CMD", "DECOR", "LP"):  # LP: \sqrt(2), as models write
            return self.parse_primary()
        raise ParseError("unsupported argument")

    def command(self, name: str) -> Any:
        if name == "frac":
            num, den = self.latex_arg(), self.latex_arg()
            value = _combine(num, den, divide)
            value.frac_literal = bool(getattr(num, "int_literal", False) and getattr(den, "int_literal", False))
            return value
        if name == "sqrt":
            index = None
            if self.at("LB"):
                self.take()
                index = self.parse_sum()
                self.expect("RB")
            radicand = self.latex_arg()
            if index is None:
                return _map(radicand, safe_sqrt)
            return _combine(radicand, index, lambda x, n: safe_pow(x, divide(sympy.S.One, n)))
        if name == "usqrt":  # the Unicode root sign takes a whole number or group: √12
            return _map(self.parse_postfix(), safe_sqrt)
        if name == "binom":
            n, k = self.latex_arg(), self.latex_arg()
            return _combine(n, k, binomial)
        raise ParseError(f"unsupported command {name}")

    def function(self, name: str) -> Any:
        power = None
        base = None
        if self.at("OP", "^"):
            self.take()
            power = self.parse_exponent()
        if name == "log" and self.at("OP", "_"):
            self.take()
            base = self.latex_arg()
        if self.at("LP", "(") or self.at("LBRACE"):
            opener = self.take()
            items = self.parse_list()
            self.expect("RP" if opener.kind == "LP" else "RBRACE")
        else:  # \sin 2x, \cos -58: the factors up to the next operator or function
            negate = self.at("OP", "-")
            if negate:
                self.take()
            arg = self.parse_power()
            while self.starts_implicit(self.peek()) and not self.at("FUNC"):
                arg = _combine(arg, self.parse_power(), mul)
            items = [_map(arg, lambda x: -x) if negate else arg]
        if not all(isinstance(item, _E) and len(item.alts) == 1 for item in items):
            raise ParseError("unsupported function argument")
        args = [item.alts[0] * sympy.pi / 180 if item.degrees and name in TRIG else item.alts[0] for item in items]
        inexact = any(item.inexact for item in items)
        if isinstance(power, _E) and power.alts == (sympy.S.NegativeOne,) and name in INVERSE:
            name, power = INVERSE[name], None
        if name in MANY_ARGS:
            result = MANY_ARGS[name](*args)
        elif len(args) != 1:
            raise ParseError(f"{name} takes one argument")
        elif base is not None:
            if not isinstance(base, _E) or len(base.alts) != 1:
                raise ParseError("unsupported log base")
            if has_huge_number(args[0]) or has_huge_number(base.alts[0]):
                result = sympy.log(args[0], evaluate=False) / sympy.log(base.alts[0], evaluate=False)
            else:
                result = sympy.log(args[0], base.alts[0])
        elif name == "exp":
            result = safe_pow(sympy.E, args[0])
        elif name == "sqrt":
            result = safe_sqrt(args[0])
        elif has_huge_number(args[0]):  # keep f(n) unevaluated: no factoring of a huge n
            result = ONE_ARG[name](args[0], evaluate=False)
        else:
            result = ONE_ARG[name](args[0])
        value = _E((result,), inexact=inexact)
        if power is not None:
            value = _combine(value, power, safe_pow)
        return value

    def matrix(self, env: str) -> Any:
        rows: list[list[Any]] = [[]]
        while True:
            if self.at("END"):
                if self.take().value != env:
                    raise ParseError("mismatched environment")
                break
            if self.at("ROWSEP"):
                self.take()
                rows.append([])
                continue
            if self.at("AMP"):
                self.take()
                continue
            rows[-1].append(self.parse_sum())
        rows = [row for row in rows if row]
        if not rows or len({len(row) for row in rows}) != 1:
            raise ParseError("ragged matrix")
        if env == "vmatrix":  # bars around a matrix: its determinant, a number
            return _determinant(rows)
        if env == "Vmatrix":  # a norm: not read
            raise ParseError("unsupported \\Vmatrix")
        return _Group("matrix", rows)


MAX_DETERMINANT_SIDE = 4


def _determinant(rows: list[list[Any]]) -> _E:
    """The determinant of a small square matrix of single values (Laplace expansion on the first
    row: at most 4x4, each product bounded like any other)."""
    side = len(rows)
    if side > MAX_DETERMINANT_SIDE or any(len(row) != side for row in rows):
        raise ParseError("determinant of a large or non-square matrix")
    cells = [[_cell(cell) for cell in row] for row in rows]

    def det(m: list[list[sympy.Expr]]) -> sympy.Expr:
        if len(m) == 1:
            return m[0][0]
        total = sympy.S.Zero
        for j, head in enumerate(m[0]):
            minor = [row[:j] + row[j + 1 :] for row in m[1:]]
            term = mul(head, det(minor))
            total = total + term if j % 2 == 0 else total - term
        return total

    out = _E((det(cells),), inexact=any(cell.inexact for row in rows for cell in row))
    out.digits = _fewest(*(cell.digits for row in rows for cell in row))
    return out


_UNIT_LETTERS = frozenset("msgLlhKJWNVACF")


def _drop_unit_letter(tokens: list[Token]) -> list[Token]:
    """``150 m``, ``13 s``, ``11 \\degree C``: a last single letter after a number (or a degree
    mark), written apart from it, is a unit."""
    last = tokens[-1] if tokens else None
    if (
        len(tokens) >= 2 and last.kind == "FUNC" and last.value in ("sec", "min") and last.space and tokens[-2].kind == "NUM"
    ):  # 13.2 sec, 8 min
        return tokens[:-1]
    if (
        len(tokens) >= 2
        and tokens[-1].kind == "SYM"
        and tokens[-1].value in _UNIT_LETTERS
        and tokens[-1].space
        and (tokens[-2].kind == "NUM" or (tokens[-2].kind == "OP" and tokens[-2].value == "deg"))
    ):
        return tokens[:-1]
    return tokens


def _drop_words(tokens: list[Token]) -> list[Token]:
    """Leave out words (units, prose) at the start, at the end, and before a separator or closer.

    A unit's exponent goes with it (``\\text{cm}^2``). Words anywhere else stay, and the parser
    then rejects the answer rather than guessing.
    """
    out: list[Token] = []
    i, n = 0, len(tokens)
    while i < n:
        if tokens[i].kind != "WORD":
            out.append(tokens[i])
            i += 1
            continue
        j = i
        while j < n and tokens[j].kind == "WORD":
            j += 1
        if j + 1 < n and tokens[j].kind == "OP" and tokens[j].value == "^" and tokens[j + 1].kind == "NUM":
            j += 2
        named = bool(out) and (out[-1].kind == "DECOR" or (len(out) > 1 and out[-2].kind == "DECOR"))
        if named:  # \angle ABC: the word is the name
            out.extend(tokens[i:j])
            i = j
            continue
        leading = not out or out[-1].kind in ("COMMA", "LP", "LB", "LSET", "LBRACE")
        trailing = j >= n or tokens[j].kind in ("COMMA", "RP", "RB", "RSET", "RBRACE")
        if not (leading or trailing):
            out.extend(tokens[i:j])
        i = j
    return out


def _choice(tokens: list[Token]) -> Choice | None:
    kinds = [t.kind for t in tokens]
    letter = None
    if kinds == ["SYM"]:
        letter = tokens[0].value
    elif kinds in (["LP", "SYM", "RP"], ["SYM", "RP"]) and tokens[-1].value == ")":
        letter = tokens[-2].value
    return Choice(letter) if letter in _CHOICE_LETTERS else None


def _base_number(tokens: list[Token]) -> BaseNumber | None:
    """``52_8``, ``-221_3``, ``0.0011_{2}``, ``4210_{5}``: digits as written, and the base."""
    sign = ""
    if tokens and tokens[0].kind == "OP" and tokens[0].value == "-":
        sign, tokens = "-", tokens[1:]
    values = [t.value for t in tokens]
    kinds = [t.kind for t in tokens]
    if kinds == ["NUM", "OP", "NUM"] and values[1] == "_":
        digits, base = values[0], values[2]
    elif kinds == ["NUM", "OP", "LBRACE", "NUM", "RBRACE"] and values[1] == "_":
        digits, base = values[0], values[3]
    else:
        return None
    if not (digits.replace(".", "", 1).isdigit() and base.isdigit() and 2 <= int(base) <= 36):
        return None
    if any(int(d) >= int(base) for d in digits if d != "."):
        raise ParseError(f"{digits} has a digit that base {base} does not have")  # 42_3
    if "." not in digits:
        digits = digits.lstrip("0") or "0"
    return BaseNumber(sign + digits, int(base))


def _finish(value: Any) -> Answer:
    """Internal parse value -> public :mod:`.values` type."""
    if isinstance(value, _E):
        if len(value.alts) == 1:
            return Scalar(value.alts[0], inexact=value.inexact, percent=value.percent, digits=value.digits)
        return Collection(tuple(Scalar(a, inexact=value.inexact, digits=value.digits) for a in value.alts), "list")
    kind = value.kind
    if kind == "rel":
        left, right = value.items
        if not (isinstance(left, _E) and isinstance(right, _E) and len(left.alts) == 1):
            raise ParseError("unsupported relation")
        op = value.op
        inexact = left.inexact or right.inexact
        rels = []
        for r in right.alts:
            lhs, rhs = left.alts[0], r
            if op in (">", ">="):
                lhs, rhs, op2 = rhs, lhs, {">": "<", ">=": "<="}[op]
            else:
                op2 = op
            rels.append(Relation(lhs, op2, rhs, inexact=inexact))
        return rels[0] if len(rels) == 1 else Collection(tuple(rels), "list")
    if kind == "tuple":
        items = tuple(_finish(i) for i in value.items)
        unbounded = any(isinstance(i, Scalar) and i.expr in (sympy.oo, -sympy.oo) for i in items)
        return Bracketed(items, value.left, value.right, interval=value.meta == "interval" or unbounded)
    if kind == "set":
        return _finish_list(value.items, "set", always=True)
    if kind == "union":
        parts = tuple(_finish(i) for i in value.items)
        if all(isinstance(p, Collection) and p.kind == "set" for p in parts):  # {1,2} u {2,3}
            return Collection(tuple(dict.fromkeys(x for p in parts for x in p.items)), "set")
        return Collection(parts, "union")
    if kind == "chain":
        return _finish_chain(value)
    if kind == "matrix":
        rows = []
        for row in value.items:
            cells = []
            for cell in row:
                if not isinstance(cell, _E) or len(cell.alts) != 1:
                    raise ParseError("unsupported matrix entry")
                cells.append(Scalar(cell.alts[0], inexact=cell.inexact, digits=cell.digits))
            rows.append(tuple(cells))
        return Matrix(tuple(rows))
    raise ParseError(f"unknown value {kind}")


_EQUALS = frozenset({"=", "approx"})


def _finish_chain(group: _Group) -> Answer:
    """``a op b op c ...``: an equation, a labelled answer, an interval or a set of facts."""
    sides, ops = group.items, group.op
    labels, texts = group.meta
    if all(op in _EQUALS for op in ops):
        return _finish_equalities(sides, ops, labels, texts)
    single = [s.alts[0] if isinstance(s, _E) and len(s.alts) == 1 else None for s in sides]
    if None not in single:
        pieces = interval_of(single, ops, [k == "composite" for k in labels])
        if pieces is not None:
            inexact = any(s.inexact for s in sides)
            parts = tuple(
                Bracketed((Scalar(lo, inexact), Scalar(hi, inexact)), left, right, interval=True)
                for lo, hi, left, right in pieces
            )
            return parts[0] if len(parts) == 1 else Collection(parts, "union")
    if len(sides) == 2:
        return _finish(_Group("rel", sides, op=ops[0]))
    # a < b < c with no single bounded quantity: the facts a < b and b < c, in any order
    links = [_Group("rel", [sides[i], sides[i + 1]], op=ops[i]) for i in range(len(ops))]
    return Collection(tuple(_finish(link) for link in links), "chain")


def _constant(value: Any) -> bool:
    return isinstance(value, _E) and all(not a.free_symbols for a in value.alts)


def _finish_equalities(sides: list[Any], ops: list[str], labels: list[str | None], texts: list[str]) -> Answer:
    """``x = 5 + 5 + 1 = 11`` is ``x = 11`` (the last member); ``1/3 \\approx 0.33`` is 1/3 (the
    member before an approximation); ``(p,q) = (3,2)`` is (3, 2) labelled ``(p,q)``; a chain of
    constants is its last value."""
    if "approx" in ops:
        k = ops.index("approx")
        chosen = k + 1 if k == 0 and labels[0] else k
    else:
        chosen = len(sides) - 1
    value = sides[chosen]
    if chosen == 0 or (all(_constant(s) for s in sides) and not labels[0]):
        return _finish(value)
    head = 0
    if not labels[0] and labels[chosen] and _constant(sides[0]) and len(sides) == 2:
        head, value = chosen, sides[0]  # the label on the right: 11:21 = V_1:V_2
    if labels[head] == "composite" or (labels[head] == "symbol" and not isinstance(value, _E)):
        return Labelled(texts[head], _finish(value))  # (p,q) = (3,2); D = (0, 1)
    if not labels[head] and "approx" in ops:
        return _finish(value)
    return _finish(_Group("rel", [sides[head], value], op="="))


def _finish_list(items: list[Any], kind: str, always: bool = False) -> Answer:
    """A comma list: one item stands for itself; the values of ``\\pm`` join the list."""
    flat: list[Answer] = []
    for item in items:
        done = _finish(item)
        if isinstance(done, Collection) and done.kind == "list":
            flat.extend(done.items)
        else:
            flat.append(done)
    if len(flat) == 1 and not always:
        return flat[0]
    if kind == "list" and all(isinstance(item, Bracketed) and item.interval for item in flat):
        return Collection(tuple(flat), "union")  # x < -3 or x > 3: one set of numbers
    return Collection(tuple(flat), kind)
