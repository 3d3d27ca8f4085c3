"""Repetition penalty: completions that loop ("and then and then and then ...") lose reward.

The penalty is ``max_penalty * (1 - unique n-grams / total n-grams)``: 0 for a completion with no
repeated n-gram, approaching ``max_penalty`` as one n-gram fills it (the open-r1 shape).
"""

from __future__ import annotations

from typing import Sequence

from grpo_rewards import Param, Sample, hookimpl, reward


def repeated_fraction(items: Sequence[object], n: int) -> float:
    """1 - unique/total over the n-grams of ``items``; 0.0 when there is no n-gram at all."""
    total = len(items) - n + 1
    if total <= 0:
        return 0.0
    unique = len({tuple(items[i:i + n]) for i in range(total)})
    return 1.0 - unique / total


@reward(
    "repetition.ngram",
    kind="style",
    description=(
        "n-gram repetition penalty in [max_penalty, 0]: max_penalty * (1 - unique/total n-grams). "
        "0 for completions shorter than n. Words are case-folded and split on whitespace."
    ),
    params=[
        Param("n", int, 3, "n-gram size", min=1, max=64),
        Param("unit", str, "words", "'words' (case-folded, whitespace-separated) or 'tokens' (completion_ids; "
              "None when no ids are given)", choices=["words", "tokens"]),
        Param("max_penalty", float, -1.0, "the score of a completion made of one repeated n-gram (<= 0)",
              min=-100.0, max=0.0),
    ],
    value_range=(float("-inf"), 0.0),
)
def ngram_repetition(sample: Sample, n: int, unit: str, max_penalty: float) -> float | None:
    if unit == "tokens":
        if sample.completion_ids is None:
            return None
        items: Sequence[object] = list(sample.completion_ids)
    else:
        items = sample.completion.casefold().split()
    return max_penalty * repeated_fraction(items, n) + 0.0  # + 0.0: never -0.0


@hookimpl
def register_rewards(register):
    register(ngram_repetition)
