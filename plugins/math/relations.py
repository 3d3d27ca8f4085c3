"""Inequalities as the sets they describe, and labels on answers.

``x \\geq 5``, ``5 \\le x``, ``-x \\le -5`` and ``[5, \\infty)`` all say the same thing; so do
``-2 \\le x \\le 7`` and ``x \\in [-2, 7]``, and ``1 \\le |z| \\le 3/2`` and
``[-3/2, -1] \\cup [1, 3/2]``. An inequality (or a chain of them) that bounds one quantity by
numbers is turned into that interval or union, so every way of writing it compares equal. The
quantity is a variable appearing linearly (``-x > -1``), its absolute value, or a named quantity
such as ``f(x)`` (``0 < f(x) < 1`` is ``(0, 1)``).

A *label* is the name an answer is given: ``(p, q) = (3, 2)``, ``AB = 4``, ``f(x) = 1``,
``V_1 : V_2 = 11 : 21``. It is recognised from its tokens (names, brackets, subscripts, ratios,
no numbers or arithmetic), so ``a + 3z = 0`` remains an equation while ``f(x) = 1`` answers 1.
"""

from __future__ import annotations

import sympy

from .lexer import Token

_LABEL_OPS = frozenset({"*", "/", "_", "'"})
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
MAX_LABEL_TOKENS = 24


def label_kind(tokens: list[Token]) -> str | None:
    """``"symbol"`` for one (subscripted) name such as ``x`` or ``a_{3}``, ``"composite"`` for a
    name made of several parts (``(p,q)``, ``f(x)``, ``AB``, ``|AB|``, ``\\frac{NO}{BO}``), None
    when the tokens hold numbers or arithmetic (an expression, not a name)."""
    if not tokens or len(tokens) > MAX_LABEL_TOKENS:
        return None
    symbols = 0
    prev = None
    in_subscript = 0
    for tok in tokens:
        kind, value = tok.kind, tok.value
        if kind == "SYM":
            symbols += 1
        elif kind == "NUM":
            if not (prev is not None and prev.kind == "OP" and prev.value == "_") and not in_subscript:
                return None
        elif kind == "OP":
            if value not in _LABEL_OPS:
                return None
        elif kind == "LBRACE":
            if prev is not None and prev.kind == "OP" and prev.value == "_":
                in_subscript += 1
        elif kind == "RBRACE":
            in_subscript = max(0, in_subscript - 1)
        elif kind == "REL":
            if value != ":":
                return None
        elif kind == "CMD":
            if value != "frac":
                return None
        elif kind not in ("LP", "RP", "COMMA", "BAR", "DECOR"):
            return None
        prev = tok
    if symbols == 0:
        return None
    plain = [t for t in tokens if t.kind not in ("LBRACE", "RBRACE")]
    if plain[0].kind == "SYM" and (len(plain) == 1 or (plain[1].kind == "OP" and plain[1].value == "_" and len(plain) == 3)):
        return "symbol"
    if len(plain) == 2 and plain[0].kind == "DECOR":
        return "symbol"
    return "composite"


def label_text(tokens: list[Token]) -> str:
    """A label as one canonical string (braces and spacing dropped): ``a_{3}`` -> ``a_3``."""
    return "".join(t.value for t in tokens if t.kind not in ("LBRACE", "RBRACE"))


def _bound(quantity: sympy.Expr, op: str, const: sympy.Expr, named: bool):
    """``quantity op const`` as (variable, op, value) with the variable alone on the left; None
    when the quantity is not linear in one variable (and not a named quantity)."""
    if named:
        return quantity, op, const
    symbols = quantity.free_symbols
    if len(symbols) != 1:
        return None
    (s,) = symbols
    if quantity == s:
        return s, op, const
    coeff = quantity.diff(s)
    rest = sympy.expand(quantity - coeff * s)
    if not coeff.is_number or coeff == 0 or rest.free_symbols or not coeff.is_real:
        return None
    value = (const - rest) / coeff
    return s, (_FLIP[op] if coeff < 0 else op), value


def _absolute(quantity: sympy.Expr) -> sympy.Symbol | None:
    if isinstance(quantity, sympy.Abs) and quantity.args[0].is_Symbol:
        return quantity.args[0]
    return None


def _is_const(e: sympy.Expr) -> bool:
    return not e.free_symbols and e.is_real is not False


def interval_of(sides: list[sympy.Expr], ops: list[str], named: list[bool]):
    """The set described by ``sides[0] ops[0] sides[1] ...`` (only ``< <= > >=``) when it bounds
    one quantity by constants: a list of (low, high, left_bracket, right_bracket) pieces (a
    union), or None."""
    if any(op not in _FLIP for op in ops) or len(sides) not in (2, 3):
        return None
    if len(sides) == 3:
        low, mid, high = sides
        if not (_is_const(low) and _is_const(high)) or _is_const(mid):
            return None
        facts = [(mid, _FLIP[ops[0]], low, named[1]), (mid, ops[1], high, named[1])]
    else:
        a, b = sides
        if _is_const(a) and not _is_const(b):
            facts = [(b, _FLIP[ops[0]], a, named[1])]
        elif _is_const(b) and not _is_const(a):
            facts = [(a, ops[0], b, named[0])]
        else:
            return None
    var = _absolute(facts[0][0])
    bounds = []
    for quantity, op, const, is_named in facts:
        if var is not None:
            if _absolute(quantity) != var:
                return None
            bounds.append((op, const))
            continue
        found = _bound(quantity, op, const, is_named)
        if found is None:
            return None
        bounds.append((found[0], found[1], found[2]))
    if var is not None:
        return _abs_pieces(bounds)
    if len({b[0] for b in bounds}) != 1:
        return None
    low, high, left, right = -sympy.oo, sympy.oo, "(", ")"
    for _, op, value in bounds:
        if op in (">", ">="):
            low, left = value, "[" if op == ">=" else "("
        else:
            high, right = value, "]" if op == "<=" else ")"
    return [(low, high, left, right)]


def _abs_pieces(bounds: list[tuple[str, sympy.Expr]]):
    """``c1 <= |s| <= c2`` -> [-c2, -c1] and [c1, c2]; ``|s| < c`` -> (-c, c); ``|s| > c``:
    two rays."""
    low, high, low_closed, high_closed = None, None, False, False
    for op, value in bounds:
        if op in (">", ">="):
            low, low_closed = value, op == ">="
        else:
            high, high_closed = value, op == "<="
    if low is None and high is not None:
        return [(-high, high, "[" if high_closed else "(", "]" if high_closed else ")")]
    if low is not None and high is None:
        return [(-sympy.oo, -low, "(", "]" if low_closed else ")"), (low, sympy.oo, "[" if low_closed else "(", ")")]
    if low is not None and high is not None:
        lb, hb = ("[" if low_closed else "("), ("]" if high_closed else ")")
        return [(-high, -low, "[" if high_closed else "(", "]" if low_closed else ")"), (low, high, lb, hb)]
    return None
