"""Length rewards: hit a target length, stay under a budget, or be short when right.

- ``length.target``: the seed reward ``-abs(target - length)``, optionally normalised into
  [0, 1] or [-1, 0] with a tolerance band so it can sit beside 0/1 rewards without dwarfing them.
- ``length.overlong``: DAPO's soft overlong punishment (0 until ``max_length - buffer``, then a
  linear ramp to -1 at ``max_length``, -1 beyond).
- ``length.cosine``: cosine-scaled length conditioned on correctness ("Demystifying Long
  Chain-of-Thought Reasoning in LLMs", as in open-r1): short correct answers score best, and
  among wrong answers long ones are punished least (thinking longer is encouraged when wrong).

Lengths are measured in ``chars`` (code points), ``words`` (whitespace-separated) or ``tokens``
(``len(completion_ids)``; the reward is None when the caller passes no ids, rather than guessing a
tokenizer).
"""

from __future__ import annotations

import math
from typing import Any

from grpo_rewards import Param, Sample, Scored, hookimpl, reward

UNITS = ["chars", "words", "tokens"]
_UNIT_HELP = (
    "what length counts: 'chars' (characters), 'words' (whitespace-separated) or 'tokens' "
    "(len(completion_ids); the reward is None when no ids are given)"
)


def measure(sample: Sample, unit: str) -> int | None:
    """Length of the completion in ``unit``; None for tokens when no ids were given."""
    if unit == "chars":
        return len(sample.completion)
    if unit == "words":
        return len(sample.completion.split())
    if unit == "tokens":
        return None if sample.completion_ids is None else len(sample.completion_ids)
    raise ValueError(f"unknown unit {unit!r}")


@reward(
    "length.target",
    kind="length",
    description=(
        "Closeness to a target length. raw: -max(0, |length - target| - tolerance) (the seed's "
        "reward when tolerance=0); positive: 1 inside the tolerance band, falling linearly to 0 at "
        "`scale` past it; negative: the same in [-1, 0]."
    ),
    params=[
        Param("target", int, 50, "the length to aim for, in `unit`", min=0),
        Param("unit", str, "chars", _UNIT_HELP, choices=UNITS),
        Param(
            "form",
            str,
            "raw",
            "'raw' (unbounded, the seed), 'positive' (in [0, 1]) or 'negative' (in [-1, 0])",
            choices=["raw", "positive", "negative"],
        ),
        Param("tolerance", int, 0, "distance from the target that costs nothing, in `unit`", min=0),
        Param(
            "scale",
            int,
            None,
            "normalised forms: distance past the tolerance band at which the score bottoms out (default: the target, at least 1)",
            min=1,
            nullable=True,
        ),
    ],
    value_range=(float("-inf"), 1.0),
)
def length_target(sample: Sample, target: int, unit: str, form: str, tolerance: int, scale: int | None) -> Scored:
    length = measure(sample, unit)
    if length is None:
        return Scored(None, {"why": "unit = 'tokens' but no completion token ids were given"})
    excess = max(0, abs(length - target) - tolerance)
    details = {"length": length, "unit": unit, "target": target, "outside_tolerance": excess}
    if form == "raw":
        return Scored(-float(excess) + 0.0, details)  # + 0.0: never -0.0
    penalty = min(1.0, excess / (scale or max(target, 1)))
    return Scored(1.0 - penalty if form == "positive" else -penalty + 0.0, details)


@reward(
    "length.overlong",
    kind="length",
    description=(
        "DAPO's soft overlong punishment: 0 up to max_length - buffer, then a linear ramp down to -1 at "
        "max_length, and -1 beyond. Use with TRL's max_completion_length as max_length."
    ),
    params=[
        Param("max_length", int, 1024, "the length budget, in `unit` (-1 at and beyond it)", min=1),
        Param(
            "buffer",
            int,
            256,
            "width of the ramp before max_length (0: a hard cut, -1 only past max_length; larger than "
            "max_length: the ramp starts at 0)",
            min=0,
        ),
        Param("unit", str, "tokens", _UNIT_HELP, choices=UNITS),
    ],
    value_range=(-1.0, 0.0),
)
def length_overlong(sample: Sample, max_length: int, buffer: int, unit: str) -> Scored:
    length = measure(sample, unit)
    if length is None:
        return Scored(None, {"why": "unit = 'tokens' but no completion token ids were given"})
    buffer = min(buffer, max_length)
    start = max_length - buffer
    details = {"length": length, "unit": unit, "ramp": [start, max_length]}
    if length <= start:
        return Scored(0.0, {**details, "why": "before the ramp"})
    if length >= max_length:
        return Scored(-1.0, {**details, "why": "at or past max_length"})
    return Scored((start - length) / buffer, {**details, "why": "on the ramp"})


def cosine_length_score(
    length: int,
    correct: bool,
    max_length: int,
    min_value_correct: float,
    max_value_correct: float,
    min_value_wrong: float,
    max_value_wrong: float,
) -> float:
    """Cosine interpolation from the empty completion's score to ``max_length``'s score.

    Correct: max_value_correct at length 0 down to min_value_correct at max_length.
    Wrong: min_value_wrong at length 0 up to max_value_wrong at max_length. Longer is clamped.
    """
    progress = min(1.0, length / max_length)
    weight = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 at length 0, 0 at max_length
    if correct:
        return min_value_correct + weight * (max_value_correct - min_value_correct)
    return max_value_wrong + weight * (min_value_wrong - max_value_wrong)


def _as_bool(value: object) -> bool | None:
    """A correctness column value as a boolean: bools, numbers (>= 0.5 is correct) and
    'true'/'false'/'yes'/'no'/'1'/'0' strings; anything else (None, NaN, 'maybe') is None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else value >= 0.5
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "1", "1.0", "correct"):
            return True
        if word in ("false", "no", "0", "0.0", "incorrect", "wrong"):
            return False
    return None


def _math_correct(completion: str, raw_gold: object, after_think: bool = False) -> tuple[bool | None, dict[str, Any]]:
    """Is the completion's final answer equivalent to the gold answer? None when undecidable.
    With ``after_think`` only the text after ``</think>`` is read (never closed: wrong).
    Beside it, what explain shows: the extractor that fired, what it read, the gold as read."""
    from grpo_rewards.plugins import math as math_plugin  # the sibling plugin; imported on use
    from grpo_rewards.plugins.math.extract import extract_with_source

    gold = math_plugin.gold_answer(raw_gold) if raw_gold is not None else None
    if gold is None:
        return None, {"gold": None, "why": "the gold answer could not be read"}
    if after_think:
        completion = math_plugin.after_reasoning(completion)
        if completion is None:  # False, or None for a bad gold
            return math_plugin.answers_equivalent(None, gold), {"gold": _shown(gold), "why": "the <think> block is never closed"}
    predicted, extractor = extract_with_source(completion)
    read = {"extractor": extractor, "read": _shown(predicted), "gold": _shown(gold)}
    if predicted is None:
        return False, read
    return math_plugin.answers_equivalent(predicted, gold), read


def _shown(text: str | None, limit: int = 120) -> str | None:
    """Text bounded for details, which travel in every output row."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


@reward(
    "length.cosine",
    kind="length",
    description=(
        "Cosine-scaled length conditioned on correctness: short and right scores best (1.0 down to "
        "0.5 at max_length), long and wrong is punished least (-1.0 up to -0.5). Correctness comes "
        "from `correct_column` when set, else from the math check against `answer_column`; None "
        "when it cannot be decided."
    ),
    params=[
        Param(
            "answer_column",
            str,
            "answer",
            "column with the gold answer for the built-in math check "
            "(set to null when correct_column is used and the data has no answer column)",
            column=True,
            nullable=True,
        ),
        Param(
            "correct_column",
            str,
            None,
            "column holding correctness (true/false or 1/0); overrides the math check",
            column=True,
            nullable=True,
        ),
        Param(
            "max_length",
            int,
            1000,
            "length at which the cosine reaches its end value, in `unit`; longer completions score as if this long",
            min=1,
        ),
        Param("unit", str, "chars", _UNIT_HELP, choices=UNITS),
        Param("min_value_correct", float, 0.5, "score of a correct answer at max_length", min=-1.0, max=1.0),
        Param("max_value_correct", float, 1.0, "score of an empty correct answer", min=-1.0, max=1.0),
        Param("min_value_wrong", float, -1.0, "score of an empty wrong answer", min=-1.0, max=1.0),
        Param("max_value_wrong", float, -0.5, "score of a wrong answer at max_length", min=-1.0, max=1.0),
        Param(
            "after_think",
            bool,
            False,
            "math check: read the answer only after the closing </think> "
            "(an unclosed think block is wrong), as math.correct's after_think",
        ),
    ],
    value_range=(-1.0, 1.0),
)
def length_cosine(
    sample: Sample,
    answer_column: str | None,
    correct_column: str | None,
    max_length: int,
    unit: str,
    min_value_correct: float,
    max_value_correct: float,
    min_value_wrong: float,
    max_value_wrong: float,
    after_think: bool = False,
) -> Scored:
    length = measure(sample, unit)
    if length is None:
        return Scored(None, {"why": "unit = 'tokens' but no completion token ids were given"})
    details: dict[str, Any] = {"length": length, "unit": unit}
    if correct_column:
        raw = sample.columns.get(correct_column)
        correct = _as_bool(raw)
        details.update({"correct_from": correct_column, "read": _shown(str(raw))})
        if correct is None:
            details["why"] = f"column {correct_column!r} holds no true/false value"
    elif answer_column:
        correct, read = _math_correct(sample.completion, sample.columns.get(answer_column), after_think)
        details.update({"correct_from": "math check", **read})
    else:
        correct = None
        details["why"] = "neither correct_column nor answer_column is set"
    details["correct"] = correct
    if correct is None:
        details.setdefault("why", "correctness could not be decided")
        return Scored(None, details)
    return Scored(
        cosine_length_score(length, correct, max_length, min_value_correct, max_value_correct, min_value_wrong, max_value_wrong),
        details,
    )


@hookimpl
def register_rewards(register):
    for fn in (length_target, length_overlong, length_cosine):
        register(fn)
