"""The kinds of value a final answer parses into.

A maths answer is not always one number: it may be an interval, an ordered pair, a set of roots,
an equation, a matrix, a multiple-choice letter or a word. Each kind gets its own small frozen
type so that :mod:`.equivalence` can compare like with like (element-wise, order-insensitively,
up to a tolerance) instead of flattening everything into one sympy expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import sympy


@dataclass(frozen=True)
class Scalar:
    """One expression. ``inexact``: a decimal literal went into it, so a tolerance applies.
    ``percent``: written with a trailing ``%`` (``expr`` is the fraction, 50% -> 1/2).
    ``digits``: significant digits of its least precise decimal (0: none written); the tolerance
    never exceeds half a unit in that last place (82085198.0 is not 82085199). ``unit``: 5 cm is
    not 5 m; a value with no unit written matches one with a unit."""

    expr: sympy.Expr
    inexact: bool = False
    percent: bool = False
    digits: int = 0
    unit: str = ""  # a known unit written after it, canonical ("m", "cm^2", "h"): part of the value


@dataclass(frozen=True)
class Relation:
    """``lhs op rhs`` with op one of ``= < <= !=`` (``>`` and ``>=`` are stored flipped)."""

    lhs: sympy.Expr
    op: str
    rhs: sympy.Expr
    inexact: bool = False


@dataclass(frozen=True)
class Bracketed:
    """A tuple, point or interval: items between brackets. ``left``/``right`` are ``(``/``[`` and
    ``)``/``]``: ``(1, 2]`` is half-open, ``(1, 2)`` is both an open interval and a pair."""

    items: tuple[Answer, ...]
    left: str
    right: str
    interval: bool = False  # certainly a set of numbers: from an inequality, ``x \in``, or unbounded


@dataclass(frozen=True)
class Collection:
    """Several answers where order does not matter: ``set`` (``\\{1, 2\\}``), ``list`` (a bare
    ``1, 2`` or ``x = 1 or x = 2``; also the two values of ``a \\pm b``) or ``union``
    (``(0, 1) \\cup (2, 3)``)."""

    items: tuple[Answer, ...]
    kind: str


@dataclass(frozen=True)
class Matrix:
    """A ``pmatrix``/``bmatrix``: rows of cells."""

    rows: tuple[tuple[Scalar, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0]) if self.rows else 0


@dataclass(frozen=True)
class Text:
    """A word answer (``\\text{Evelyn}``, ``east``), lower-cased with spaces collapsed."""

    text: str


@dataclass(frozen=True)
class Choice:
    """A multiple-choice letter: ``(B)``, ``\\text{(C)}``, a bare ``D``."""

    letter: str


@dataclass(frozen=True)
class BaseNumber:
    """A numeral in another base, as written: ``52_8``, ``4210_{5}``."""

    digits: str
    base: int


@dataclass(frozen=True)
class Clock:
    """``2:30``, ``6 : 00``: hours and minutes (two digits, under 60). Equal only to the same time;
    against a number it is the ratio it also spells (``V_1 : V_2 = 11 : 21``), never to another
    clock time with that ratio (2:30 is not 1:15)."""

    hours: int
    minutes: int


@dataclass(frozen=True)
class Labelled:
    """An answer given a name: ``(p, q) = (3, 2)``, ``AB = 4``, ``f(x) = 1``. Compared with an
    unnamed answer by its value; with another labelled answer only under the same name."""

    label: str
    value: Answer


@dataclass(frozen=True)
class Ambiguous:
    """Text with two readings, either of which may be meant: ``1,22`` is the list 1, 22 or the
    decimal 1.22 written with a decimal comma."""

    readings: tuple[Answer, ...]


Answer = Union[Scalar, Relation, Bracketed, Collection, Matrix, Text, Choice, BaseNumber, Clock, Labelled, Ambiguous]
