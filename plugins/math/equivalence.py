"""Are two answers the same? Exact first, then numeric, then symbolic; structure by structure.

Numbers: two exact rationals are compared exactly (1/3 is not 0.3333333). When a decimal was
written on either side the comparison is numeric with a relative tolerance (``rel_tol``). Other
constants (``\\sqrt{2}/2`` vs ``1/\\sqrt{2}``) are evaluated to 30 digits and must agree to 1e-12.
Expressions with variables are evaluated at fixed points of both signs, zero and non-integers:
any disagreement proves they differ; agreement at every point (at least three defined) is accepted (a standard probabilistic identity test); when too few
points can be evaluated, ``sympy.simplify(a - b) == 0`` decides, under its own time limit.

Structures: tuples and intervals element-wise with the same brackets (``(1, 2]`` is not
``[1, 2]``); sets, bare lists and the two values of ``\\pm`` order-insensitively; a one-column
matrix is also a tuple; ``x = 5`` matches ``5``; two equations match when one is a nonzero multiple
of the other (``y = 2x + 3`` and ``2x - y + 3 = 0``); percentages match both readings (50% is 50
and 0.5); ``52_8`` matches ``52_8`` (or a bare ``52``) but not 42.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import sympy
from sympy.core.function import AppliedUndef

from grpo_rewards.timelimit import call_with_time_limit

from .bounded import MAX_ROOT_BITS
from .parse import parse_answer
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

EXACT_TOL = 1e-12
POINT_FLOOR = 1e-25  # with variables substituted: terms cancel to about 1e-30 of their size
CONSTANT_FLOOR = 1e-80
SIMPLIFY_SECONDS = 1.0
DIGITS = 30
_PREC = 110  # bits, a little over DIGITS decimal digits
MIN_POINTS = 3
MAX_ITEMS = 32
MAX_SIMPLIFY_NODES = 400
MAX_POINTS = 8
# Values substituted for variables: both signs, zero, non-integers, small and large, so that |x|
# and x, sqrt(x^2) and x, floor(x) and x, x/|x| and 1 disagree somewhere. A point where either
# side is undefined is skipped; every point that can be evaluated must agree.
_POINTS = (0.5819, -1.2873, 2.1327, -0.8761, 0.0, 1.7012, -2.6659, 0.3391, -0.4459, 7.6637, -1.9143, 1.4459)


def answers_equivalent(predicted: str | None, gold: str | None, *, rel_tol: float = 1e-6) -> bool | None:
    """Whether ``predicted`` states the same answer as ``gold`` (both answer strings, already
    extracted). None when the gold answer cannot be parsed; False when the prediction cannot."""
    if not isinstance(gold, str):
        return None
    gold_value = parse_answer(gold)
    if gold_value is None:
        return None
    return matches(predicted, gold_value, rel_tol=rel_tol)


def matches(predicted: str | None, gold_value: Answer, *, rel_tol: float = 1e-6) -> bool:
    """``predicted`` (an answer string) against an already parsed gold value."""
    if not isinstance(predicted, str) or not predicted.strip():
        return False
    value = parse_answer(predicted)
    return value is not None and values_equivalent(value, gold_value, rel_tol=rel_tol)


def values_equivalent(a: Answer, b: Answer, *, rel_tol: float = 1e-6) -> bool:
    """Two parsed answers; symmetric."""
    if a == b:
        return True
    for x, y in ((a, b), (b, a)):
        result = _compare(x, y, rel_tol)
        if result is not None:
            return result
    return False


def _compare(a: Answer, b: Answer, rel_tol: float) -> bool | None:
    """None: this ordering of the pair is not handled here (the other one may be)."""
    if isinstance(a, Ambiguous):
        return any(values_equivalent(r, b, rel_tol=rel_tol) for r in a.readings)
    if isinstance(a, Labelled):
        if isinstance(b, Labelled):
            return a.label == b.label and values_equivalent(a.value, b.value, rel_tol=rel_tol)
        if isinstance(b, Relation):
            return (
                b.op == "="
                and (b.lhs.is_Symbol or b.rhs.is_Symbol)
                and values_equivalent(a.value, Scalar(b.rhs if b.lhs.is_Symbol else b.lhs, b.inexact), rel_tol=rel_tol)
            )
        return values_equivalent(a.value, b, rel_tol=rel_tol)
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return _scalars_equal(a, b, rel_tol)
    if isinstance(a, Relation) and isinstance(b, Relation):
        return _relations_equal(a, b, rel_tol)
    if isinstance(a, Relation) and isinstance(b, Scalar):
        if a.op != "=":
            return False
        for side, other in ((a.lhs, a.rhs), (a.rhs, a.lhs)):
            if side.is_Symbol and side not in b.expr.free_symbols:
                return _scalars_equal(Scalar(other, a.inexact), b, rel_tol)
        return False
    if isinstance(a, Clock):
        if isinstance(b, Clock):
            return (a.hours, a.minutes) == (b.hours, b.minutes)
        if isinstance(b, Scalar) and a.minutes and not b.percent and not b.unit:  # 11:21 as a ratio
            return expressions_equal(sympy.Rational(a.hours, a.minutes), b.expr, b.inexact, rel_tol)
        return None if isinstance(b, (Labelled, Ambiguous)) else False
    if isinstance(a, Collection) and _assignment(a) and isinstance(b, Bracketed) and b.left + b.right == "()":
        return _pairwise(a.items, b.items, rel_tol)  # p = 5, q = 2 is the pair (5, 2)
    if isinstance(a, Bracketed) and isinstance(b, Bracketed):
        if a.left + a.right == "()" and a.interval != b.interval:
            return False  # (1, 2) may be a point; 1 < x < 2 and x \in (1, 2) are sets of numbers
        return (a.left, a.right) == (b.left, b.right) and _pairwise(a.items, b.items, rel_tol)
    if isinstance(a, Matrix) and isinstance(b, Matrix):
        return a.shape == b.shape and _pairwise(_cells(a), _cells(b), rel_tol)
    if isinstance(a, Matrix) and isinstance(b, Bracketed):
        rows, cols = a.shape
        return (rows == 1 or cols == 1) and b.left + b.right in ("()", "[]") and _pairwise(_cells(a), b.items, rel_tol)
    if isinstance(a, Collection) and isinstance(b, Collection):
        if (a.kind == "union") != (b.kind == "union"):
            return False
        if a.kind == "list" and b.kind == "list" and (_assignment(a) != _assignment(b)):
            # x = 3, y = 2 names each value: a bare list must give them in that order
            return _pairwise(a.items, b.items, rel_tol)
        return _same_multiset(a.items, b.items, rel_tol)
    if isinstance(a, Collection) and a.kind == "set" and len(a.items) == 1 and not isinstance(b, Collection):
        return values_equivalent(a.items[0], b, rel_tol=rel_tol)
    if isinstance(a, Collection) and a.kind == "list" and 1 < len(a.items) <= MAX_ITEMS and not isinstance(b, Collection):
        # one value stated twice (\boxed{15\frac{39}{40}} or \boxed{\frac{639}{40}}): that value
        return all(values_equivalent(item, b, rel_tol=rel_tol) for item in a.items)
    if isinstance(a, Text) and isinstance(b, Text):
        return a.text.replace(" ", "") == b.text.replace(" ", "")
    if isinstance(a, Choice) and isinstance(b, Choice):
        return a.letter == b.letter
    if isinstance(a, BaseNumber) and isinstance(b, BaseNumber):
        return a.base == b.base and a.digits == b.digits
    if isinstance(a, BaseNumber) and isinstance(b, Scalar):  # the base is part of the value: 52_8 is not 52
        return a.base == 10 and b.expr.is_Integer and not b.percent and str(b.expr) == a.digits
    return None


def _assignment(c: Collection) -> bool:
    """``x = 3, y = 2``: values given to distinct names, so their order means something (``x = 2
    or x = 3``, the solutions of one unknown, may come in any order)."""
    names = [item.lhs for item in c.items if isinstance(item, Relation) and item.op == "=" and item.lhs.is_Symbol]
    return len(names) == len(c.items) > 1 and len(set(names)) == len(names)


def _pairwise(xs: Sequence[Answer], ys: Sequence[Answer], rel_tol: float) -> bool:
    return len(xs) == len(ys) and all(values_equivalent(x, y, rel_tol=rel_tol) for x, y in zip(xs, ys))


def _cells(m: Matrix) -> list[Answer]:
    return [cell for row in m.rows for cell in row]


def _distinct(items: Sequence[Answer], rel_tol: float) -> list[Answer]:
    """The items with repeats dropped: the same value written twice (25/13 and 1 12/13) counts once."""
    out: list[Answer] = []
    for item in list(dict.fromkeys(items))[: MAX_ITEMS + 1]:
        if not any(values_equivalent(item, kept, rel_tol=rel_tol) for kept in out):
            out.append(item)
    return out


def _same_multiset(xs: Sequence[Answer], ys: Sequence[Answer], rel_tol: float) -> bool:
    """Order-insensitive: duplicates collapse (a set), then a perfect matching must exist."""
    xs, ys = _distinct(xs, rel_tol), _distinct(ys, rel_tol)
    if len(xs) != len(ys) or len(xs) > MAX_ITEMS:
        return False
    equal = [[values_equivalent(x, y, rel_tol=rel_tol) for y in ys] for x in xs]
    match_of: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:  # Kuhn's bipartite matching
        for j, ok in enumerate(equal[i]):
            if ok and j not in seen:
                seen.add(j)
                if j not in match_of or augment(match_of[j], seen):
                    match_of[j] = i
                    return True
        return False

    return all(augment(i, set()) for i in range(len(xs)))


def _scalars_equal(a: Scalar, b: Scalar, rel_tol: float) -> bool:
    inexact = a.inexact or b.inexact
    if inexact:  # never looser than half a unit in the last place of the coarser decimal written
        units = [u for u in (_half_unit(a, b), _half_unit(b, a)) if u is not None]
        if units:
            rel_tol = min(rel_tol, max(units))
    if a.unit and b.unit and a.unit != b.unit:  # 5 cm is not 5 m
        return False
    if a.percent != b.percent:  # 50% against 0.5 (its value) or 50 (the number of percent)
        pct, other = (a, b) if a.percent else (b, a)
        if expressions_equal(pct.expr, other.expr, inexact, rel_tol):
            return True
        # a bare number under 1 is a proportion: 0.5 is 50%, never 0.5%
        count = _numeric(other.expr)
        return count is not None and abs(count) >= 1 and expressions_equal(pct.expr * 100, other.expr, inexact, rel_tol)
    return expressions_equal(a.expr, b.expr, inexact, rel_tol)


def _half_unit(written: Scalar, other: Scalar) -> float | None:
    """Half a unit in the last place of the decimal ``written`` holds, relative to the larger of
    the two values: 999999.5 is within 0.05 of its value, so it is not 1000000 at any ``rel_tol``.
    None when ``written`` has no decimal; the old significant-digit bound when a value cannot be
    evaluated."""
    if not written.digits:
        return None
    fallback = 0.5 * 10.0 ** (1 - written.digits)
    if written.expr.free_symbols or other.expr.free_symbols:
        return fallback
    u, v = _numeric(written.expr), _numeric(other.expr)
    if u is None or v is None or abs(u) == 0:
        return fallback
    unit = mpmath.mpf(10) ** (mpmath.floor(mpmath.log10(abs(u))) + 1 - written.digits)
    return float(0.5 * unit / max(abs(u), abs(v)))


def _relations_equal(a: Relation, b: Relation, rel_tol: float) -> bool:
    inexact = a.inexact or b.inexact
    if a.op != b.op:
        return False
    if a.op in ("=", "!="):
        if a.lhs.is_Symbol and a.lhs == b.lhs:
            return expressions_equal(a.rhs, b.rhs, inexact, rel_tol)
        if a.rhs.is_Symbol and a.rhs == b.rhs:
            return expressions_equal(a.lhs, b.lhs, inexact, rel_tol)
        return _proportional(a.lhs - a.rhs, b.lhs - b.rhs, inexact, rel_tol)
    return expressions_equal(a.lhs, b.lhs, inexact, rel_tol) and expressions_equal(a.rhs, b.rhs, inexact, rel_tol)


def _proportional(d1: sympy.Expr, d2: sympy.Expr, inexact: bool, rel_tol: float) -> bool:
    """``d1 = 0`` and ``d2 = 0`` are the same equation: ``d1 = c * d2`` for a constant c != 0."""
    if d1 == d2 or d1 == -d2:
        return True
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols:
        return False
    ratio = None
    valid = 0
    tol = rel_tol if inexact else 1e-9
    for k in range(len(_POINTS)):
        subs = _point(symbols, k)
        u, v = _numeric(d1, subs), _numeric(d2, subs)
        if u is None or v is None or abs(v) < 1e-12:
            continue
        r = u / v
        if ratio is None:
            if abs(r) < 1e-12:
                return False
            ratio = r
        elif not _close(r, ratio, tol):
            return False
        valid += 1
        if valid >= MIN_POINTS + 1:
            return True
    return False


def expressions_equal(x: sympy.Expr, y: sympy.Expr, inexact: bool = False, rel_tol: float = 1e-6) -> bool:
    """Exact, then numeric, then symbolic equality of two sympy expressions."""
    if x == y:
        return True
    if isinstance(x, sympy.Rational) and isinstance(y, sympy.Rational) and not inexact:
        return False
    if _infinite(x) or _infinite(y):
        return False
    tol = rel_tol if inexact else EXACT_TOL
    x, y = _named(x), _named(y)
    symbols = sorted(x.free_symbols | y.free_symbols, key=str)
    if not symbols:
        u, v = _numeric(x), _numeric(y)
        if u is not None and v is not None:
            return _close(u, v, tol, floor=CONSTANT_FLOOR)
        return _simplifies_to_zero(x - y)
    valid = 0
    for k in range(len(_POINTS)):
        subs = _point(symbols, k)
        u, v = _numeric(x, subs), _numeric(y, subs)
        if u is None or v is None:
            continue
        if not _close(u, v, max(tol, 1e-10)):
            return False
        valid += 1
        if valid >= MAX_POINTS:
            break
    if valid >= MIN_POINTS:
        return True
    return _simplifies_to_zero(x - y)


def _named(x: sympy.Expr) -> sympy.Expr:
    """``f(x)``, ``I(0)``: an unknown function applied is a named quantity; a symbol of that name
    can be evaluated at points, the application cannot."""
    applied = x.atoms(AppliedUndef)
    if not applied:
        return x
    return x.xreplace({app: sympy.Symbol(str(app)) for app in applied})


def _infinite(x: sympy.Expr) -> bool:
    return x.has(sympy.oo, -sympy.oo, sympy.zoo)


def _point(symbols: list[sympy.Symbol], k: int) -> dict[sympy.Symbol, sympy.Float]:
    n = len(_POINTS)
    return {s: sympy.Float(_POINTS[(k + 3 * j) % n] + 0.1 * j, 20) for j, s in enumerate(symbols)}


def _numeric(expr: sympy.Expr, subs: dict | None = None) -> mpmath.mpc | None:
    """The value to ``DIGITS`` digits (an mpmath complex: no overflow at 1e20000); None when it
    is undefined or not a number."""
    try:
        value = expr.evalf(DIGITS, subs=subs) if subs else expr.evalf(DIGITS)
        if not value.is_number or value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            return None
        out = mpmath.mpc(value._to_mpmath(_PREC))
    except (TypeError, ValueError, ArithmeticError, AttributeError, RecursionError):
        return None
    if not mpmath.isfinite(out):
        return None
    return out


def _close(u: mpmath.mpc, v: mpmath.mpc, tol: float, floor: float = POINT_FLOOR) -> bool:
    """Relatively close; ``floor`` absorbs the rounding noise of an evaluation that should be 0
    (kept far below physical constants such as 1e-27 when no variable was substituted)."""
    diff = abs(u - v)
    return bool(diff <= tol * max(abs(u), abs(v)) or diff <= floor)


def _too_big_to_simplify(expr: sympy.Expr) -> bool:
    for count, node in enumerate(sympy.preorder_traversal(expr)):
        if count > MAX_SIMPLIFY_NODES:
            return True
        if isinstance(node, sympy.Rational) and max(int(node.p).bit_length(), int(node.q).bit_length()) > MAX_ROOT_BITS:
            return True
    return False


def _simplifies_to_zero(diff: sympy.Expr) -> bool:
    """``simplify(diff) == 0`` under its own time limit; not tried on huge expressions or huge
    exact numbers, where sympy may spend a long time inside one C call (factoring) that no time
    limit can interrupt."""
    if _too_big_to_simplify(diff):
        return False

    def run() -> bool:
        return sympy.simplify(diff) == 0

    try:
        return bool(call_with_time_limit(SIMPLIFY_SECONDS, run, False))
    except (TypeError, ValueError, ArithmeticError, AttributeError, RecursionError, NotImplementedError):
        return False
