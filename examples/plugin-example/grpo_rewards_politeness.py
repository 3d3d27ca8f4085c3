"""A third-party grpo-rewards plugin, packaged on its own.

Install it (``pip install ./examples/plugin-example``) and ``grpo-rewards rewards`` lists
``politeness.please``; use it in a reward set with ``use = "politeness.please"``.
"""

from __future__ import annotations

import re

from grpo_rewards import Param, Sample, hookimpl, reward

POLITE = re.compile(r"\b(please|thank you|thanks|kindly)\b", re.IGNORECASE)


@reward(
    "politeness.please",
    description="Fraction of the polite phrases the completion should contain, capped at 1.",
    params=[Param("expected", int, 1, "How many polite phrases earn the full score.", min=1)],
    value_range=(0.0, 1.0),
)
def please(sample: Sample, expected: int) -> float:
    return min(1.0, len(POLITE.findall(sample.completion)) / expected)


@hookimpl
def register_rewards(register):
    register(please)
