"""Repetition penalty: completions that loop ("and then and then and then ...") lose reward.

The penalty is ``max_penalty * (1 - unique n-grams / total n-grams)``: 0 for a completion with no
repeated n-gram, approaching ``max_penalty`` as one n-gram fills it (the open-r1 shape).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator

from grpo_rewards import Param, Sample, hookimpl, reward

_WORD = re.compile(r"\S+")


def repeated_fraction(items: Iterable[object], n: int) -> float:
    """1 - unique/total over the n-grams of ``items``; 0.0 when there is no n-gram at all.

    Streams: only a window of ``n`` items and the set of distinct n-grams are held, never the
    list of all items or all n-grams.
    """
    window: deque[object] = deque(maxlen=n)
    seen: set[tuple[object, ...]] = set()
    total = 0
    for item in items:
        window.append(item)
        if len(window) == n:
            total += 1
            seen.add(tuple(window))
    return 1.0 - len(seen) / total if total else 0.0


def words(text: str) -> Iterator[str]:
    """Case-folded whitespace-separated words, one at a time (no list of a whole completion)."""
    return (m.group(0).casefold() for m in _WORD.finditer(text))


@reward(
    "repetition.ngram",
    kind="style",
    description=(
        "n-gram repetition penalty in [max_penalty, 0]: max_penalty * (1 - unique/total n-grams). "
        "0 for completions shorter than n. Words are case-folded and split on whitespace."
    ),
    params=[
        Param("n", int, 3, "n-gram size", min=1, max=64),
        Param(
            "unit",
            str,
            "words",
            "'words' (case-folded, whitespace-separated) or 'tokens' (completion_ids; None when no ids are given)",
            choices=["words", "tokens"],
        ),
        Param("max_penalty", float, -1.0, "the score of a completion made of one repeated n-gram (<= 0)", min=-100.0, max=0.0),
    ],
    value_range=(float("-inf"), 0.0),
)
def ngram_repetition(sample: Sample, n: int, unit: str, max_penalty: float) -> float | None:
    if unit == "tokens":
        if sample.completion_ids is None:
            return None
        items: Iterable[object] = sample.completion_ids
    else:
        items = words(sample.completion)
    return max_penalty * repeated_fraction(items, n) + 0.0  # + 0.0: never -0.0


@hookimpl
def register_rewards(register):
    register(ngram_repetition)
