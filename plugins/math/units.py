"""Units written after an answer: part of its value, so 5 cm is never 5 m.

The parser drops trailing words and a lone unit letter (``150 m``, ``5 \\text{cm}^2``) to read the
number; this module names the unit it dropped, in one canonical spelling per unit (``meters``,
``metre`` and ``m`` are ``m``). Only units in the table are named: other trailing words (prose,
"apples") are not units, and a value with no unit written matches a value with one (a bare gold
``5`` against ``5 cm``). Units are not converted (500 cm is not read as 5 m).
"""

from __future__ import annotations

from .lexer import Token

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "mm": ("mm", "millimeter", "millimeters", "millimetre", "millimetres"),
    "cm": ("cm", "centimeter", "centimeters", "centimetre", "centimetres"),
    "m": ("m", "meter", "meters", "metre", "metres"),
    "km": ("km", "kilometer", "kilometers", "kilometre", "kilometres"),
    "in": ("in", "inch", "inches"),  # "in" only as the last word after a number: "25 \\text{ in}"
    "ft": ("ft", "foot", "feet"),
    "yd": ("yd", "yard", "yards"),
    "mi": ("mi", "mile", "miles"),
    "mg": ("mg", "milligram", "milligrams"),
    "g": ("g", "gram", "grams", "gramme", "grammes"),
    "kg": ("kg", "kilogram", "kilograms", "kilo", "kilos"),
    "lb": ("lb", "lbs", "pound", "pounds"),
    "oz": ("oz", "ounce", "ounces"),
    "ml": ("ml", "mL", "milliliter", "milliliters", "millilitre", "millilitres"),
    "L": ("L", "l", "liter", "liters", "litre", "litres"),
    "gal": ("gal", "gallon", "gallons"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "min": ("min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "year": ("year", "years"),
    "dollar": ("dollar", "dollars"),
    "cent": ("cent", "cents"),
    "deg": ("deg", "degree", "degrees"),  # and the degree mark (90^\\circ, 90°)
    "rad": ("rad", "rads", "radian", "radians"),
    "K": ("K", "kelvin"),
    "C": ("C", "celsius"),
    "F": ("F", "fahrenheit"),
    "unit": ("unit", "units"),  # "18 square units" is an area, never 18 units of length
}
_CANONICAL = {spelling: unit for unit, spellings in _SPELLINGS.items() for spelling in spellings}
_CASED = frozenset({"L", "K", "C", "F", "mL"})  # letters whose case names the unit


def _canonical(word: str) -> str | None:
    if word in _CASED:
        return _CANONICAL[word]
    return _CANONICAL.get(word.lower()) if word.lower() not in ("k", "c", "f") else None


def trailing_unit(tokens: list[Token]) -> str:
    """The canonical unit written at the end of an answer's tokens, with its power (``cm^2``),
    after a number; "" when there is none or it is not a known unit."""
    end = len(tokens)
    degree = end >= 2 and tokens[-1].kind == "OP" and tokens[-1].value == "deg" and tokens[-2].kind in ("NUM", "RBRACE")
    if degree and not any(t.kind == "FUNC" for t in tokens):  # \\sin 30^\\circ is a number
        return "deg"  # 12^\\circ is 12 degrees, never 12 radians
    power = ""
    if end >= 3 and tokens[-2].kind == "OP" and tokens[-2].value == "^" and tokens[-1].kind == "NUM":
        power, end = f"^{tokens[-1].value}", end - 2
    if end < 2:
        return ""
    last = tokens[end - 1]
    if last.kind != "WORD" and not (last.kind in ("SYM", "FUNC") and last.space):
        return ""
    start = end - 1  # the unit is the last word of the run after the number ("5 square meters")
    while start > 0 and tokens[start - 1].kind == "WORD":
        start -= 1
    if start == 0 or tokens[start - 1].kind not in ("NUM", "RBRACE"):
        return ""
    unit = _canonical(last.value)
    if unit is None:
        return ""
    words = {t.value.lower() for t in tokens[start : end - 1]}
    if not power and words & {"square", "sq"}:
        power = "^2"
    elif not power and words & {"cubic", "cu"}:
        power = "^3"
    return unit + power


def is_unit(word: str) -> bool:
    """Whether ``word`` names a unit of the table (``cents``, ``ft``, ``radians``)."""
    return _canonical(word) is not None
