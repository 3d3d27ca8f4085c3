"""Where a completion states its final answer: named extractors, each ``fn(text) -> str | None``.

Registered through the ``register_extractors`` hook so other plugins (consistency, a third-party
format) reuse them by name. Every extractor is linear in the text: plain string searches and
simple regexes, brace matching by counting; a 1 MB completion costs milliseconds.

- ``boxed``: the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces), or ``\\boxed 5``.
- ``answer_tag``: the content of the last ``<answer>`` element (to the end if never closed).
- ``gsm8k``: what follows the last ``####``.
- ``answer_is``: what follows the last "the answer is", "final answer:", "answer:".
- ``whole``: the whole completion when it is one short line that parses as an answer, or one
  delimited formula (as written, even when it does not parse).
- ``last_math``: the last ``$...$`` / ``\\(...\\)`` / ``\\[...\\]`` span that parses.
- ``last_number``: the last number (a plain or LaTeX fraction, a percentage, a negative number).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from .lexer import LexError, tokenize
from .normalize import SIGNS, strip_delimiters

MAX_BOXED_TRIES = 8
MAX_MARKER_TRIES = 8
PHRASE_SCAN_CHARS = 200_000
MAX_PHRASE_CHARS = 300
TAIL_CHARS = 4096
MAX_WHOLE_CHARS = 200
MAX_BOX_CHARS = 20_000
MAX_PROSE_SCAN = 2000

_BRACE_EVENT = re.compile(r"\\.|[{}]", re.S)  # an escape (\{, \frac...) or a brace
_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
# Every run of spaces is bounded ({0,16}): two unbounded \s* in a row backtrack quadratically
# ("answer" + 40,000 spaces took 19 s inside one C call that no time limit can interrupt).
_ANSWER_PHRASE = re.compile(
    r"(?:\bfinal\s{1,16}answer|\bthe\s{1,16}answer|\banswer|\b(?:correct|right)\s{1,16}(?:option|choice))"
    r"\s{0,16}(?:\*\*|__)?\s{0,16}(?:is\b|:|=)\s{0,16}(?:\*\*|__)?\s{0,16}(?::\s{0,16})?",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?:-\s*)?\\[dt]?frac\{\s*-?\d+(?:\.\d+)?\s*\}\{\s*-?\d+(?:\.\d+)?\s*\}"
    # 1 000 000 (thousands apart), 1000,99 and 0,111 (decimal commas no thousands reading fits)
    r"|(?<![\w.,])\d{1,3}(?: \d{3})+(?![\d,]|\.\d)|(?<![\w.,])(?:\d{4,},\d{1,2}|0,\d+)(?![\d,])"
    r"|(?:(?<![\w.)\]}])-)?(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+,\d+(?=\s*(?:\$|\u20ac|%|\\%))|\d+)"
    r"(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?(?:\s*\\?%)?"
    r"|(?:(?<![\w.)\]}])-)?\.\d+"
)
_LATEX_WORDS = re.compile(r"\\(?:text|mbox|mathrm|textbf|begin|end)\s*\{[^{}]*\}|\\[A-Za-z]+")
_PROSE_WORD = re.compile(r"[A-Za-z]{2,}")
_DIGIT = re.compile(r"\d")
_PROSE = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,}\s+[A-Za-z]{2}")  # starts only where a word starts
_MATH_WORDS = frozenset({"sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "exp", "sqrt", "pi", "inf", "infinity"})
_GSM8K_VALUE = re.compile(r"\s*(?:[-+\u2212$\\(\[.\d]|\*\*)")
_FIRST_WORD = re.compile(r"[A-Za-z]+")
# Words that open a verdict or a preamble, not a value: "the answer is correct", "... is that".
_NOT_VALUES = frozenset(
    {
        "correct",
        "incorrect",
        "right",
        "wrong",
        "indeed",
        "not",
        "that",
        "as",
        "given",
        "shown",
        "above",
        "below",
        "clear",
        "clearly",
        "obvious",
        "confirmed",
        "verified",
        "consistent",
        "reasonable",
        "in",
        "to",
        "the",
        "an",
        "this",
        "still",
        "also",
        "therefore",
        "then",
        "probably",
        "likely",
        "definitely",
        "boxed",
        "unclear",
    }
)
# (a full stop before "or"/"and" does not end the sentence: "... is 7/5. or -7/5" goes on)
_SENTENCE_END = re.compile(
    r"(?:(?<!\d)(?<!\.[mM])\.(?![mM]\.)(?!\d)|(?<!\.[mM])\.(?=\s|$))(?!\s{0,8}(?:or|and)\b)|[!?](?=\s+[A-Z])"
)
_PREAMBLES = frozenset({"the", "this", "an"})
_STATED = re.compile(r"\b(?:is|are|equals)\b|=")
_CLOSERS = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}


def matching_brace(text: str, open_at: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``open_at`` (skipping ``\\{``/``\\}``), or None;
    a group longer than ``MAX_BOX_CHARS`` is not an answer and is not followed further."""
    depth = 0
    for m in _BRACE_EVENT.finditer(text, open_at, min(len(text), open_at + MAX_BOX_CHARS)):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return None


def _boxes(text: str) -> list[tuple[int, int, str | None]]:
    """The last ``MAX_BOXED_TRIES`` boxes, last first: (start, end, content); content None when
    the box cannot be read (never closed, or longer than ``MAX_BOX_CHARS``)."""
    out: list[tuple[int, int, str | None]] = []
    found = [(m.start(), m.end()) for m in _BOX_COMMAND.finditer(text)]
    for begin, start in reversed(found[-MAX_BOXED_TRIES:]):
        i = start
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            close = matching_brace(text, i)
            if close is None:
                out.append((begin, len(text), None))
            else:
                out.append((begin, close + 1, text[i + 1 : close].strip()))
        else:  # \boxed 5: one token
            m = re.match(r"[^\s$}]+", text[i : i + 100])
            out.append((begin, i + (m.end() if m else 0), m.group(0) if m else None))
    return out


def boxed_contents(text: str) -> list[str]:
    """Contents of the readable boxed answers, last first (at most ``MAX_BOXED_TRIES``)."""
    return [c for _, _, c in _boxes(text) if c]


# Between two boxes that state one answer together: punctuation, LaTeX spacing, "and", "or", a
# few words ("papers and", "for part (a) and"), no new paragraph.
_JOIN_NOISE = re.compile(r"\\(?:quad|qquad|text|mbox|textbf|mathrm|[,;:! ])|\\[()\[\]]|[{}$\s,;.]")
_JOIN_WORD = re.compile(r"[A-Za-z]+")
MAX_JOIN_WORDS = 4
MAX_JOIN_CHARS = 60


def _joins(between: str) -> bool:
    """Whether the text between two boxes makes them one answer: nothing but punctuation and
    spacing, or a few words that include "and"/"or" ("papers and", "for part (a) and")."""
    if len(between) > MAX_JOIN_CHARS or "\n\n" in between:
        return False
    words = [w.lower() for w in _JOIN_WORD.findall(_JOIN_NOISE.sub(" ", between))]
    return not words or (len(words) <= MAX_JOIN_WORDS and bool({"and", "or"} & set(words)))


def boxed(text: str) -> str | None:
    """The last ``\\boxed{...}`` or ``\\fbox{...}``; several boxes next to each other
    (``\\boxed{1}, \\boxed{2}``, ``\\boxed{(2,2)} \\quad \\text{and} \\quad \\boxed{(6,2)}``) are
    one answer, joined with commas. A box that exists but cannot be read gives ``""``: the model
    did box its answer, so no weaker extractor may credit a stray number instead."""
    boxes = _boxes(text)
    while boxes and boxes[0][2] is None:  # a truncated last box: the one before it, if any
        boxes = boxes[1:]
    if not boxes:
        return "" if _BOX_COMMAND.search(text) else None
    parts = [boxes[0][2]]
    for (_, end, content), (start, _, _) in zip(boxes[1:], boxes):
        if content is None or not _joins(text[end:start]):
            break
        parts.append(content)
    return ", ".join(reversed(parts))


def answer_tag(text: str) -> str | None:
    """The content of the last ``<answer>`` element; to the end of the text if it was never
    closed (a truncated completion still states its answer)."""
    lower = text.lower()
    start = lower.rfind("<answer>")
    if start < 0:
        return None
    start += len("<answer>")
    end = lower.find("</answer>", start)
    content = text[start:] if end < 0 else text[start:end]
    return _clean(content)


def gsm8k(text: str) -> str | None:
    """What follows the last ``####`` marker on its line (GSM8K's answer marker). A Markdown
    heading (``#### Step 2: ...``) is not a marker: the answer after one starts with a number,
    a sign, a currency sign or LaTeX."""
    at = len(text)
    for _ in range(MAX_MARKER_TRIES):
        at = text.rfind("####", 0, at)
        if at < 0:
            return None
        line = text[at + 4 :].lstrip("#").split("\n", 1)[0]
        if _GSM8K_VALUE.match(line):
            return _clean(line)
    return None


def answer_is(text: str) -> str | None:
    """What follows the last "the answer is" / "final answer:" phrase that states a value: a
    ``$...$`` span, else the rest of the sentence. A phrase followed by a verdict rather than a
    value ("the answer is correct", "the answer is that ...") is skipped for an earlier one;
    "Final Answer: The largest $n$ is 34." states what follows its last "is"."""
    found = _answer_phrase(text)
    return found[0] if found else None


def _answer_phrase(text: str) -> tuple[str, int] | None:
    """(value, position of the phrase) for :func:`answer_is`."""
    matches = list(_ANSWER_PHRASE.finditer(text[-PHRASE_SCAN_CHARS:]))
    offset = max(0, len(text) - PHRASE_SCAN_CHARS)
    for m in reversed(matches[-MAX_MARKER_TRIES:]):
        rest = text[offset + m.end() : offset + m.end() + MAX_PHRASE_CHARS]
        found = _phrase_value(rest)
        if found is None:
            continue
        first = _FIRST_WORD.match(found)
        if first and first.group(0).lower() in _NOT_VALUES:
            stated = list(_STATED.finditer(found))
            if first.group(0).lower() in _PREAMBLES and stated:  # "The largest $n$ is 34"
                found = _phrase_value(found[stated[-1].end() :])
                if found is None:
                    continue
            else:
                continue
        return found, offset + m.start()
    return None


def _parses(answer: str) -> bool:
    from .parse import parse_answer

    return parse_answer(answer) is not None


def final_phrase_after(text: str, position: int) -> str | None:
    """The value of a final-answer phrase that comes after ``position`` (a box), if any: "...
    = \\boxed{255}. So she has $10,455. Final Answer: The final answer is $10,455$." answers 10,455."""
    found = _answer_phrase(text[position:])
    return found[0] if found else None


def _phrase_value(rest: str) -> str | None:
    rest = rest.lstrip(" \t*_")
    if rest.startswith(tuple(_CLOSERS)):
        run = _last_run(rest, first=True)
        if run:
            return run
    for opener, closer in _CLOSERS.items():
        if rest.startswith(opener):
            end = _find_unescaped(rest, closer, len(opener))
            if end > 0:
                return _clean(rest[len(opener) : end])
    line = rest.split("\n", 1)[0]
    # the sentence ends at a full stop that is not a decimal point, or at "!"/"?" before the next
    # sentence (a bare "5!" at the end reads as an exclamation: write $5!$ for a factorial)
    # (not inside "p.m."/"a.m.")
    sentence = _SENTENCE_END.split(line, maxsplit=1)[0]
    return _clean(sentence.rstrip("!?"))


def whole(text: str) -> str | None:
    """The whole completion, when it is nothing but an answer: one short line that parses
    (``3\\sqrt{13}``, ``$(3, 4]$``); a sentence around a number is left to ``last_number``."""
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_WHOLE_CHARS:
        return None
    span = _lone_span(stripped)
    if span is not None:  # "$-[0,1)$": the completion is one formula; it is the answer as written
        return span
    if "\n" in stripped:
        return None
    prose = _PROSE_WORD.findall(_LATEX_WORDS.sub(" ", stripped))
    if len([w for w in prose if w.lower() not in _MATH_WORDS]) > 1:
        return None
    from .parse import parse_answer  # the parser decides what "nothing but an answer" means

    return _clean(stripped) if parse_answer(stripped) is not None else None


_SPAN = re.compile(r"\$\$([^$]{1,400})\$\$|\\\[(.{1,400}?)\\\]|\\\((.{1,400}?)\\\)|\$([^$\n]{1,200})\$", re.S)


def _lone_span(text: str) -> str | None:
    """The formula when ``text`` is one delimited math span and nothing else."""
    m = _SPAN.fullmatch(text)
    if m is None:
        return None
    inner = next(g for g in m.groups() if g is not None)
    return _clean(inner) or ""


def last_math(text: str) -> str | None:
    """The last math span (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) that reads as an
    answer: "Therefore $x \\geq 5$ is the solution." A span that does not parse (currency signs
    pairing up, an unfinished formula) is skipped for an earlier one."""
    from .parse import parse_answer
    from .values import Text

    tail = text[-TAIL_CHARS:]
    spans = [(next(g for g in m.groups() if g is not None), m.start(), m.end()) for m in _SPAN.finditer(tail)]
    spans = spans[-MAX_MARKER_TRIES:]
    k = len(spans)
    while k > 0:
        inner, begin, end = spans[k - 1]
        if _DIGIT.search(tail, end):  # a number stated after the formula: last_number's turn
            return None
        first = k - 1
        while first > 0 and _JOINED.fullmatch(tail[spans[first - 1][2] : spans[first][1]]):
            first -= 1
        found = _clean(inner)
        value = parse_answer(found) if found else None
        if value is not None and not isinstance(value, Text):  # a name ($ABCD$) is not an answer
            if first < k - 1:  # "$x = 2$ or $x = 3$": every formula of the run, never its last alone
                return ", ".join(c for c in (_clean(sp[0]) for sp in spans[first:k]) if c)
            return found
        k -= 1
    return None


# Between two formulas that state one answer together: a comma, a semicolon, "and", "or".
_JOINED = re.compile(r"\s{0,8}(?:,|;|,?\s{0,8}(?:\\text\{\s{0,4})?\b(?:and|or)\b(?:\s{0,4}\})?)\s{0,8}")


def _last_run(rest: str, first: bool = False) -> str | None:
    """The formulas at the start of ``rest`` that follow each other joined by commas, "and" or
    "or" ("$x=2$ or $x=3$"), as one comma list: an answer phrase reads them all, never the first
    alone (a hedge of two answers is a list, and a list is not one of its items)."""
    spans = []
    at = 0
    for m in _SPAN.finditer(rest[:MAX_PHRASE_CHARS]):
        if m.start() != at and not (spans and _JOINED.fullmatch(rest[at : m.start()])):
            break
        spans.append(_clean(next(g for g in m.groups() if g is not None)))
        at = m.end()
    if len(spans) < 2:
        return None
    return ", ".join(c for c in spans if c)


# A sign written before currency or unit markup: "-\\$1.25", "-$1.25", "-\\text{\\$}1.25", "-€5".
_SIGNED_MARKUP = re.compile(
    r"(?<![\w.)\]}])-\s{0,4}(?:\\?\$|\\(?:text|mathrm|textrm|mbox)\s{0,4}\{\s{0,4}\\?\$\s{0,4}\}|\u20ac|\u00a3|\\euro|\\pounds)\s{0,4}$"
)
# Between two numbers that are offered as alternatives or as a list: "1431 or 1430", "3, or maybe
# 4", "either 2 or 3", "2, 3 and 5". A run joined by these is read whole (and is a hedge, or a list).
_ALTERNATIVE = re.compile(
    r"\s{0,8}(?:,\s{0,8})?(?:\\text\{\s{0,4})?\b(?:or|and|and/or|nor)\b(?:\s{0,4}\})?"
    r"(?:\s{1,8}(?:maybe|possibly|perhaps|probably|rather|even|else|alternatively))?,?\s{0,8}"
    r"(?:-?\s{0,4}(?:\\?\$|\\text\{\\?\$\}|\u20ac|\u00a3|\\(?:text|mathrm|mbox|textrm)\s{0,4}\{[A-Za-z ]{0,16})\s{0,4})?"
)
_LIST_COMMA = re.compile(r"\s{0,8}[,;]\s{0,8}(?:-?\s{0,4}(?:\\?\$|\\text\{\\?\$\}|\u20ac|\u00a3)\s{0,4})?")
# What may follow a number of a run before its joiner: a degree sign, a percent sign, a unit in
# text markup, a word ("-106^\\circ or 106^\\circ", "-25 \\text{ ft} or 25 \\text{ ft}", "3 cm or 4").
_RUN_UNIT = re.compile(
    r"(?:\s|\\[,;:! ]|\\q?quad\b){0,4}(?:\^\s{0,4}\{?\s{0,4}\\circ\s{0,4}\}?|\\?%|\\(?:text|mathrm|mbox|textrm)\s{0,4}\{[^{}]{0,24}\}|\$|[A-Za-z]{1,12}\b)"
)
# A number written inside text markup, perhaps after a label: "\\text{13}", "\\text{June 20}". In a
# run ("\\text{13} or -\\text{13}") the markup is read with it, so the run is a hedge, not its last item.
_TEXT_OPENED = re.compile(r"\\(?:text|mathrm|mbox|textrm)\s{0,4}\{[A-Za-z ]{0,16}$")
_TEXT_CLOSED = re.compile(r"\s{0,4}\}")
MAX_RUN = 16
_GLUED_LOOKALIKE = re.compile(r"[OoIl]+(?![A-Za-z])")  # letters O, I or l glued to a number's end ("1OO")


def last_number(text: str) -> str | None:
    """The last number in the text (``-3``, ``1,250``, ``0.5``, ``3/4``, ``\\frac{1}{2}``, ``20%``),
    with its sign when the sign stands before currency markup (``-\\$1.25``). A last number offered
    with others as alternatives or a list ("1431 or 1430", "3, or maybe 4", "2, 3 and 5") is read
    with them, as the parser reads such a run: a hedge or a list, never its last item alone."""
    for chunk in (text[-TAIL_CHARS:], text) if len(text) > TAIL_CHARS else (text,):
        found = list(_NUMBER.finditer(chunk))
        if found:
            if _GLUED_LOOKALIKE.match(chunk, found[-1].end()):
                return ""  # "0.2O", "1OO\\%": digits written as letters; no number is read as the answer
            return _number_run(chunk, found)
    return None


# A unit written right after the last number: "312\\text{ cents}", "12 radians", "69^\\circ", with
# its power as a word: "24 sq units" is an area, never 24 units.
_POWER_WORD = r"(?:(?:square|sq|cubic|cu)\.?\s{1,4})?"
_UNIT_AFTER = re.compile(
    r"(?:\s|\\[,;:! ]){0,4}(?:(\^\s{0,4}\{?\s{0,4}\\circ\s{0,4}\}?|\u00b0)|"
    r"\\(?:text|mathrm|mbox|textrm)\s{0,4}\{\s{0,4}"
    + _POWER_WORD
    + r"([A-Za-z]{1,16})\s{0,4}\}|"
    + _POWER_WORD
    + r"([A-Za-z]{1,16})\b(?=\s{0,4}(?:[.,;:!?)]|\$|$)))"  # a word unit ends the sentence: not "5 in total"
)


def _with_unit(chunk: str, end: int) -> str:
    """The unit written right after ``end`` (a number's end), as written, when it is one: the
    last-number reader keeps it, so that 312 cents is not read as 312 (dollars)."""
    from .units import is_unit

    m = _UNIT_AFTER.match(chunk, end)
    if m is None or not (m.group(1) or is_unit(m.group(2) or m.group(3) or "")):
        return ""
    return chunk[end : m.end()]


def _signed(chunk: str, m: re.Match[str]) -> str:
    number = m.group(0).strip()
    if not number.startswith("-") and _SIGNED_MARKUP.search(chunk, max(0, m.start() - 40), m.start()):
        return "-" + number
    return number


def _number_run(chunk: str, found: list[re.Match[str]]) -> str:
    """The last number and the numbers joined to it as alternatives or a list, as one answer."""
    first = _run_start(chunk, found)
    head = _signed(chunk, found[first])
    unit = _with_unit(chunk, found[-1].end())
    if first == len(found) - 1:
        return head + unit
    opened = _text_wrapped(chunk, found[first])
    if opened is not None:  # "\\text{13} or -\\text{13}": the markup is kept, and balanced
        head = chunk[opened : found[first].start()] + head
    closed = _text_wrapped(chunk, found[-1])
    tail = _TEXT_CLOSED.match(chunk, found[-1].end()).group(0) if closed is not None else unit  # type: ignore[union-attr]
    return head + chunk[found[first].end() : found[-1].end()] + tail  # as written: "24 or 24, -3"


def _text_wrapped(chunk: str, m: re.Match[str]) -> int | None:
    """Where the text markup around the number ``m`` opens ("\\text{June 20}"), when the number
    ends its markup; None when it is not written inside text markup."""
    opened = _TEXT_OPENED.search(chunk, max(0, m.start() - 40), m.start())
    if opened is None or not _TEXT_CLOSED.match(chunk, m.end()):
        return None
    return opened.start()


def _run_start(chunk: str, found: list[re.Match[str]]) -> int:
    """Index in ``found`` of the first number of the last run: numbers joined by commas, "or",
    "and" ("2, 3 or 4"), each perhaps followed by its unit."""
    first = len(found) - 1
    while first > 0 and len(found) - first < MAX_RUN:
        at, end = found[first - 1].end(), found[first].start()
        if _text_wrapped(chunk, found[first - 1]) is not None:  # "\\text{13} or ...": after its "}"
            at = _TEXT_CLOSED.match(chunk, at).end()  # type: ignore[union-attr]
        unit = _RUN_UNIT.match(chunk, at, end)
        if not any(
            joiner.fullmatch(chunk, start, end)
            for joiner in (_ALTERNATIVE, _LIST_COMMA)
            for start in ((at, unit.end()) if unit else (at,))
        ):
            break
        first -= 1
    return first


def _find_unescaped(text: str, needle: str, start: int) -> int:
    """``text.find(needle, start)`` skipping occurrences escaped by a backslash (``\\$``)."""
    at = text.find(needle, start)
    while at > 0 and text[at - 1] == "\\":
        at = text.find(needle, at + 1)
    return at


def _clean(candidate: str) -> str | None:
    """Trim markdown emphasis, math delimiters and sentence punctuation around an answer."""
    candidate = candidate.strip().strip("*_").strip()
    if candidate.startswith("$") and candidate.endswith("$") and len(candidate) > 1:
        candidate = candidate.strip("$").strip()
    candidate = candidate.rstrip(".,;: ").strip()
    return candidate or None


EXTRACTORS: dict[str, Callable[[str], str | None]] = {
    "boxed": boxed,
    "answer_tag": answer_tag,
    "gsm8k": gsm8k,
    "answer_is": answer_is,
    "whole": whole,
    "last_math": last_math,
    "last_number": last_number,
}
DEFAULT_ORDER = ("boxed", "answer_tag", "gsm8k", "answer_is", "whole", "last_math", "last_number")


# A gold sentence is read by its explicit markers only: a guessed last number would make a
# definite (and possibly wrong) gold out of a row that should be skipped.
GOLD_ORDER = ("answer_is", "last_math")


def resolve(name: str) -> Callable[[str], str | None]:
    """An extractor by name, through the plugin registry (so a third-party extractor works);
    ours directly when the registry is unavailable or lacks it (e.g. used before plugins load)."""
    from grpo_rewards.registry import UnknownRewardError, get_registry

    try:
        return get_registry().extractor(name)
    except UnknownRewardError:
        if name in EXTRACTORS:
            return EXTRACTORS[name]
        raise


def extract_answer(text: str, extractors: Sequence[str] | None = None) -> str | None:
    """The final answer stated in ``text``: the first extractor (in order) that finds one.

    ``extractors`` are names registered through ``register_extractors`` (default
    :data:`DEFAULT_ORDER`); an unknown name raises the registry's error. An extractor that
    returns ``""`` found its marker but refused the content: the search stops there (None).
    """
    return extract_with_source(text, extractors)[0]


def extract_with_source(text: str, extractors: Sequence[str] | None = None) -> tuple[str | None, str | None]:
    """:func:`extract_answer` and the name of the extractor that fired (None when none did): what
    ``explain`` shows beside a correctness score."""
    if not isinstance(text, str) or not text:
        return None, None
    text = text.translate(SIGNS)  # a look-alike minus is a minus for every extractor
    order = DEFAULT_ORDER if extractors is None else extractors
    # a reward set binds its extractor names to functions once (grpo_rewards.registry.Refs)
    functions = getattr(order, "entries", None) or [resolve(name) for name in order]
    for name, find in zip(order, functions):
        found = find(text)
        if name == "boxed" and found and "answer_is" in order:
            later = final_phrase_after(text, text.rfind("\\boxed"))
            if later is not None and _parses(later):
                found = later
        if found is not None:
            # "" : the extractor's marker is there but what it holds was refused (unreadable,
            # too large); the answer is that refusal, not a weaker extractor's stray number
            return found.strip() or None, name
    return None, None


def gold_answer(raw_gold: object) -> str | None:
    """The answer inside a dataset's gold column: bare, ``$...$``, boxed, an ``<answer>`` element,
    or a GSM8K solution ending in ``#### N``. Numbers (int, float) are accepted as they are."""
    if raw_gold is None or isinstance(raw_gold, bool):
        return None
    if isinstance(raw_gold, (int, float)):
        return repr(raw_gold) if isinstance(raw_gold, int) or math.isfinite(raw_gold) else None
    if not isinstance(raw_gold, str):
        return None
    text = raw_gold.strip()
    if not text:
        return None
    if "####" in text:
        return gsm8k(text)
    for find in (boxed, answer_tag):
        found = find(text)
        if found is not None:
            return found or None
    bare = strip_delimiters(text)
    if _PROSE.search(bare[:MAX_PROSE_SCAN]):
        # a worked solution (MATH, NuminaMath ship one) or a sentence: read by the completion's
        # explicit markers; with none, a gold that is only words stays words
        found = extract_answer(text, GOLD_ORDER)
        if found is not None:
            return found
    return bare or None  # may not parse ("9^9^9^9"): then the row has no gold


# A concluding statement: "we (finally) get N", "so N", "therefore ... N", "thus N", "hence N".
_CONCLUSION = re.compile(
    r"\b(?:we\s{1,4}(?:finally\s{1,4}|now\s{1,4})?(?:get|have|obtain|find|arrive\s{1,4}at|conclude)|so|therefore|"
    r"thus|hence|finally|in\s{1,4}total|altogether|(?:this|which)\s{1,4}gives|giving|the\s{1,4}result\s{1,4}is)\b",
    re.IGNORECASE,
)
# The value that ends a concluding sentence: a number run, then at most a few words ("dollars").
_ENDS_WITH_VALUE = re.compile(r"\$?(?:\s{1,4}[A-Za-z]+){0,3}\s{0,4}\$?[.!]?\s{0,4}$")
MAX_CONCLUSIONS = 8
# Before a conclusion's value: a named quantity ("$x$ is", "x =") makes it a remark about that quantity.
_NAMES_QUANTITY = re.compile(r"=|<|>|\\[lg]eq?(?![A-Za-z])|\$[^$]*[A-Za-z][^$]*\$|\b[a-zA-Z]\s{0,4}(?:=|\bis\b)")
_RELATION = re.compile(r"=|<|>|\\(?:[lg]eq?|neq|approx|le|ge)(?![A-Za-z])")
_WORD = re.compile(r"[A-Za-z]+")
MAX_LEAD_WORDS = 4  # "so the total is 45"; not "so it must be the closest to 67.4"


def conclusions_after(text: str, position: int) -> list[str]:
    """The values of concluding statements ("... we finally get 164", "So the total is $12.") made
    after ``position`` (where a final answer was marked), last first: a final answer followed by
    a conclusion that gives another value states two answers. Only a conclusion that states the
    text's last value and names no other quantity counts: its value is the number (or run of
    alternatives) that ends its sentence, else the rest of the sentence when that is a formula
    ("we finally get \\frac{2 \\sqrt{3}}{3}"), within a few words of the phrase. A remark after a
    box ("so $QM/PQ = 15/17$", "so $x$ is 5 or 1", "we have $n(n-1) < 6^n$", "so it must be the
    closest to 67.4") is about something else and is not read."""
    tail = text[position:][-PHRASE_SCAN_CHARS:]
    found = list(_CONCLUSION.finditer(tail))[-MAX_CONCLUSIONS:]
    out = []
    for m in reversed(found):
        rest = tail[m.end() : m.end() + MAX_PHRASE_CHARS]
        sentence = _SENTENCE_END.split(rest.split("\n", 1)[0], maxsplit=1)[0]
        if _DIGIT.search(tail, m.end() + len(sentence)):
            continue  # a value stated later: this was an intermediate step
        numbers = list(_NUMBER.finditer(sentence))
        if numbers and _ENDS_WITH_VALUE.match(sentence, numbers[-1].end()):
            first = numbers[_run_start(sentence, numbers)].start()
            lead = sentence[:first]
            if not _DIGIT.search(lead) and not _NAMES_QUANTITY.search(lead) and len(_WORD.findall(lead)) <= MAX_LEAD_WORDS:
                out.append(_number_run(sentence, numbers))  # its only value, at its end: "we finally get 164"
                continue
        stated = _phrase_value(rest.lstrip(" ,:"))
        if stated is None or not _formula_only(stated) or _bare(stated) != _bare(sentence):
            continue  # the whole rest of the sentence must be the formula
        if not _RELATION.search(stated):  # "so $QM/PQ = 15/17$", "we have $44 \\times 55 = 3506$": a check, a remark
            out.append(stated)
    return out


def _bare(text: str) -> str:
    """``text`` without math delimiters, spaces and closing punctuation, to compare spans."""
    return re.sub(r"\\[()\[\]]|[$\s]", "", text).rstrip(".,;:!")


def _formula_only(candidate: str) -> bool:
    """Whether ``candidate`` is written as mathematics (digits, no prose words), read or not: a
    conclusion that states a formula the parser cannot read still states something."""
    words = _PROSE_WORD.findall(_LATEX_WORDS.sub(" ", candidate))
    if [w for w in words if w.lower() not in _MATH_WORDS and not _product_of_symbols(w)]:
        return False
    return bool(_DIGIT.search(candidate)) or _reads_as_value(candidate)


def _product_of_symbols(word: str) -> bool:
    """Whether the lexer reads ``word`` as single-letter symbols multiplied ("qr" in ``3qr + 6q``),
    not as a word ("is", "the"): a formula with such a product is still a formula."""
    try:
        return all(t.kind == "SYM" for t in tokenize(word))
    except LexError:
        return False


def _reads_as_value(candidate: str) -> bool:
    """Whether ``candidate`` parses as a value (not as words)."""
    from .parse import parse_answer
    from .values import Text

    value = parse_answer(candidate)
    return value is not None and not isinstance(value, Text)


def final_marker_position(text: str, extractors: Sequence[str]) -> int | None:
    """Where the last final-answer marker the extractors read starts (a box, an ``<answer>``
    element, ``####``, an answer phrase); None when there is none."""
    positions = []
    if "boxed" in extractors:
        positions += [m.start() for m in list(_BOX_COMMAND.finditer(text[-PHRASE_SCAN_CHARS:]))[-1:]]
        positions = [p + max(0, len(text) - PHRASE_SCAN_CHARS) for p in positions]
    if "answer_tag" in extractors:
        positions.append(text.lower().rfind("<answer>"))
    if "gsm8k" in extractors:
        positions.append(text.rfind("####"))
    if "answer_is" in extractors:
        found = _answer_phrase(text)
        if found is not None:
            positions.append(found[1])
    best = max(positions, default=-1)
    return best if best >= 0 else None
