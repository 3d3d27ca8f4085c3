"""The attack gate: the generator on a fixed seeded sample of every shipped dataset, and nothing paid
by math.correct, code.tests or gym.score.

Rows: 50 of GSM8K's and 50 of MATH's test split, 2 of every offered reasoning-gym task, 20 HumanEval
problems and the six assert/stdio rows of benchmarks/data/attack_code_rows.jsonl, drawn with seed 0;
the quick attack set (no loops until the time limit, bombs or filesystem walks). On main 77be7b5
issue 20's holes were open and every gate failed; now each holds.
"""

from __future__ import annotations

import pytest

from grpo_rewards.attack.run import paid_failures, run_attacks
from grpo_rewards.attack_command import load_rows
from grpo_rewards.rewardset import parse_reward_set

SEED = 0


def gate(entries: list[dict], sources: tuple[str, ...], limit: int | None) -> list[str]:
    reward_set = parse_reward_set(entries)
    rows = load_rows(sources, limit, SEED)
    report = run_attacks(reward_set, rows, seed=SEED, quick=True).report
    assert not report["skipped"], report["skipped"]
    assert report["completions"] > 0
    return paid_failures(report)


def test_math_correct_pays_no_attack():
    failed = gate([{"use": "math.correct", "name": "math"}], ("builtin:gsm8k", "builtin:math"), 50)
    assert not failed, "\n".join(failed)


def gym_sources() -> tuple[str, ...]:
    pytest.importorskip("reasoning_gym", reason="the [gym] extra is not installed")
    from grpo_rewards.plugins.gym.tasks import all_tasks, refusal

    return tuple(f"builtin:gym:{task}?size=2" for task in all_tasks() if not refusal(task))


def test_gym_score_pays_no_attack():
    failed = gate([{"use": "gym.score", "name": "gym"}], gym_sources(), None)
    assert not failed, "\n".join(failed)


CODE = {
    "use": "code.tests",
    "name": "code",
    "params": {"entry_point_column": "entry_point", "setup_column": "code_prompt", "test_timeout": 3.0, "workers": 2},
}


def test_code_tests_pays_no_attack():
    failed = gate([CODE], ("builtin:humaneval",), 20) + gate([CODE], ("benchmarks/data/attack_code_rows.jsonl",), None)
    assert not failed, "\n".join(failed)
