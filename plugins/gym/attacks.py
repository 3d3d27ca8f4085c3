"""Answers that solve nothing, for reasoning-gym task scorers: the ``gym`` answer domain of ``gym.score``.

A task's gold may be a verdict, a count, a word or a grid; what is surely wrong whatever the task:
the opposite verdict, a count off by one, and constants ("0", "1", "yes", "no", "True", "False",
"None") that differ from the gold. The generator writes each in the answer forms the reward reads
and adds the core's hedges (the gold with one of these), empty answers and the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from grpo_rewards.attack import AnswerDomain

CONSTANTS = ("0", "1", "-1", "yes", "no", "True", "False", "None")
_VERDICTS = (
    ({"true", "yes", "1", "valid", "on", "possible"}, "False"),
    ({"false", "no", "0", "invalid", "off", "impossible"}, "True"),
)
_OPPOSITE = {"true": "False", "false": "True", "yes": "No", "no": "Yes", "on": "off", "off": "on", "1": "0", "0": "1"}


def _same(a: str, b: str) -> bool:
    a, b = a.strip().lower(), b.strip().lower()
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def _verdict_group(text: str) -> int | None:
    for k, (group, _) in enumerate(_VERDICTS):
        if text.strip().lower() in group:
            return k
    return None


def wrong_answers(gold: str, columns: Mapping[str, Any]) -> dict[str, list[str]]:
    text = gold.strip()
    out: dict[str, list[str]] = {}
    opposite = _OPPOSITE.get(text.lower())
    if opposite:
        out["opposite"] = [opposite if text[:1].islower() or text.isdigit() else opposite.capitalize()]
    if re.fullmatch(r"-?\d+", text):
        out["off_by_one"] = [str(int(text) + 1), str(int(text) - 1)]
    group = _verdict_group(text)
    constants = [c for c in CONSTANTS if not _same(c, text) and (group is None or _verdict_group(c) != group)]
    out["constant"] = constants
    return out


GYM_DOMAIN = AnswerDomain(
    "gym",
    "a reasoning-gym task's answer: verdicts, counts, words, grids (opposites, counts off by one, constants)",
    wrong_answers,
    families={"constant": "constant", "opposite": "constant"},
)
