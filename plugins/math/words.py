"""Numbers written in words: "forty two", "forty-two", "three quarters", "one hundred and five".

Models (and some gold columns) state an answer in words. A run of number words becomes its digits
before tokenizing, so "forty two" and 42 compare as numbers. Only cardinal numbers and simple
fractions ("two thirds", "a half") are read; anything else is left as words. The pattern is a
fixed alternation of literal words separated by spaces or hyphens: linear time, no backtracking
blow-up.
"""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
# "zero" .. "twenty", indexed by value: for writing small numbers as words (attacks, test facts)
SMALL_NUMBER_WORDS = [*_UNITS, "twenty"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_DENOMINATORS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
}
_NUMBER_WORDS = sorted({*_UNITS, *_TENS, *_SCALES}, key=len, reverse=True)
_WORD = r"(?:" + "|".join(_NUMBER_WORDS) + r")"
_DENOM = r"(?:" + "|".join(sorted(_DENOMINATORS, key=len, reverse=True)) + r")"
# "minus"? a run of number words ("and" only between them), then an optional denominator word
_RUN = re.compile(
    r"(?<![A-Za-z\\])(?:(minus|negative)\s+)?(a|" + _WORD + r"(?:(?:\s+|-)(?:and\s+)?" + _WORD + r")*)"
    r"(?:(?:\s+|-)(" + _DENOM + r"))?(?![A-Za-z])",
    re.IGNORECASE,
)
MAX_WORDS_TEXT = 400


def _cardinal(words: list[str]) -> int | None:
    """The number a run of words names, or None when the run is not one number: "twelve
    thirteen" is two numbers (never 25), "two three" or "forty fifty" likewise. Within each group
    below a thousand the words must go hundreds, then tens, then units, each at most once."""
    total, current = 0, 0
    # 3: nothing yet in this group; 2: hundreds said; 1: a ten said; 0: a unit or teen said
    room, said_ten = 3, False
    scales_used: list[int] = []
    for word in words:
        if word in _UNITS:
            if room == 0 or (room == 1 and not 0 < _UNITS[word] < 10):
                return None
            current += _UNITS[word]
            room = 0
        elif word in _TENS:
            if room < 2:
                return None
            current += _TENS[word]
            room, said_ten = 1, True
        elif word == "hundred":
            if room not in (0, 3) or current >= 20 or said_ten:  # "twelve hundred", not "forty hundred"
                return None
            current = max(current, 1) * 100
            room = 2
        elif word in _SCALES:
            scale = _SCALES[word]
            if scales_used and scale >= scales_used[-1]:
                return None  # "thousand thousand", "five thousand two million"
            scales_used.append(scale)
            total += max(current, 1) * scale
            current, room, said_ten = 0, 3, False
        else:
            return None
    return total + current


def _replace(m: re.Match[str]) -> str:
    sign, run, denominator = m.group(1), m.group(2), m.group(3)
    words = [w for w in re.split(r"[\s-]+", run.lower()) if w and w != "and"]
    if words == ["a"]:
        if denominator is None:
            return m.group(0)
        numerator = 1
    else:
        value = _cardinal(words)
        if value is None:
            return m.group(0)
        numerator = value
    if denominator is not None:
        fraction = Fraction(numerator, _DENOMINATORS[denominator.lower()])
        text = f"({fraction.numerator}/{fraction.denominator})"
    else:
        text = str(numerator)
    return f"-{text}" if sign else text


_MARK = "\u2063"  # INVISIBLE SEPARATOR: brackets a value read from words, for one pass below
# "12 (twelve)", "three (3)": a number glossed by itself in words. Read as a product it would be
# 144 or 9; it is one number. A gloss that disagrees ("12 (thirteen)") states no single number.
_GLOSS = re.compile(
    _MARK + r"(-?\d+)" + _MARK + r"\s{0,4}\(\s{0,4}(-?\d+)\s{0,4}\)"
    r"|(-?\d+)\s{0,4}\(\s{0,4}" + _MARK + r"(-?\d+)" + _MARK + r"\s{0,4}\)"
)
UNREADABLE = "\\unreadable"  # a command the tokenizer does not know: the parse fails


def _gloss(m: re.Match[str]) -> str:
    first, second = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
    return first if first == second else UNREADABLE


def numbers_from_words(text: str) -> str:
    """``text`` with each run of number words replaced by its value (``(3/4)`` for a fraction);
    ``text`` unchanged when it is long (not an answer) or has no number word. A number next to
    its own value in words, one of them in brackets, is that number once."""
    if len(text) > MAX_WORDS_TEXT:
        return text
    marked = _RUN.sub(lambda m: _mark(_replace(m), m.group(0)), text.replace(_MARK, ""))
    return _GLOSS.sub(_gloss, marked).replace(_MARK, "")


def _mark(value: str, original: str) -> str:
    return value if value == original else f"{_MARK}{value}{_MARK}"
