"""Math correctness: extract the final answer, parse it safely, compare it with the gold answer.

The public helpers other plugins use (consistency, length.cosine):

- :func:`extract_answer` ``(text, extractors=None) -> str | None``
- :func:`parse_answer` ``(text) -> Answer | None`` (see :mod:`.values` for the kinds)
- :func:`answers_equivalent` ``(predicted, gold, *, rel_tol=1e-6) -> bool | None``
- :func:`gold_answer` ``(raw_gold) -> str | None``
- :func:`after_reasoning` ``(text) -> str | None`` (the text after ``</think>``; None if never closed)

Registers the ``math.correct`` reward and the extractors ``boxed``, ``answer_tag``, ``gsm8k``,
``answer_is``, ``whole``, ``last_math`` and ``last_number``.
"""

from __future__ import annotations

from grpo_rewards import hookimpl

from .equivalence import answers_equivalent, matches, values_equivalent
from .extract import DEFAULT_ORDER, EXTRACTORS, extract_answer, gold_answer
from .parse import parse_answer
from .reward import math_correct
from .think import after_reasoning

__all__ = [
    "DEFAULT_ORDER",
    "after_reasoning",
    "answers_equivalent",
    "extract_answer",
    "gold_answer",
    "matches",
    "math_correct",
    "parse_answer",
    "values_equivalent",
]


@hookimpl
def register_rewards(register):
    register(math_correct)


@hookimpl
def register_attacks(register):
    from .attacks import MATH_DOMAIN

    register(MATH_DOMAIN)


@hookimpl
def register_extractors(register):
    for name, fn in EXTRACTORS.items():
        register(name, fn)
