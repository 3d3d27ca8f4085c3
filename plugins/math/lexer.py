"""A whitelist tokenizer for normalised answers: anything it does not know makes the parse fail.

No character of the input ever reaches ``eval``, ``sympify`` or a name lookup: letters become
single-letter symbols, a fixed set of function and constant names, or words (units and prose,
which the parser drops at the ends of an answer); LaTeX commands come from a fixed table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TOKENS = 600
MAX_LITERAL_DIGITS = 400


class LexError(ValueError):
    """The text holds something outside the whitelist."""


@dataclass
class Token:
    kind: str  # NUM SYM CONST FUNC CMD DECOR OP REL WORD COMMA LP RP LB RB LBRACE RBRACE LSET RSET BAR AMP ROWSEP BEGIN END
    value: str
    space: bool = False  # whitespace before it


FUNCTIONS = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "sec",
        "csc",
        "cot",
        "arcsin",
        "arccos",
        "arctan",
        "arccot",
        "arcsec",
        "arccsc",
        "sinh",
        "cosh",
        "tanh",
        "coth",
        "sech",
        "csch",
        "ln",
        "log",
        "exp",
        "sqrt",
        "abs",
        "floor",
        "ceil",
        "gcd",
        "lcm",
        "max",
        "min",
    }
)
_CONSTANT_WORDS = {"pi": "pi", "inf": "oo", "infty": "oo", "infinity": "oo", "oo": "oo"}
_COMMA_WORDS = frozenset({"and", "or"})
# Two-letter runs that are words or units rather than a product of two variables (compared in
# lower case; longer runs are words unless they name a function or constant).
_TWO_LETTER_WORDS = frozenset(
    {
        "cm",
        "mm",
        "km",
        "kg",
        "mg",
        "ml",
        "ft",
        "in",
        "yd",
        "mi",
        "hr",
        "lb",
        "oz",
        "is",
        "of",
        "to",
        "at",
        "by",
        "an",
        "as",
        "so",
        "it",
        "be",
        "we",
        "on",
        "am",
        "pm",
        "sq",
        "cu",
        "no",
        "if",
    }
)
_GREEK = frozenset(
    {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
    }
)
# LaTeX command -> (kind, value)
_COMMANDS: dict[str, tuple[str, str]] = {
    "frac": ("CMD", "frac"),
    "sqrt": ("CMD", "sqrt"),
    "usqrt": ("CMD", "usqrt"),
    "binom": ("CMD", "binom"),
    "pi": ("CONST", "pi"),
    "infty": ("CONST", "oo"),
    "infin": ("CONST", "oo"),
    "cdot": ("OP", "*"),
    "times": ("OP", "*"),
    "ast": ("OP", "*"),
    "div": ("OP", "/"),
    "pm": ("OP", "pm"),
    "mp": ("OP", "mp"),
    "le": ("REL", "<="),
    "leq": ("REL", "<="),
    "leqslant": ("REL", "<="),
    "ge": ("REL", ">="),
    "geq": ("REL", ">="),
    "geqslant": ("REL", ">="),
    "lt": ("REL", "<"),
    "gt": ("REL", ">"),
    "ne": ("REL", "!="),
    "neq": ("REL", "!="),
    "in": ("REL", "in"),
    "approx": ("REL", "approx"),
    "simeq": ("REL", "approx"),
    "sim": ("REL", "approx"),
    "equiv": ("REL", "="),
    "cup": ("OP", "cup"),
    "emptyset": ("CONST", "empty"),
    "varnothing": ("CONST", "empty"),
    "langle": ("LP", "("),
    "rangle": ("RP", ")"),
    "lfloor": ("LP", "floor"),
    "rfloor": ("RP", "floor"),
    "lceil": ("LP", "ceil"),
    "rceil": ("RP", "ceil"),
    "vert": ("BAR", "|"),
    "lvert": ("BAR", "|"),
    "rvert": ("BAR", "|"),
    "mid": ("BAR", "|"),
    "lbrace": ("LSET", "{"),
    "rbrace": ("RSET", "}"),
    "begin": ("BEGIN", ""),
    "end": ("END", ""),
    "colon": ("REL", ":"),
    "prime": ("OP", "'"),
    "overline": ("DECOR", "overline"),
    "bar": ("DECOR", "overline"),
    "vec": ("DECOR", "vec"),
    "hat": ("DECOR", "hat"),
    "widehat": ("DECOR", "hat"),
    "overrightarrow": ("DECOR", "vec"),
    "angle": ("DECOR", "angle"),
    "dot": ("DECOR", "dot"),
    "ddot": ("DECOR", "ddot"),
    "tilde": ("DECOR", "tilde"),
    "odot": ("SYM", "odot"),
    "hbar": ("SYM", "hbar"),
    "ell": ("SYM", "ell"),
    "degmark": ("OP", "deg"),
    "word": ("WORD", ""),
    "rowsep": ("ROWSEP", "\\\\"),
}
_MATRIX_ENVS = frozenset({"pmatrix", "bmatrix", "matrix", "Bmatrix", "smallmatrix", "vmatrix", "Vmatrix", "array"})
_COLUMN_SPEC = re.compile(r"\s*\{[lcr|\s]{1,40}\}")
_TWO_CHAR = {">=": ("REL", ">="), "<=": ("REL", "<="), "!=": ("REL", "!="), "==": ("REL", "=")}
# All-capital runs are point and segment names (AB, MR, SRMC): one symbol per letter, except
# these words.
_CAPITAL_WORDS = frozenset({"YES", "AM", "PM", "TRUE", "FALSE", "NONE", "ALL", "THE", "AND", "NOT", "USD", "EUR"})
MAX_CAPITAL_NAME = 5

_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+(?![\d.]))?")
_THOUSANDS = re.compile(r"(?<!\d)[1-9]\d{0,2}(?:,\d{3})+(?![\d])(?:\.\d+)?")  # 0,111 is no thousands
_LETTERS = re.compile(r"[A-Za-z]+")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_BRACED_WORD = re.compile(r"\s*\{([A-Za-z]+)\}")
_SINGLE = {
    "+": ("OP", "+"),
    "-": ("OP", "-"),
    "*": ("OP", "*"),
    "/": ("OP", "/"),
    "^": ("OP", "^"),
    "_": ("OP", "_"),
    "!": ("OP", "!"),
    "%": ("OP", "%"),
    "'": ("OP", "'"),
    "=": ("REL", "="),
    "<": ("REL", "<"),
    ">": ("REL", ">"),
    ",": ("COMMA", ","),
    ";": ("COMMA", ";"),  # a separator like ","; at the top level it also ends a group
    "(": ("LP", "("),
    ")": ("RP", ")"),
    "[": ("LB", "["),
    "]": ("RB", "]"),
    "{": ("LBRACE", "{"),
    "}": ("RBRACE", "}"),
    "|": ("BAR", "|"),
    "&": ("AMP", "&"),
    ":": ("REL", ":"),
}


def tokenize(text: str) -> list[Token]:
    """Tokens of a normalised answer; raises :class:`LexError` on anything unknown."""
    tokens: list[Token] = []
    pos, n, depth, space = 0, len(text), 0, False

    def add(kind: str, value: str) -> None:
        nonlocal space
        if kind == "COMMA" and tokens and tokens[-1].kind == "COMMA":  # "1, 2, and 3"
            return
        if len(tokens) >= MAX_TOKENS:
            raise LexError("too many tokens")
        tokens.append(Token(kind, value, space))
        space = False

    while pos < n:
        ch = text[pos]
        if ch.isspace():
            space, pos = True, pos + 1
            continue
        if ch.isdigit() or (ch == "." and pos + 1 < n and text[pos + 1].isdigit()):
            m = _THOUSANDS.match(text, pos) if depth == 0 else None
            m = m or _NUMBER.match(text, pos)
            literal = m.group(0).replace(",", "")
            if sum(c.isdigit() for c in literal) > MAX_LITERAL_DIGITS:
                raise LexError("number literal too long")
            add("NUM", literal)
            pos = m.end()
            continue
        if ch == "\\":
            pos = _backslash(text, pos, add)
            if tokens and tokens[-1].kind == "LSET":
                depth += 1
            elif tokens and tokens[-1].kind == "RSET":
                depth = max(0, depth - 1)
            continue
        if ch.isalpha() and ch.isascii():
            m = _LETTERS.match(text, pos)
            _letters(m.group(0), add)
            pos = m.end()
            continue
        if text[pos : pos + 2] in _TWO_CHAR:
            add(*_TWO_CHAR[text[pos : pos + 2]])
            pos += 2
            continue
        if ch in _SINGLE:
            kind, value = _SINGLE[ch]
            if kind in ("LP", "LB"):
                depth += 1
            elif kind in ("RP", "RB"):
                depth = max(0, depth - 1)
            add(kind, value)
            pos += 1
            continue
        raise LexError(f"unexpected character {ch!r}")
    return tokens


# one-character escapes: \{ \} (set braces), \\ (matrix row separator), \| (norm bars)
_ESCAPED_SYMBOLS = {"{": ("LSET", "{"), "}": ("RSET", "}"), "\\": ("ROWSEP", "\\\\"), "|": ("BAR", "|")}


def _backslash(text: str, pos: int, add) -> int:
    """One backslash sequence starting at ``pos``; returns the position after it."""
    nxt = text[pos + 1] if pos + 1 < len(text) else ""
    if nxt in _ESCAPED_SYMBOLS:
        add(*_ESCAPED_SYMBOLS[nxt])
        return pos + 2
    m = _COMMAND.match(text, pos)
    if not m:
        raise LexError(f"unexpected command at {pos}")
    name, end = m.group(1), m.end()
    if name in ("begin", "end", "word"):
        arg = _BRACED_WORD.match(text, end)
        if not arg:
            raise LexError(f"\\{name} without a name")
        if name == "word":
            word = arg.group(1)
            if word.lower() in _COMMA_WORDS:
                add("COMMA", ",")
            elif word.lower() in FUNCTIONS:
                add("FUNC", word.lower())
            elif word.lower() in _CONSTANT_WORDS:
                add("CONST", _CONSTANT_WORDS[word.lower()])
            else:
                add("WORD", word)
            return arg.end()
        if arg.group(1) not in _MATRIX_ENVS:
            raise LexError(f"unsupported environment {arg.group(1)!r}")
        add(name.upper(), arg.group(1))
        if name == "begin" and arg.group(1) == "array":  # \begin{array}{cc}: skip the column spec
            spec = _COLUMN_SPEC.match(text, arg.end())
            return spec.end() if spec else arg.end()
        return arg.end()
    if name in _COMMANDS:
        add(*_COMMANDS[name])
    elif name in FUNCTIONS:
        add("FUNC", name)
    elif name in _GREEK:
        add("SYM", name)
    else:
        raise LexError(f"unsupported command \\{name}")
    return end


def _letters(run: str, add) -> None:
    """A run of ASCII letters: a function, a constant, a word, or one symbol per letter."""
    low = run.lower()
    if low in FUNCTIONS and len(run) > 1:
        add("FUNC", low)
    elif low in _CONSTANT_WORDS and len(run) > 1:
        add("CONST", _CONSTANT_WORDS[low])
    elif low in _COMMA_WORDS:
        add("COMMA", ",")
    elif run.isupper() and 1 < len(run) <= MAX_CAPITAL_NAME and run not in _CAPITAL_WORDS:
        for letter in run:
            add("SYM", letter)
    elif len(run) >= 3 or low in _TWO_LETTER_WORDS:
        add("WORD", run)
    else:
        for letter in run:
            add("SYM", letter)
