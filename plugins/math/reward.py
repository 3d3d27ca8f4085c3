"""``math.correct``: 1 when the completion's final answer equals the gold answer, else 0.

The gold answer comes from a dataset column (``answer`` by default) and may be bare, in
``$...$``, boxed, a whole GSM8K solution ending in ``#### N`` or a worked solution (read with the
completion's extractors); None when it is missing or cannot be read (the reward does not apply to
that row, and TRL leaves it out of the mean). The answer is read after the last ``</think>``
when the completion has one (a box inside the reasoning block is a draft); ``after_think`` is the
strict form: a completion that never closes the block has no answer at all. Sentences copied from
the prompt are not read (the echoed question is no answer; ``read_prompt_echo`` reads them), and a
final answer followed by a different one (another marker, or a concluding "so / we finally get N")
is a hedge, not an answer.
"""

from __future__ import annotations

import re

from grpo_rewards import Param, Sample, Scored, reward

from .echo import without_echo
from .equivalence import matches, values_equivalent
from .extract import (
    _NUMBER,
    DEFAULT_ORDER,
    answer_tag,
    boxed,
    boxed_contents,
    conclusions_after,
    extract_answer,
    extract_with_source,
    final_marker_position,
    gold_answer,
)
from .parse import parse_answer
from .think import after_reasoning
from .values import Answer, Collection

MAX_ELSEWHERE_CANDIDATES = 48
_MATH_SPAN = re.compile(r"\$\$?([^$]{1,200})\$\$?")


@reward(
    "math.correct",
    kind="correctness",
    description=(
        "1.0 when the final answer (last \\boxed{} or adjacent boxes, <answer>, #### N, 'the answer "
        "is', a completion that is only an answer, the last formula, or the last number, in the "
        "`extractors` order) equals the gold answer exactly, numerically or symbolically; tuples, "
        "intervals, inequalities, sets, matrices, equations, labelled answers, percentages, units, "
        "number words handled. None when the gold answer is missing or unreadable."
    ),
    params=[
        Param(
            "answer_column",
            str,
            "answer",
            "dataset column holding the gold answer (bare, $..$, boxed, or a GSM8K solution ending in '#### N')",
            column=True,
        ),
        Param(
            "extractors",
            list,
            list(DEFAULT_ORDER),
            "answer extractors to try, in order (names "
            "registered by plugins: boxed, answer_tag, gsm8k, answer_is, whole, last_math, last_number, ...)",
            refers_to="extractor",
        ),
        Param(
            "rel_tol",
            float,
            1e-6,
            "relative tolerance when a decimal is involved (exact fractions are compared exactly)",
            min=0.0,
            max=0.5,
        ),
        Param(
            "partial_credit",
            float,
            0.0,
            "score when the right answer appears in the completion but not where the extractors look (0 = no credit)",
            min=0.0,
            max=1.0,
        ),
        Param("wrong_score", float, 0.0, "score for a wrong or missing answer", min=0.0, max=1.0, role="wrong_score"),
        Param(
            "after_think",
            bool,
            False,
            "require a closed reasoning block (TRL's reasoning_accuracy_reward convention): a "
            "completion that never closes </think> scores wrong_score. Either way the answer is "
            "read only after the last </think> when there is one",
        ),
        Param(
            "read_prompt_echo",
            bool,
            False,
            "read answers from sentences copied verbatim from the prompt (off: a value read only "
            "from the echoed question is no answer)",
        ),
    ],
    value_range=(0.0, 1.0),
    isolation="process",
    gold_reader=gold_answer,
    answer_domain="math",
)
def math_correct(
    sample: Sample,
    answer_column: str,
    extractors: list[str],
    rel_tol: float,
    partial_credit: float,
    wrong_score: float,
    after_think: bool = False,
    read_prompt_echo: bool = False,
) -> Scored:
    raw_gold = sample.columns.get(answer_column)
    gold = gold_answer(raw_gold)
    gold_value = parse_answer(gold) if gold is not None else None
    if gold_value is None:
        why = f"no gold answer in column {answer_column!r}" if raw_gold is None else "the gold answer could not be read"
        return Scored(None, {"gold": _shown(gold), "why": why})
    completion = after_reasoning(sample.completion)
    if completion is None:  # no closed reasoning block: strict mode has no answer, else read it all
        if after_think:
            return Scored(wrong_score, {"gold": _shown(gold), "why": "after_think: the <think> block is never closed"})
        completion = sample.completion
    if not read_prompt_echo:
        completion = without_echo(completion, sample.prompt)
    predicted, extractor = extract_with_source(completion, extractors)
    details = {"extractor": extractor, "read": _shown(predicted), "gold": _shown(gold)}
    if predicted is not None and matches(predicted, gold_value, rel_tol=rel_tol):
        if overlapping_alternatives(predicted, rel_tol):
            return Scored(wrong_score, {**details, "why": "a hedge: alternatives that repeat a value"})
        if final_answers_disagree(completion, extractors, predicted, rel_tol):
            return Scored(wrong_score, {**details, "why": "two final answers disagree"})
        return Scored(1.0, {**details, "why": "equals the gold answer"})
    if partial_credit != wrong_score and appears_elsewhere(completion, gold_value, predicted, rel_tol):
        return Scored(partial_credit, {**details, "why": "the gold answer appears, but not where the extractors read"})
    why = "no extractor found an answer" if predicted is None else "differs from the gold answer"
    return Scored(wrong_score, {**details, "why": why})


def _shown(text: str | None, limit: int = 200) -> str | None:
    """What was read, bounded: details travel in every output row."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


FINAL_MARKERS = ("boxed", "answer_tag", "gsm8k")
_DISJUNCTION = re.compile(r"\bor\b", re.IGNORECASE)
MAX_ALTERNATIVES = 32


def overlapping_alternatives(predicted: str, rel_tol: float) -> bool:
    """Whether ``predicted`` offers alternatives that share a value: "24, -3 or 24" is "24, -3" or
    "24", a hedge, though as a set of solutions it would read {24, -3}. A list written with
    commas alone may repeat a value (a restatement); one joined by "or" may not."""
    if not _DISJUNCTION.search(predicted):
        return False
    value = parse_answer(predicted)
    if not isinstance(value, Collection) or value.kind != "list" or len(value.items) > MAX_ALTERNATIVES:
        return False
    items = value.items
    return any(values_equivalent(items[i], items[j], rel_tol=rel_tol) for i in range(len(items)) for j in range(i))


def final_answers_disagree(text: str, extractors: list[str], predicted: str, rel_tol: float) -> bool:
    """Whether the completion marks another, different final answer (``\\boxed{42}`` and
    ``<answer>7</answer>``, or a box and ``#### 7``): two final answers are a hedge, not an
    answer, whichever marker the extractors read first."""
    value = parse_answer(predicted)
    if value is None:
        return False
    for name in FINAL_MARKERS:
        if name not in extractors:
            continue
        if name == "boxed" and "answer_is" in extractors:  # a final phrase after the box overrides it
            other = extract_answer(text, ["boxed", "answer_is"]) if boxed(text) is not None else None
        else:
            other = extract_answer(text, [name])
        if other is None or other == predicted:
            continue
        other_value = parse_answer(other)
        if other_value is not None and not values_equivalent(other_value, value, rel_tol=rel_tol):
            return True
    return concluded_otherwise(text, extractors, predicted, rel_tol)


def concluded_otherwise(text: str, extractors: list[str], predicted: str, rel_tol: float) -> bool:
    """Whether a concluding statement after the last final marker gives another value: "The answer
    is 163. Checking once more ... we finally get 164" states two final answers."""
    position = final_marker_position(text, extractors)
    if position is None:
        return False
    value = parse_answer(predicted)
    if value is None:
        return False
    for concluded in conclusions_after(text, position):
        if matches(concluded, value, rel_tol=rel_tol):
            continue
        other = parse_answer(concluded)
        if other is None:  # a formula that cannot be read (a determinant of a column): another statement
            if concluded.replace(" ", "") != predicted.replace(" ", ""):
                return True
        elif not matches(predicted, other, rel_tol=rel_tol):
            return True
    return False


def appears_elsewhere(text: str, gold_value: Answer, skip: str | None, rel_tol: float) -> bool:
    """Whether the gold answer is stated somewhere in ``text`` other than ``skip``: in any boxed
    answer, ``<answer>`` element, ``$...$`` span, or as a number (latest first, bounded)."""
    tail = text[-20_000:]
    candidates = list(boxed_contents(tail))
    tag = answer_tag(tail)
    if tag:
        candidates.append(tag)
    candidates += [m.group(1) for m in _MATH_SPAN.finditer(tail)][::-1]
    candidates += [m.group(0) for m in _NUMBER.finditer(tail)][::-1]
    seen = {skip}
    for candidate in candidates:
        if candidate in seen:
            continue
        seen.add(candidate)
        if len(seen) > MAX_ELSEWHERE_CANDIDATES:
            break
        if matches(candidate, gold_value, rel_tol=rel_tol):
            return True
    return False
