"""String clean-up before tokenizing: the many ways of writing the same answer, made one.

Everything here is a linear-time regex substitution or character map over a bounded string; no
pattern can backtrack badly. What it does, in order: strip math delimiters and ``\\boxed``, map
Unicode maths characters to LaTeX, read number words (``forty-two``, :mod:`.words`), drop sizing
(``\\left``/``\\right``) and spacing commands, read thousands separators (``10,\\!080``,
``1\\,000``, ``1 000``) and unambiguous decimal commas,
mark degrees, drop currency signs, turn ``\\text{...}``-like groups into their words, and
write plain mixed numbers (``2 1/2``) as sums.
"""

from __future__ import annotations

import re

from .words import numbers_from_words

MAX_ANSWER_CHARS = 2000

_DELIMITERS = re.compile(r"^\s*(?:\$\$|\$|\\\(|\\\[)\s*(.*?)\s*(?:\$\$|\$|\\\)|\\\])\s*$", re.S)
# Characters that look like a minus sign (MINUS SIGN, the dashes and hyphens, small and full-width
# hyphen-minus, heavy minus): one table, read by the tokenizer's clean-up and by the extractors, so
# "we finally get \u221242" states -42 and never 42.
MINUS_LOOKALIKES = "\u2212\u2010\u2011\u2012\u2013\ufe63\uff0d\u02d7\u2796\u2043"
SIGNS = str.maketrans(dict.fromkeys(MINUS_LOOKALIKES, "-"))
_UNICODE = str.maketrans(
    {
        **dict.fromkeys(MINUS_LOOKALIKES, "-"),
        "\u00d7": r"\times ",
        "\u00b7": r"\cdot ",
        "\u22c5": r"\cdot ",
        "\u2217": "*",
        "\u00f7": r"\div ",
        "\u03c0": r"\pi ",
        "\u221e": r"\infty ",
        "\u2264": r"\le ",
        "\u2265": r"\ge ",
        "\u2260": r"\ne ",
        "\u00b1": r"\pm ",
        "\u2213": r"\mp ",
        "\u222a": r"\cup ",
        "\u2208": r"\in ",
        "\u2205": r"\emptyset ",
        "\u2044": "/",
        "\u2215": "/",
        "\u00b2": "^2",
        "\u00b3": "^3",
        "\u00b9": "^1",
        "\u00bd": "(1/2)",
        "\u00bc": "(1/4)",
        "\u00be": "(3/4)",
        "\u2153": "(1/3)",
        "\u2154": "(2/3)",
        "\u00b0": r" \degmark ",
        "\u00a0": " ",
        "\u2009": "",
        "\u202f": "",
        "\u200a": "",
        "\u200b": "",
        "\u2060": "",
        "\uff0c": ",",
        "\u20ac": " ",
        "\u00a3": " ",
        "\u00a5": " ",
        "\u221a": r"\usqrt ",
        "\u27e8": r"\langle ",
        "\u27e9": r"\rangle ",
        "\u2032": "'",
    }
)
_TEXT_GROUP = re.compile(
    r"\\(?:text|textbf|textit|textrm|textsf|texttt|textnormal|mbox|hbox|mathrm|mathbf|mathit|"
    r"mathsf|mathtt|mathnormal|boldsymbol|operatorname\*?)\s*\{([^{}]*)\}"
)
_TEXT_WORD = re.compile(r"[A-Za-z]{2,}")
_SUBS: list[tuple[re.Pattern[str], str]] = [
    # a doubled backslash before a command name is an escaping slip (\\frac, \\le), not a row break
    (re.compile(r"(?<!\\)\\\\(?=[A-Za-z]{2})"), r"\\"),
    (re.compile(r"\\\\"), r" \\rowsep "),  # matrix row separator, before any other backslash rule
    (re.compile(r"\\(?:boxed|fbox|displaystyle|textstyle|scriptstyle|limits|nolimits)(?![A-Za-z])"), " "),
    (re.compile(r"\\[dtc]frac(?![A-Za-z])"), r"\\frac"),
    (re.compile(r"\\[dt]binom(?![A-Za-z])"), r"\\binom"),
    (re.compile(r"\\(?:left|right|[bB]igg?[lrm]?)(?![A-Za-z])\s*\.?"), ""),
    # thousands separators: 10,\!080 and 1\,000 and 1{,}000 -> plain digits
    (re.compile(r"(?<=\d),\s*\\!\s*(?=\d{3}(?!\d))"), ""),
    (re.compile(r"(?<=\d) ?\{, ?\} ?(?=\d{3}(?!\d))"), ""),
    (re.compile(r"(?<=\d)\{,\}(?=\d)"), "."),  # 3{,}5: a LaTeX decimal comma
    (re.compile(r"(?<=\d)\\[,;: ]\s*(?=\d{3}(?!\d))"), ""),
    (re.compile(r"\\[,;:! >]|\\q?quad|\\(?:enspace|thinspace|hfill)(?![A-Za-z])"), " "),
    (re.compile(r"~"), " "),
    # degrees: 90^\circ, 90^{\circ}, 90\degree, 90° -> one mark (a trig function reads it, else it goes)
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|\\circ(?![A-Za-z])|\\degree(?![A-Za-z])"), r" \\degmark "),
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\\$|\$|\\(?:euro|pounds|yen|textdollar)(?![A-Za-z])"), " "),
    (re.compile(r"\b(?:USD|EUR|GBP|[Rr]s\s?\.?)(?![A-Za-z])"), " "),
    # y^{\prime}, f^\prime: a prime
    (re.compile(r"\^\s*\{\s*\\prime\s*\}|\^\s*\\prime(?![A-Za-z])"), "'"),
    # thousands separated by single spaces: 1 000 000 (only groups of exactly three digits)
    (re.compile(r"(?<![\d.,])(\d{1,3})((?: \d{3})+)(?![\d.,]| \d)"), lambda m: m.group(1) + m.group(2).replace(" ", "")),
    # words joined by a hyphen are one word (push-ups, forty-two is read before this)
    (re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z]{2})"), " "),
]
_CURRENCY = re.compile(r"\\\$|[\u20ac\u00a3\u00a5]|\\(?:euro|pounds|yen)(?![A-Za-z])")
_DECIMAL_COMMA = re.compile(r"^\s*([-+]?)(\d+),(\d+)\s*(%?)\s*$")
_MIXED_PLAIN = re.compile(r"(?<![\d./^_{])(?<!\d,)(\d+)\s+(\d+)\s*/\s*(\d+)(?![\d./]|,\d)")
_TRAILING = re.compile(r"[\s.,;:?]+$")  # not "!": 5! is a factorial


def strip_delimiters(text: str) -> str:
    """``$x$``, ``$$x$$``, ``\\(x\\)``, ``\\[x\\]`` -> ``x`` (repeatedly)."""
    for _ in range(3):
        m = _DELIMITERS.match(text)
        if not m:
            break
        text = m.group(1)
    return text.strip()


def _text_group(m: re.Match[str]) -> str:
    """A ``\\text{...}`` group: its words marked so the lexer reads them as words, not variables."""
    content = m.group(1)
    return " " + _TEXT_WORD.sub(lambda w: f"\\word{{{w.group(0)}}}", content) + " "


def normalize(text: str) -> str | None:
    """The answer with surface variation removed, or None when it is too long to be an answer."""
    if len(text) > MAX_ANSWER_CHARS:
        return None
    had_currency = bool(_CURRENCY.search(text))
    text = numbers_from_words(strip_delimiters(text.translate(_UNICODE)))
    for pattern, repl in _SUBS:
        text = pattern.sub(repl, text)
    for _ in range(3):  # nested \text{\textbf{...}}
        new = _TEXT_GROUP.sub(_text_group, text)
        if new == text:
            break
        text = new
    text = _decimal_comma(text, had_currency)
    text = _MIXED_PLAIN.sub(_mixed, text)
    return _TRAILING.sub("", text).strip()


def _decimal_comma(text: str, had_currency: bool) -> str:
    """``3,25 €``, ``12,5%`` -> decimal points, when nothing else could be meant.

    A single comma between digits is read as a decimal comma only when it cannot be a thousands
    separator (not exactly three digits after it) and the answer cannot be a list of two numbers
    (``0,1`` is one in MATH): a currency sign or a percent sign comes with it.
    """
    m = _DECIMAL_COMMA.match(text)
    if not m:
        return text
    sign, whole, frac, pct = m.groups()
    if len(frac) == 3 or not (had_currency or pct):
        return text
    return f"{sign}{whole}.{frac}{pct}"


def _mixed(m: re.Match[str]) -> str:
    """``2 1/2`` -> ``(2+1/2)`` for a proper fraction; anything else is left alone."""
    whole, num, den = m.groups()
    if int(den) == 0 or int(num) >= int(den):
        return m.group(0)
    return f"({whole}+{num}/{den})"
