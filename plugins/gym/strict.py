"""Bounds on answer text before any task scorer reads it, and strict scoring by the answer's form.

A task scorer runs ``Fraction``, ``Decimal``, ``int`` or ``float`` on model text. ``Fraction("1e20000000")``
builds a 20-million-digit integer in one C call (28.8 s, uninterruptible), so an answer is refused
(scored 0, unread) when a run of digits or a scientific exponent is larger than any task asks for
(:func:`unbounded`). Commas and underscores are dropped first, as scorers and Python's own number
parsers drop them (``1e2,000,000`` is ``1e2000000`` to ``coin_flip``).

Strict scoring (:func:`strict_score`) is exact match of the normalised answer against the gold, the
normalisation chosen by the gold's form: a number compares as a number (``54``, ``54.0``, ``+054``,
``1,234``, ``3/4`` and ``\\frac{3}{4}`` read exactly, with the same bounds); a verdict (yes / no /
true / false) ignores case; a JSON list or object (a grid, a list of moves) compares as
parsed JSON, spacing aside; a complex number as exact parts (``-6 - 9i`` for ``-6.0 - 9.0i``); a grid of numbers compares cell by cell as numbers; any other text compares line by line with runs of spaces collapsed,
ignoring case only where the task's own scorer does, and spaces around punctuation (``(1, 2)`` is
``(1,2)``). A gold written as a fraction is matched as written: ``180/1894`` does not simplify
``90/947``.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

MAX_ANSWER_CHARS = 4_000  # a scorer may be quadratic in the answer: longer answers score 0 unread
MAX_DIGITS = 400  # digits in one run: no task's answer comes near it
MAX_EXPONENT = 400  # |exponent| of a number in scientific notation

VERDICTS = {"yes": "no", "no": "yes", "true": "false", "false": "true"}

_IGNORED_IN_NUMBERS = str.maketrans("", "", ",_")
_DIGIT_RUN = re.compile(r"[0-9]+")
_EXPONENT = re.compile(r"[0-9.][eE][+-]?([0-9]+)")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_RATIO = re.compile(r"([+-]?[0-9]+)\s*/\s*([0-9]+)")
_FRAC = re.compile(r"(-?)\\d?frac\{\s*([0-9]+)\s*\}\{\s*([0-9]+)\s*\}")
_UNSIGNED = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_COMPLEX = re.compile(rf"(?P<re>[+-]?{_UNSIGNED})(?P<im>[+-]{_UNSIGNED}?)[ijIJ]|(?P<only>[+-]?{_UNSIGNED}?)[ijIJ]")
_SPACES = re.compile(r"[ \t]+")
_SPACED_PUNCTUATION = re.compile(r"[ \t]*([,;:×*/=()\[\]])[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]+")
_CLEANED = ".,;: "  # trailing punctuation that the answer extractors drop


def unbounded(answer: str) -> str | None:
    """Why the answer is too large to hand to a task scorer, or None when it may be read."""
    if len(answer) > MAX_ANSWER_CHARS:
        return f"longer than {MAX_ANSWER_CHARS} characters"
    numeric = answer.translate(_IGNORED_IN_NUMBERS)
    if any(m.end() - m.start() > MAX_DIGITS for m in _DIGIT_RUN.finditer(numeric)):
        return f"a number with more than {MAX_DIGITS} digits"
    for m in _EXPONENT.finditer(numeric):
        digits = m.group(1).lstrip("0")
        if len(digits) > 3 or int(digits or "0") > MAX_EXPONENT:
            return f"an exponent beyond {MAX_EXPONENT}"
    return None


_WRAPPERS = ("$$", "``", '""', "''", "\u201c\u201d", "\u2018\u2019")  # math delimiters and quotes


def _unwrapped(text: str) -> str:
    """The text without surrounding spaces and one pair of ``$`` delimiters or quotes (``"14"``)."""
    text = text.strip()
    for opening, closing in _WRAPPERS:
        if len(text) > 1 and text[0] == opening and text[-1] == closing:
            return text[1:-1].strip()
    return text


def ratio_terms(text: str) -> tuple[int, int] | None:
    """``a/b`` or ``\\frac{a}{b}`` as written (not reduced): (signed numerator, denominator), or None."""
    text = _unwrapped(text).translate(_MINUS)
    found = _RATIO.fullmatch(text) or _FRAC.fullmatch(text)
    if not found:
        return None
    groups = found.groups()
    sign, numerator, denominator = groups if len(groups) == 3 else ("", *groups)
    return int(sign + numerator), int(denominator)


def number(text: str) -> Fraction | None:
    """The exact value of a text that is one number and nothing else, or None. Bounded: call
    :func:`unbounded` first (the plain form also caps its exponent at three digits)."""
    text = _unwrapped(text).translate(_MINUS)
    if _PLAIN.fullmatch(text):
        mantissa, _, exponent = text.lower().partition("e")
        if exponent and abs(int(exponent)) > MAX_EXPONENT:
            return None
        return Fraction(text)
    if _GROUPED.fullmatch(text):
        return Fraction(text.replace(",", ""))
    terms = ratio_terms(text)
    if terms and terms[1]:
        return Fraction(*terms)
    return None


def json_value(text: str) -> Any:
    """The JSON list or object a text holds, or None (bounded: call :func:`unbounded` first)."""
    text = text.strip()
    if not text.startswith(("[", "{")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (list, dict)) else None


def numbers(text: str) -> list[list[Fraction]] | None:
    """A grid of numbers (lines of numbers separated by spaces or commas) read exactly, or None."""
    grid = []
    for line in text.strip().splitlines():
        cells = [number(cell) for cell in _SEPARATORS.split(line.strip()) if cell]
        if any(cell is None for cell in cells):
            return None
        if cells:
            grid.append(cells)
    return grid if sum(map(len, grid)) > 1 else None  # type: ignore[arg-type]


def complex_number(text: str) -> tuple[Fraction, Fraction] | None:
    """``a + bi`` (either part may be missing, ``j`` for ``i``) as exact (real, imaginary), or None."""
    found = _COMPLEX.fullmatch(_SPACES.sub("", text.strip().translate(_MINUS)))
    if not found:
        return None
    real, imaginary = found.group("re") or "0", found.group("im") or found.group("only") or ""
    coefficient = imaginary if imaginary.strip("+-") else imaginary + "1"
    return Fraction(real), Fraction(coefficient)


def form_of(gold: str) -> str:
    """``number``, ``verdict``, ``json``, ``numbers`` or ``text``: how a gold answer is compared."""
    if unbounded(gold) is not None:
        return "text"
    if number(gold) is not None:
        return "number"
    if gold.strip().casefold() in VERDICTS:
        return "verdict"
    if json_value(gold) is not None:
        return "json"
    if complex_number(gold) is not None:
        return "complex"
    if numbers(gold) is not None:
        return "numbers"
    return "text"


def normalised_text(text: str, fold_case: bool) -> str:
    """Lines stripped, runs of spaces and tabs collapsed, blank lines dropped; case folded if asked."""
    text = _unwrapped(text).rstrip(_CLEANED)
    lines = (_SPACED_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", line)).strip() for line in text.splitlines())
    joined = "\n".join(line for line in lines if line)
    return joined.casefold() if fold_case else joined


def same_answer(answer: str, gold: str, fold_case: bool = False) -> bool:
    """Whether ``answer`` states the gold exactly, read by the gold's form (see the module doc)."""
    if len(answer) > MAX_ANSWER_CHARS:
        return False
    form = form_of(gold)
    if form != "text" and form != "verdict" and unbounded(answer) is not None:
        return False  # read as numbers: bounded first (text compares as text: a hex `3e987` is fine)
    if form == "number":
        if ratio_terms(gold):  # a fraction as written: 180/1894 does not simplify 90/947
            return ratio_terms(answer) == ratio_terms(gold)
        value = number(answer)
        return value is not None and value == number(gold)
    if form == "verdict":
        return _unwrapped(answer).rstrip(_CLEANED).casefold() == gold.strip().casefold()
    if form == "complex":
        value = complex_number(answer)
        return value is not None and value == complex_number(gold)
    if form == "numbers":
        grid = numbers(answer)
        return grid is not None and grid == numbers(gold)
    if form == "json":
        value = json_value(answer)
        return value is not None and value == json_value(gold)
    return normalised_text(answer, fold_case) == normalised_text(gold, fold_case)


def strict_score(answer: str, gold: str, fold_case: bool = False) -> float:
    """1.0 for the gold answer (normalised by its form), else 0.0: no partial credit to game."""
    return 1.0 if same_answer(answer, gold, fold_case) else 0.0
