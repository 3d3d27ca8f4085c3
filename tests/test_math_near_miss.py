"""The hostile near-miss set (``benchmarks/data/math_near_miss.jsonl``, built by
``benchmarks/math_near_miss.py`` from real GSM8K and MATH-500 golds and by hand): every attack
refused, every control accepted, each fact checked on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grpo_rewards.registry import get_registry

FACTS = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "math_near_miss.jsonl"
_ROWS = [json.loads(line) for line in FACTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_covers_every_class_with_attacks_and_controls():
    classes = {row["class"] for row in _ROWS if not row["expected"]}
    assert len(_ROWS) >= 200 and len(classes) >= 20
    assert any(row["expected"] for row in _ROWS)


def test_every_near_miss_is_refused_and_every_control_accepted():
    fn = get_registry().get("math.correct").build({})
    prompts = [r.get("prompt", "") for r in _ROWS]  # the echo facts are scored with their prompt
    scores = fn(prompts=prompts, completions=[r["completion"] for r in _ROWS], answer=[r["gold"] for r in _ROWS])
    wrong = [
        (row["class"], row["gold"][-60:], row["completion"], score)
        for row, score in zip(_ROWS, scores)
        if (score == 1.0) != row["expected"]
    ]
    assert wrong == []


@pytest.mark.parametrize("key", ["gold", "completion", "expected", "class", "why"])
def test_every_fact_says_what_it_is(key):
    assert all(key in row and row[key] != "" for row in _ROWS)
