"""Shared pieces of the benchmark tests: a deliberately weak reward, and held-out rows."""

from __future__ import annotations

import json
from pathlib import Path

from grpo_rewards import Sample, hookimpl, reward


@reward(
    "benchtest.has_answer_tag",
    description="1 when the completion contains an <answer> tag: a weak format check.",
    value_range=(0, 1),
)
def has_answer_tag(sample: Sample) -> float:
    return 1.0 if "<answer>" in sample.completion else 0.0


@hookimpl
def register_rewards(register):
    register(has_answer_tag)


QUESTIONS = [
    ("Tom has 3 apples and buys 4 more. How many apples does he have?", "7", "3 + 4 = 7"),
    ("A box holds 12 pens. How many pens are in 5 boxes?", "60", "12 * 5 = 60"),
    ("Sara had 20 dollars and spent 8. How much is left?", "12", "20 - 8 = 12"),
    ("There are 1200 seats and 345 are taken. How many are free?", "855", "1200 - 345 = 855"),
]


def completion_rows(completions_per_prompt: int = 4) -> list[dict]:
    """Rows with realistic completions: right and wrong answers, with and without the format."""
    rows = []
    for question, answer, work in QUESTIONS:
        wrong = str(int(answer) + 2)
        variants = [
            (f"<think>\n{work}\n</think>\n<answer>{answer}</answer>", True),
            (f"<think>\nI think it is {wrong}.\n</think>\n<answer>{wrong}</answer>", False),
            (f"The answer is {answer}.", True),
            (f"Hmm, maybe {wrong}.", False),
        ][:completions_per_prompt]
        for text, correct in variants:
            rows.append(
                {
                    "prompt": question,
                    "answer": answer,
                    "solution": f"{work}\n#### {answer}",
                    "completion": text,
                    "correct": correct,
                }
            )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
