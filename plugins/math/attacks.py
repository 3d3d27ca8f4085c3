"""Near-miss wrong answers for maths golds: the ``math`` answer domain of ``math.correct``.

Each class is a way a policy's answer can be almost right and still wrong, built from the gold's
text: its sign, order (a labelled answer or a tuple), a dropped or extra element, off by one, a
unit, a percent sign, a clock time, a base, a closed interval for an open one, a determinant for a
matrix, a decimal inside a relative tolerance but off in its own last digit, the absolute value of
an odd monomial, a number and its own word, digits split by a separator. Every
answer here is wrong for the gold it was built from; where a form could be right (a bare list in
another order, a unit dropped) no answer is made. ``grpo-rewards attack`` writes each in the answer
forms the reward reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from grpo_rewards.attack import AnswerDomain
from grpo_rewards.attack.domains import choice_near_misses, number_near_misses

from .words import SMALL_NUMBER_WORDS as _WORDS

_INT = re.compile(r"^-?\d+$")
_FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")
_LABELLED = re.compile(r"^\s*([a-zA-Z])\s*=\s*([^,=]+?)\s*$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_BASE = re.compile(r"^(\d+)_\{?(\d+)\}?$")
_PERCENT = re.compile(r"^(-?\d+(?:\.\d+)?)\s*\\?%$")
_INTERVAL = re.compile(r"^\s*([(\[])\s*([^,]+?)\s*,\s*([^,]+?)\s*([)\]])\s*$")
_DOUBLE_INEQ = re.compile(r"^\s*(-?[\w.\\{}]+)\s*<\s*([a-z])\s*<\s*(-?[\w.\\{}]+)\s*$")
_MATRIX = re.compile(r"\\begin\{[pb]matrix\}(.*)\\end\{[pb]matrix\}", re.S)
_UNIT = re.compile(r"^(.*?\d)\s*(\\text\{\s*|\\mbox\{\s*|\s)([a-zA-Z]+)(\}?)\s*$")
_UNIT_SWAP = {
    "cm": "m",
    "m": "cm",
    "mm": "cm",
    "km": "m",
    "inches": "feet",
    "inch": "foot",
    "feet": "inches",
    "ft": "in",
    "g": "kg",
    "kg": "g",
    "seconds": "minutes",
    "minutes": "hours",
    "hours": "minutes",
    "days": "weeks",
    "dollars": "cents",
    "cents": "dollars",
    "units": "square units",
    "degrees": "radians",
}
# |g| differs from g wherever g < 0; not e or i, which are constants
_ODD_MONOMIAL = re.compile(r"^-?\d*\s*[a-df-hj-z](\^\{?[13579]\}?)?$")


def _split_top(text: str) -> list[str]:
    """Items separated by top-level commas (outside brackets and braces)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0 and not text[:i].endswith("\\"):  # "\," is a thin space
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return [i for i in items if i]


def _negate(gold: str) -> str | None:
    text = gold.strip()
    if text in ("0", "0.0") or not text:
        return None
    if text.startswith("-") and not any(op in text[1:] for op in "+-"):
        return text[1:]
    if len(_split_top(text)) > 1 or any(c in text for c in "=<>:_|") or "\\begin" in text or text[0] in "([{":
        return None
    return f"-{text}" if not any(op in text for op in "+-") else f"-({text})"


def near_misses(gold: str, columns: Mapping[str, Any]) -> dict[str, list[str]]:
    """Wrong answers for a maths gold, by class."""
    text = gold.strip().strip("$").strip()
    choice = choice_near_misses(text)
    if choice:
        return choice
    out: dict[str, list[str]] = {}

    def add(cls: str, *answers: str | None) -> None:
        kept = [a for a in answers if a and a != text]
        if kept:
            out.setdefault(cls, []).extend(kept)

    for cls, answers in number_near_misses(text).items():
        add(cls, *answers)
    if "sign" not in out:
        add("sign", _negate(text))
    frac = _FRAC.match(text)
    if frac:
        sign, num, den = frac.groups()
        add("off_by_one", f"{sign}\\frac{{{int(num) + 1}}}{{{den}}}")
    if _INT.match(text):
        value = int(text)
        if abs(value) >= 2:
            add("tolerance", f"{value - 0.5}", _within_tolerance(value))
        if 100 <= value <= 999:
            add("separator", f"0,{value}")
        digits = set(text.lstrip("-"))
        base = max(int(d) for d in digits) + 1
        if value > 1 and base <= 9 and len(text.lstrip("-")) >= 2:
            add("base", f"{text}_{base}")
        root = int(abs(value) ** 0.5)
        if value > 1 and root * root == value and 2 <= root <= 20:
            add("number_words", f"{root} ({_WORDS[root]})")
        if 2 <= value <= 18:
            add("number_words", f"{_WORDS[value - value // 2 - 1]} {_WORDS[value // 2 + 1]}" if value // 2 + 1 < 10 else None)
    items = _split_top(text)
    labelled = [_LABELLED.match(i) for i in items]
    interval = _INTERVAL.match(text)
    if len(items) >= 2 and all(labelled):
        names = [m.group(1) for m in labelled if m]
        values = [m.group(2) for m in labelled if m]
        if len(set(values)) > 1:
            rotated = values[1:] + values[:1]
            add("order", ", ".join(f"{n} = {v}" for n, v in zip(names, rotated)), ", ".join(rotated))
        add("dropped", ", ".join(items[:-1]))
    elif interval and len(set(interval.group(2, 3))) > 1:
        left, a, b, right = interval.groups()
        add("order", f"{left}{b}, {a}{right}")
        if (left, right) != ("(", ")"):  # (a, b) may be a point: [a, b] could be read as the same vector
            flipped = ("[" if left == "(" else "(") + f"{a}, {b}" + ("]" if right == ")" else ")")
            add("interval_ends", flipped)
    elif len(items) >= 2 and not text.startswith(("\\{", "{")):
        add("dropped", ", ".join(items[:-1]), ", ".join(items[1:]))
        add("extra", ", ".join([*items, _extra(items)]))
    double = _DOUBLE_INEQ.match(text)
    if double:
        add("interval_ends", f"[{double.group(1)}, {double.group(3)}]")
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes = int(clock.group(1)), int(clock.group(2))
        add("clock", f"{hours}:{minutes + 1:02d}" if minutes < 59 else f"{hours}:{minutes - 1:02d}")
        if hours % 2 == 0 and minutes % 2 == 0 and hours:
            add("clock", f"{hours // 2}:{minutes // 2:02d}")
    base = _BASE.match(text)
    if base:
        digits, radix = base.group(1), int(base.group(2))
        if digits.strip("01") != "" or radix != 10:
            add("base", digits, f"{digits}_{{{radix + 1}}}")
    percent = _PERCENT.match(text)
    if percent:
        value = float(percent.group(1))
        if value:
            add("percent", f"{value / 100:g}\\%")
    elif re.fullmatch(r"0?\.\d+", text):
        add("percent", f"{text}\\%")
    unit = _UNIT.match(text)
    if unit and unit.group(3) in _UNIT_SWAP:
        number, opener, name, closer = unit.groups()
        add("unit", f"{number}{opener}{_UNIT_SWAP[name]}{closer}")
    matrix = _MATRIX.search(text)
    if matrix:
        add("determinant", text.replace("pmatrix", "vmatrix").replace("bmatrix", "vmatrix"))
    if _ODD_MONOMIAL.match(text):
        add("absolute_value", f"|{text}|", f"\\sqrt{{({text})^2}}")
    return out


def _within_tolerance(value: int) -> str:
    """A decimal a millionth of the gold away, written to the digit that differs: inside a relative
    tolerance of 1e-6 but more than half a unit of its own last place from the gold."""
    places = 1
    while 10.0**-places >= abs(value) * 1e-6:
        places += 1
    return f"{value - 10.0**-places:.{places}f}"


def _extra(items: list[str]) -> str:
    for candidate in ("0", "1", "-1", "2"):
        if candidate not in items:
            return candidate
    return "100"


MATH_DOMAIN = AnswerDomain(
    "math",
    "a maths answer: a number, fraction, expression, tuple, interval, list, set, matrix, time or quantity",
    near_misses,
)
