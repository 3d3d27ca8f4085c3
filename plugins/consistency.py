"""Reasoning-answer consistency: reward honest reasoning, not just a lucky final answer.

- ``consistency.answer``: does the final answer (the ``<answer>`` element, else a ``\\boxed{}``
  after the reasoning) agree with where the reasoning arrived (its last stated result)? Compared
  with the math reward's equivalence. A model that reasons to 72 and answers 70 scores 0 here even
  when 70 happens to be the gold answer.
- ``consistency.arithmetic``: the fraction of explicit calculations in the reasoning
  (``48 / 2 = 24``, ``3 + 4 = 7 + 2 = 9``) that are correct, checked exactly by
  :mod:`grpo_rewards.plugins.arithmetic` (no eval).
"""

from __future__ import annotations

import re
from typing import Any

from grpo_rewards import Param, Sample, Scored, hookimpl, reward

from .arithmetic import find_steps
from .xml_format import parse_completion

# Reasoning longer than this is not read (a counted error on the row): the regexes here are linear,
# but sympy comparisons and the math plugin's extraction grow with the text.
MAX_INPUT_CHARS = 200_000

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# Where a stated value ends and prose begins: a word (any script, not a LaTeX command), the
# articles "a"/"an"/"I", or a letter starting a name like M&M's or Tom's.
_WORD = re.compile(r"(?<![\\])(?<![^\W\d_])[^\W\d_]{2,}|(?<=\s)[aAI](?=\s|$)|(?<=\s)[^\W\d_](?=[&'’])")
_FIRST_NUMBER = re.compile(
    r"-?\\[dt]?frac\{[^{}]*\}\{[^{}]*\}"  # \frac{3}{4}
    r"|(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:/\d+(?:\.\d+)?)?%?"  # 1,250  3.5  3/4  20%
    r"|(?<![\w.])-?\.\d+%?"
)
_RELATION = re.compile(r"=|\\approx|≈")
_TRIM = " \t$.,;:!?()[]\\。，；：！？\"'”"


def _math():
    """The math plugin: its extraction and equivalence are the single source of truth. Imported on
    use, so that consistency.arithmetic still loads if the math plugin ever fails to."""
    from grpo_rewards.plugins import math as math_plugin

    return math_plugin


def _boxed_start(text: str, start: int = 0) -> int:
    return max(text.rfind("\\boxed", start), text.rfind("\\fbox", start))


def final_answer(text: str, think_tag: str = "think", answer_tag: str = "answer") -> tuple[str | None, str | None]:
    """(final answer, reasoning) of a completion; either may be None.

    The final answer is the closed ``<answer>`` element, else the last ``\\boxed{}`` after the
    reasoning. The reasoning is the closed ``<think>`` element, else the text before the answer.
    """
    parsed = parse_completion(text, (think_tag, answer_tag))
    reasoning = parsed.field(think_tag)
    answer = parsed.field(answer_tag)
    if answer is not None:
        if reasoning is None:
            reasoning = _before(text, text.rfind(f"<{answer_tag}"))
        return answer, reasoning
    after = text.rfind(f"</{think_tag}") + 1 if reasoning is not None else 0
    at = _boxed_start(text, after)
    if at < 0:
        return None, reasoning
    answer = _math().extract_answer(text[at:], ["boxed"])
    return answer, reasoning if reasoning is not None else _before(text, at)


def _before(text: str, at: int) -> str:
    """The text before position ``at``, without a number-free lead-in to the answer there
    ("So the answer is $" before a boxed value is not reasoning; "12 * 7 = 84, so" is)."""
    prefix = text[:at]
    boundaries = list(_SENTENCE_END.finditer(prefix))
    cut = boundaries[-1].start() if boundaries else 0
    return prefix if any(c.isdigit() for c in prefix[cut:]) else prefix[:cut]


def conclusion(reasoning: str) -> str | None:
    """Where the reasoning arrived: a boxed value or "the answer is X" in it, else the last
    sentence holding a result: the right-hand side of its last equation, or its first number
    ("It takes 15 hours to clean 45 rooms" concludes 15; on GSM8K's gold solutions the first
    number agrees with the gold answer more often than the last)."""
    stated = _math().extract_answer(reasoning, ["boxed", "answer_is"])
    if stated and any(c.isalnum() for c in stated):
        return stated
    for sentence in reversed([s for s in _SENTENCE_END.split(reasoning) if s.strip()]):
        relations = list(_RELATION.finditer(sentence))
        if relations:
            rhs = sentence[relations[-1].end() :]
            value = _cut_at_words(rhs) or _first_number(rhs)  # "= shoe size 15" -> "15"
            if value:
                return value
        number = _first_number(sentence)
        if number:
            return number
    return None


def _first_number(text: str) -> str | None:
    found = _FIRST_NUMBER.search(text)
    return found.group(0) if found else None


def _cut_at_words(value: str) -> str:
    """``72 clips in total`` -> ``72``; ``\\frac{3}{4} of the cake`` -> ``\\frac{3}{4}``."""
    word = _WORD.search(value)
    if word:
        value = value[: word.start()]
    return value.strip(_TRIM).rstrip("/*+×·- ")  # "$1500/month" -> "1500"


@reward(
    "consistency.answer",
    kind="other",
    description=(
        "Does the final answer agree with the reasoning? 1.0 when the <answer> element (else a "
        "\\boxed{} after the reasoning) is equivalent to the reasoning's conclusion (a boxed value or "
        "'the answer is X' in it, else, in its last sentence stating a result, the last equation's "
        "right-hand side or the first number), 0.0 when not; None without a final answer or a conclusion."
    ),
    params=[
        Param("think_tag", str, "think", "element holding the reasoning", role="think_tag"),
        Param("answer_tag", str, "answer", "element holding the final answer", role="answer_tag"),
        Param(
            "require_think",
            bool,
            False,
            "only a closed reasoning element counts as reasoning (else the text before the answer does)",
        ),
        Param("rel_tol", float, 1e-6, "relative tolerance for numeric equivalence", min=0.0, max=1.0),
    ],
    value_range=(0.0, 1.0),
    isolation="process",
    max_input_chars=MAX_INPUT_CHARS,
)
def answer_consistency(sample: Sample, think_tag: str, answer_tag: str, require_think: bool, rel_tol: float) -> Scored:
    if require_think and parse_completion(sample.completion, (think_tag, answer_tag)).field(think_tag) is None:
        return Scored(None, {"why": f"require_think: no closed <{think_tag}> element"})
    answer, reasoning = final_answer(sample.completion, think_tag, answer_tag)
    if not answer:
        return Scored(None, {"why": f"no final answer (no <{answer_tag}> element, no box after the reasoning)"})
    if not reasoning or not reasoning.strip():
        return Scored(None, {"answer": _shown(answer), "why": "no reasoning before the answer"})
    reached = conclusion(reasoning)
    details = {"answer": _shown(answer), "conclusion": _shown(reached)}
    if reached is None:
        return Scored(None, {**details, "why": "the reasoning states no result"})
    verdict = _math().answers_equivalent(answer, reached, rel_tol=rel_tol)
    if verdict is None:
        return Scored(None, {**details, "why": "the two could not be compared"})
    return Scored(float(verdict), {**details, "why": "agree" if verdict else "disagree"})


def reasoning_text(completion: str, scope: str, think_tag: str = "think") -> str | None:
    """The text whose calculations are checked, by ``scope``."""
    if scope == "completion":
        return completion
    think = parse_completion(completion, (think_tag,)).field(think_tag)
    if think is not None or scope == "think":
        return think
    return completion


@reward(
    "consistency.arithmetic",
    kind="other",
    description=(
        "Fraction of the explicit calculations in the reasoning that are correct ('48 / 2 = 24', "
        "chained '3 + 4 = 7 + 2 = 9'; each '=' is one step, checked exactly without eval). None with "
        "fewer than min_steps calculations."
    ),
    params=[
        Param(
            "scope",
            str,
            "reasoning",
            "'reasoning' (the <think> element, or the whole completion when "
            "there is none), 'think' (only the <think> element; None without it) or 'completion'",
            choices=["reasoning", "think", "completion"],
        ),
        Param("think_tag", str, "think", "element holding the reasoning", role="think_tag"),
        Param("rounding", bool, True, "accept a decimal result rounded to the places written (10 / 3 = 3.33)"),
        Param("min_steps", int, 1, "fewer calculations than this give None", min=1),
    ],
    value_range=(0.0, 1.0),
    isolation="process",
    max_input_chars=MAX_INPUT_CHARS,
)
def arithmetic_consistency(sample: Sample, scope: str, think_tag: str, rounding: bool, min_steps: int) -> Scored:
    text = reasoning_text(sample.completion, scope, think_tag)
    if text is None:
        return Scored(None, {"why": f"scope = 'think' but no <{think_tag}> element"})
    steps = find_steps(text, rounding=rounding)
    if len(steps) < min_steps:
        return Scored(None, {"steps": len(steps), "why": f"fewer than min_steps = {min_steps} calculations"})
    wrong = next((step for step in steps if not step.correct), None)
    details: dict[str, Any] = {"steps": len(steps), "correct": sum(step.correct for step in steps)}
    if wrong is not None:
        details["first_wrong"] = _shown(f"{wrong.left} {wrong.relation} {wrong.right}")
    return Scored(details["correct"] / len(steps), details)


def _shown(text: str | None, limit: int = 120) -> str | None:
    """Text bounded for details, which travel in every output row."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


@hookimpl
def register_rewards(register):
    register(answer_consistency)
    register(arithmetic_consistency)
