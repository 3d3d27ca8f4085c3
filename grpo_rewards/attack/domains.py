"""The core's answer domains and how a reward's domain is found.

A reward declares its domain (``@reward(..., answer_domain="choices")``, a registered name, or an
:class:`AnswerDomain` / a wrong-answer function of its own); without a declaration the domain is
read off each row's gold answer: a lone letter A-J is a choice, an integer an integer, a decimal a
number, anything else text (no wrong answer is invented for text). Plugins add domains through the
``register_attacks`` hook (the math plugin's expressions, the code plugin's programs, the gym
plugin's task answers).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..attack_types import AnswerDomain

_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)$")
_CHOICE = re.compile(r"^\(?([A-J])\)?$")
CHOICE_LETTERS = "ABCDE"


def integer_near_misses(gold: str) -> dict[str, list[str]]:
    """Wrong integers close to ``gold``: its sign, off by one, digits transposed, a factor of ten."""
    text = gold.strip().replace(",", "")
    if not _INTEGER.match(text):
        return {}
    value = int(text)
    out: dict[str, list[str]] = {"off_by_one": [str(value + 1), str(value - 1)], "magnitude": [str(value * 10)]}
    if value:
        out["sign"] = [str(-value)]
    digits = str(abs(value))
    if len(digits) >= 2 and digits[-1] != digits[-2]:
        swapped = int(digits[:-2] + digits[-1] + digits[-2])
        out["transposed"] = [str(swapped if value >= 0 else -swapped)]
    return out


def number_near_misses(gold: str) -> dict[str, list[str]]:
    """Wrong decimals close to ``gold``: its sign, the last written digit off by one, a factor of ten."""
    text = gold.strip().replace(",", "")
    if _INTEGER.match(text):
        return integer_near_misses(text)
    if not _NUMBER.match(text) or "." not in text:
        return {}
    negative = text.startswith("-")
    body = text.lstrip("-")
    places = len(body.split(".", 1)[1])
    step = 10 ** (-places) if places else 1
    value = float(text)
    out: dict[str, list[str]] = {
        "off_by_one": [f"{value + step:.{places}f}", f"{value - step:.{places}f}"],
        "magnitude": [f"{value * 10:.{places}f}"],
    }
    if value:
        out["sign"] = [body if negative else "-" + body]
    return out


def choice_near_misses(gold: str, letters: str = CHOICE_LETTERS) -> dict[str, list[str]]:
    """The other letters of a multiple-choice answer (the next one first)."""
    match = _CHOICE.match(gold.strip())
    if not match:
        return {}
    letter = match.group(1)
    pool = letters if letter in letters else "ABCDEFGHIJ"
    start = pool.index(letter)
    others = [pool[(start + k) % len(pool)] for k in range(1, len(pool))]
    return {"other_choice": others[:2]}


def _numeric_or_choice(gold: str, columns: Mapping[str, Any]) -> Mapping[str, Sequence[str]]:
    return choice_near_misses(gold) or number_near_misses(gold)


CORE_DOMAINS: dict[str, AnswerDomain] = {
    d.name: d
    for d in (
        AnswerDomain("choices", "a multiple-choice letter (A-E)", lambda gold, columns: choice_near_misses(gold)),
        AnswerDomain("integer", "an integer", lambda gold, columns: integer_near_misses(gold)),
        AnswerDomain("number", "a decimal number", lambda gold, columns: number_near_misses(gold)),
        AnswerDomain("text", "free text: no wrong answer is invented"),
        AnswerDomain("auto", "read off each row's gold: a letter, an integer or a number", _numeric_or_choice),
    )
}


def resolve_domain(declared: Any, domains: Mapping[str, AnswerDomain], reward: str) -> AnswerDomain:
    """The domain a reward declared: a registered name, an AnswerDomain, or a wrong-answer function
    ``(gold, columns) -> {class: [answers]}``; ``auto`` when it declared none. An unknown name is a
    ValueError naming the reward and the known domains."""
    if declared is None:
        return domains.get("auto", CORE_DOMAINS["auto"])
    if isinstance(declared, AnswerDomain):
        return declared
    if isinstance(declared, str):
        if declared in domains:
            return domains[declared]
        raise ValueError(f"reward {reward!r} declares answer_domain {declared!r}; known domains: {', '.join(sorted(domains))}")
    if callable(declared):
        fn: Callable[[str, Mapping[str, Any]], Mapping[str, Sequence[str]]] = declared
        return AnswerDomain(f"{reward}:wrong_answers", f"the wrong answers {reward} gives", fn)
    raise ValueError(f"reward {reward!r}: answer_domain must be a domain name, an AnswerDomain or a function, got {declared!r}")
