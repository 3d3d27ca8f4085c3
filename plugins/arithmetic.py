"""Find the explicit calculations in a piece of reasoning and check them, without eval.

A calculation is a run of numbers, operators (``+ - * / x × ÷ \\times \\cdot \\div``), parentheses
and ``=`` (or ``≈``) on one line, such as ``48 / 2 = 24``, ``$1,250 \\times 4 = $5,000`` or the
chained ``3 + 4 = 7 + 2 = 9``. Each ``=`` is one step; a step counts when at least one of its sides
holds an operator (``x = 5`` or ``of 50 = 10`` state nothing checkable). Runs are cut at words,
and a side that is glued to something we do not understand (``2x``, ``a_1``, ``2^3``, ``3!``) is
left out rather than misread. Values are exact Fractions from a tiny recursive-descent parser over
our own tokens; sizes are bounded so that no input can make it slow: the thousands-separated
number pattern repeats at most 10 groups (``1,000,000,...`` once backtracked over the whole run at
every position, quadratic; a bounded repeat keeps each match attempt constant-time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_TEXT = 200_000  # characters scanned
MAX_STEPS = 1000  # steps checked per text
MAX_TOKENS = 64  # tokens per side
MAX_DIGITS = 30  # digits per number
MAX_PARENS = 16  # parenthesis depth

_LATEX = [
    (re.compile(r"\\left\s*([(\[])|\\right\s*([)\]])"), lambda m: m.group(1) or m.group(2)),
    (re.compile(r"\\(?:times|cdot|ast)(?![A-Za-z])"), "*"),
    (re.compile(r"\\div(?![A-Za-z])"), "/"),
    (re.compile(r"\\(?:approx|simeq)(?![A-Za-z])"), "~"),
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\[,;:! ]"), ""),  # LaTeX spacing, e.g. 1\,000
    (re.compile(r"\\[()\[\]]|\\?\$"), " "),  # math delimiters; $ and \$ also as currency signs
]
_CHARS = str.maketrans({"×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "−": "-", "≈": "~", "≃": "~", "＝": "="})

_TOKEN = re.compile(
    r"(?P<num>[0-9]{1,3}(?:,[0-9]{3}){1,10}(?![0-9])(?!,[0-9])(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<pct>%)?"
    r"|(?P<op>[-+*/])|(?P<x>[xX](?=[ \t]*[0-9(.]))|(?P<lp>\()|(?P<rp>\))|(?P<eq>==?|~)|(?P<sp>[ \t]+)"
)
_GLUE_BEFORE = set("\\^_}].'|!#@&")  # plus letters and digits: the side is part of something else
_GLUE_AFTER = set("\\^_{[!'|#@&")


@dataclass(frozen=True)
class Token:
    kind: str  # num, op, lp, rp, eq
    text: str
    start: int
    end: int
    value: Fraction | None = None


@dataclass(frozen=True)
class Step:
    """One checked equality: ``left rel right``."""

    left: str
    relation: str  # "=" or "~"
    right: str
    correct: bool


def normalise(text: str) -> str:
    """LaTeX and Unicode operators as ASCII; math delimiters and currency signs as spaces."""
    for pattern, repl in _LATEX:
        text = pattern.sub(repl, text)
    return text.translate(_CHARS)


def _runs(text: str):
    """Yield (tokens, glued_after): maximal runs of math tokens on one line; ``glued_after`` says
    the run's last token touches a letter or symbol (``7x``, ``2^``)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        kind = m.lastgroup if m else None
        if kind == "pct":
            kind = "num"
        if kind == "x" and not (tokens and tokens[-1].kind in ("num", "rp")):
            kind = None
        if kind is None:  # a breaker: letter, punctuation, newline
            if tokens:
                yield tokens, tokens[-1].end == pos and _glues_after(text[pos])
                tokens = []
            pos += 1
            continue
        if kind != "sp":
            tokens.append(_token(m))
        pos = m.end()
    if tokens:
        yield tokens, False


def _token(m: re.Match[str]) -> Token:
    if m.group("num") is not None:
        digits = m.group("num").replace(",", "")
        value = Fraction(digits) if len(digits) <= MAX_DIGITS else None
        if value is not None and m.group("pct"):
            value /= 100
        return Token("num", m.group(0), m.start(), m.end(), value)
    if m.group("x") is not None:
        return Token("op", "*", m.start(), m.end())
    for kind in ("op", "lp", "rp"):
        if m.group(kind) is not None:
            return Token(kind, m.group(kind), m.start(), m.end())
    return Token("eq", "~" if m.group("eq") == "~" else "=", m.start(), m.end())


def _glues_after(char: str) -> bool:
    return char.isalnum() or char in _GLUE_AFTER


def _word_before(text: str, start: int) -> bool:
    i = start - 1  # walk back over blanks; slicing text[:start] here made long texts quadratic
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i >= 0 and text[i].isalpha()


def _split(tokens: list[Token]) -> tuple[list[list[Token]], list[str]]:
    sides: list[list[Token]] = [[]]
    relations: list[str] = []
    for token in tokens:
        if token.kind == "eq":
            relations.append(token.text)
            sides.append([])
        else:
            sides[-1].append(token)
    return sides, relations


class Undefined(ValueError):
    """A side that divides by zero: the step states something false."""


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*;
    unary := ('+'|'-') unary | num | '(' expr ')'."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.undefined = False  # divided by zero somewhere (decided once the side parses)

    def parse(self) -> Fraction | None:
        try:
            value = self.expr()
        except (ValueError, IndexError):
            return None
        if self.i != len(self.tokens):
            return None
        if self.undefined:
            raise Undefined("division by zero")
        return value

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def expr(self) -> Fraction:
        value = self.term()
        while (t := self.peek()) is not None and t.kind == "op" and t.text in "+-":
            self.i += 1
            value = value + self.term() if t.text == "+" else value - self.term()
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while (t := self.peek()) is not None and t.kind == "op" and t.text in "*/":
            self.i += 1
            operand = self.unary()
            if t.text == "*":
                value *= operand
            elif operand == 0:
                self.undefined, value = True, Fraction(0)
            else:
                value /= operand
        return value

    def unary(self) -> Fraction:
        t = self.tokens[self.i]
        self.i += 1
        if t.kind == "op" and t.text in "+-":
            value = self.unary()
            return -value if t.text == "-" else value
        if t.kind == "num":
            if t.value is None:
                raise ValueError("number too long")
            return t.value
        if t.kind == "lp":
            self.depth += 1
            if self.depth > MAX_PARENS:
                raise ValueError("too deep")
            value = self.expr()
            if self.tokens[self.i].kind != "rp":
                raise ValueError("unclosed parenthesis")
            self.i += 1
            self.depth -= 1
            return value
        raise ValueError(f"unexpected {t.text!r}")


def evaluate(tokens: list[Token]) -> Fraction | None:
    """The exact value of one side, or None when it is not a well-formed expression.
    Raises :class:`Undefined` for a well-formed side that divides by zero."""
    if not tokens or len(tokens) > MAX_TOKENS:
        return None
    return _Parser(tokens).parse()


def _decimals(side: list[Token]) -> int | None:
    """Decimal places of a side that is one plain number (rounding applies), else None.
    A percentage has two more places as a fraction: 33.3% is 0.333."""
    if len(side) != 1 or side[0].kind != "num":
        return None
    text = side[0].text.rstrip("%")
    places = len(text.split(".")[1]) if "." in text else 0
    return places + 2 if side[0].text.endswith("%") else places


def _agrees(left: Fraction, right: Fraction, relation: str, right_side: list[Token], rounding: bool) -> bool:
    if left == right:
        return True
    places = _decimals(right_side)
    if relation == "~":
        if places is not None:
            return abs(left - right) <= Fraction(1, 2 * 10**places)
        return abs(left - right) <= abs(right) / 100
    return rounding and places is not None and places > 0 and abs(left - right) <= Fraction(1, 2 * 10**places)


def _has_op(side: list[Token]) -> bool:
    """Whether the side holds a binary operator (a leading sign does not count)."""
    return any(t.kind == "op" and prev.kind in ("num", "rp") for prev, t in zip(side, side[1:]))


def _incomplete_start(text: str, side: list[Token]) -> bool:
    """The first side of a run continues something to its left: it is glued to a letter or
    symbol (``a_1 + 2``), starts with a binary operator (``/ 2`` after ``48 clips``), or is a
    bare number after a word (``20% of 50 = 10``)."""
    if not side:
        return True
    head = side[0]
    if head.start > 0 and (text[head.start - 1].isalnum() or text[head.start - 1] in _GLUE_BEFORE):
        return True
    if head.kind == "op":  # only a sign written against its number is unary: "-3", not "- 3"
        return head.text in "*/" or len(side) < 2 or side[1].start != head.end
    return len(side) == 1 and head.kind == "num" and _word_before(text, head.start)


def find_steps(text: str, rounding: bool = True) -> list[Step]:
    """Every checkable equality step in ``text``, in order, with its verdict.

    ``rounding``: a right-hand side written as a decimal with k places may be the left side
    rounded to k places (``10 / 3 = 3.33``). ``≈`` always allows rounding (to k = 0 places too).
    """
    text = normalise(text[:MAX_TEXT])
    steps: list[Step] = []
    for tokens, glued_after in _runs(text):
        sides, relations = _split(tokens)
        if not relations:
            continue
        if _incomplete_start(text, sides[0]):
            sides[0] = []
        if glued_after or (sides[-1] and sides[-1][-1].kind == "op"):
            sides[-1] = []
        for left, relation, right in zip(sides, relations, sides[1:]):
            if not left or not right or not (_has_op(left) or _has_op(right)):
                continue
            try:
                lv, rv = evaluate(left), evaluate(right)
            except Undefined:
                correct = False
            else:
                if lv is None or rv is None:
                    continue
                correct = _agrees(lv, rv, relation, right, rounding)
            steps.append(Step(_show(left), relation, _show(right), correct))
            if len(steps) >= MAX_STEPS:
                return steps
    return steps


def _show(side: list[Token]) -> str:
    return " ".join(t.text for t in side)
