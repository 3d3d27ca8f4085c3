"""Bounded sympy arithmetic: every operation that could be enormous is checked before it runs.

Two dangers. Exact numbers can grow without limit (``9^9^9^9``, ``1000000!``): sizes are
estimated first and refused past :data:`MAX_RESULT_BITS`. And sympy evaluates some functions of
exact numbers by factoring them (roots look for perfect powers, logs for integer powers): on a
huge number that is one long C call which no time limit can interrupt, so roots of numbers past
:data:`MAX_ROOT_BITS` are refused and other functions of them are left unevaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy

MAX_RESULT_BITS = 40_000  # about 12,000 decimal digits for any exact number built
MAX_EXPONENT = 100_000  # for bases that are not rational numbers (x^n, sqrt(2)^n)
MAX_FACTORIAL = 3_000  # log2(3000!) is about 30,000 bits
MAX_BINOMIAL = 5_000
MAX_ROOT_BITS = 1024  # roots, logs and other functions of exact numbers: sympy factors them
MAX_HEIGHT_NODES = 2000
MAX_TOTAL_BITS = 4 * MAX_RESULT_BITS


class ParseError(ValueError):
    """The answer cannot be read (or would be too costly to build)."""


def check_size(expr: sympy.Expr) -> None:
    if expr is sympy.nan or expr is sympy.zoo:
        raise ParseError("undefined value")
    if isinstance(expr, sympy.Rational):
        if max(int(expr.p).bit_length(), int(expr.q).bit_length()) > MAX_RESULT_BITS:
            raise ParseError("number too large")
    elif expr.is_number and height(expr) > MAX_TOTAL_BITS:  # many large exact parts together
        raise ParseError("numbers too large")


def height(expr: sympy.Expr) -> float:
    """Bits of all the exact numbers written in ``expr`` (at least 1): how many bits a power of
    it can take per unit of exponent once sympy multiplies out its rational parts."""
    total = 1.0
    for count, atom in enumerate(sympy.preorder_traversal(expr)):
        if count > MAX_HEIGHT_NODES:
            return float("inf")
        if isinstance(atom, sympy.Rational):
            total += bits(atom)
    return total


def bits(x: sympy.Rational) -> int:
    return max(int(x.p).bit_length(), int(x.q).bit_length())


def safe_pow(base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
    """``base ** exp``, refused before computing when the result could be enormous."""
    if exp.is_number and not exp.free_symbols:
        if exp.is_Rational:
            size = abs(exp)
        else:
            approx = sympy.N(exp, 15)
            if not approx.is_number or approx.has(sympy.zoo, sympy.nan):
                raise ParseError("undefined exponent")
            size = abs(complex(approx))
        if base in (sympy.S.One, sympy.S.NegativeOne, sympy.S.Zero):
            pass
        elif isinstance(base, sympy.Rational):
            if float(size) * max(math.log2(abs(int(base.p))), math.log2(int(base.q))) > MAX_RESULT_BITS:
                raise ParseError("power too large")
            if not exp.is_Integer and bits(base) > MAX_ROOT_BITS:
                # sympy looks for perfect powers by factoring: one C call that no time limit stops
                raise ParseError("root of a number too large")
        elif size > MAX_EXPONENT:
            raise ParseError("exponent too large")
        elif base.is_number and float(size) * height(base) > MAX_RESULT_BITS:
            # sqrt(2)^(10^9), (sqrt(3)^9999)^9999: sympy pulls the rational part out of an
            # irrational base and builds it exactly, inside one uninterruptible C call
            raise ParseError("power too large")
    if base == 0 and exp.is_number and exp.is_negative:
        raise ParseError("division by zero")
    return sympy.Pow(base, exp)


def safe_sqrt(x: sympy.Expr) -> sympy.Expr:
    return safe_pow(x, sympy.S.Half)


def has_huge_number(expr: sympy.Expr) -> bool:
    return any(bits(atom) > MAX_ROOT_BITS for atom in expr.atoms(sympy.Rational))


def safe_factorial(x: sympy.Expr) -> sympy.Expr:
    if x.is_Integer:
        if x < 0 or x > MAX_FACTORIAL:  # log2(3000!) is about 30,000 bits
            raise ParseError("factorial out of range")
        return sympy.factorial(x)
    if x.is_number:
        raise ParseError("factorial of a non-integer")
    return sympy.factorial(x)


def divide(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    if b == 0:
        raise ParseError("division by zero")
    return a / b


def mul(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    if isinstance(a, sympy.Rational) and isinstance(b, sympy.Rational) and bits(a) + bits(b) > MAX_RESULT_BITS:
        raise ParseError("product too large")
    return a * b


def _integer_args(args: list[sympy.Expr], name: str) -> list[int]:
    if not args or not all(a.is_Integer for a in args):
        raise ParseError(f"{name} needs integers")
    return [int(a) for a in args]


def _gcd(*args: sympy.Expr) -> sympy.Expr:
    return sympy.Integer(math.gcd(*_integer_args(list(args), "gcd")))


def _lcm(*args: sympy.Expr) -> sympy.Expr:
    values = _integer_args(list(args), "lcm")
    out = values[0]
    for v in values[1:]:
        out = abs(out * v) // math.gcd(out, v) if out and v else 0
        if out.bit_length() > MAX_RESULT_BITS:
            raise ParseError("lcm too large")
    return sympy.Integer(out)


def binomial(n: sympy.Expr, k: sympy.Expr) -> sympy.Expr:
    if n.is_Integer and (abs(n) > MAX_BINOMIAL):
        raise ParseError("binomial too large")
    if n.is_number and not n.is_Integer:
        raise ParseError("binomial of a non-integer")
    return sympy.binomial(n, k)


ONE_ARG: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "cot": sympy.cot,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "arccot": sympy.acot,
    "arcsec": sympy.asec,
    "arccsc": sympy.acsc,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "coth": sympy.coth,
    "sech": sympy.sech,
    "csch": sympy.csch,
    "ln": sympy.log,
    "log": sympy.log,
    "exp": sympy.exp,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
}
TRIG = frozenset({"sin", "cos", "tan", "sec", "csc", "cot"})
INVERSE = {"sin": "arcsin", "cos": "arccos", "tan": "arctan", "cot": "arccot", "sec": "arcsec", "csc": "arccsc"}
MANY_ARGS: dict[str, Callable[..., sympy.Expr]] = {
    "gcd": _gcd,
    "lcm": _lcm,
    "max": sympy.Max,
    "min": sympy.Min,
}
