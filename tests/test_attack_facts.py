"""Restated facts from the differential run of ``benchmarks/attacks.py``: attack completions on which
math.correct and math-verify disagreed, each decided by the mathematics (a value that differs from
the gold) or by the final-answer rule (a hedge, a list of candidates, a final value after the gold,
an answer after a closed think block, the question echoed). Every one is wrong; checked here without
math-verify. ``paid_on_main_by`` says which of the two paid it on main 77be7b5; an echo of the question
carries that question as its ``prompt``.
"""

from __future__ import annotations

import json
from pathlib import Path

from grpo_rewards.rewardset import parse_reward_set
from grpo_rewards.scoring import Row, score_rows

FACTS = [json.loads(line) for line in (Path(__file__).resolve().parents[1] / "benchmarks/data/attack_math_facts.jsonl").open()]


def paid(facts: list[dict]) -> list[str]:
    reward_set = parse_reward_set([{"use": "math.correct", "name": "correct"}])
    result = score_rows(reward_set, [Row(f["completion"], f.get("prompt", ""), {"answer": f["gold"]}) for f in facts])
    return [
        f"{f['class']}: gold {f['gold']!r}, completion ...{f['completion'][-60:]!r} scored {score}"
        for f, score in zip(facts, result.values["correct"])
        if score is None or score > 0
    ]


def test_the_facts_are_wrong_answers_of_every_kind():
    assert len(FACTS) > 200 and all(f["correct"] is False for f in FACTS)
    assert {f["decided_by"] for f in FACTS} == {"mathematics", "final-answer rule"}


def test_math_correct_refuses_what_math_verify_paid():
    failed = paid([f for f in FACTS if f["paid_on_main_by"] == "math-verify"])
    assert not failed, "\n".join(failed)


def test_math_correct_refuses_what_it_paid_on_main():
    failed = paid([f for f in FACTS if f["paid_on_main_by"] == "math.correct"])
    assert not failed, "\n".join(failed)
