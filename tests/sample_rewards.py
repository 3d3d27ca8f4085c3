"""Small rewards for testing the framework itself (not shipped as a plugin)."""

from __future__ import annotations

import time

from grpo_rewards import Param, Sample, hookimpl, reward


@reward("test.chars", description="Number of characters.", params=[Param("scale", float, 1.0, "multiplier", min=0)])
def chars(sample: Sample, scale: float) -> float:
    return scale * len(sample.completion)


@reward(
    "test.gold",
    description="1 if the completion equals the gold column.",
    params=[Param("gold_column", str, "answer", "column with the gold answer", column=True)],
    value_range=(0, 1),
)
def gold(sample: Sample, gold_column: str) -> float | None:
    gold_value = sample.columns.get(gold_column)
    if gold_value is None:
        return None
    return float(sample.completion.strip() == str(gold_value).strip())


@reward("test.sleepy", description="Sleeps when the completion says so.", timeout=0.2)
def sleepy(sample: Sample) -> float:
    if "sleep" in sample.completion:
        time.sleep(30)
    return 1.0


@reward("test.spin", description="Spins forever when the completion says so.", timeout=0.2)
def spin(sample: Sample) -> float:
    while "spin" in sample.completion:
        pass
    return 1.0


@reward("test.boom", description="Raises on 'boom'.")
def boom(sample: Sample) -> float:
    if "boom" in sample.completion:
        raise RuntimeError("exploded on purpose")
    return 0.5


@reward("test.batch_len", description="Batched: length of each completion.", batched=True)
def batch_len(samples: list[Sample]) -> list[float]:
    return [float(len(s.completion)) for s in samples]


@hookimpl
def register_rewards(register):
    for fn in (chars, gold, sleepy, spin, boom, batch_len):
        register(fn)
