"""Scoring for the benchmark: the shared scoring engine, plus per-row latency.

:func:`grpo_rewards.scoring.score_rows` does the work (time limits, error isolation, workers).
Latency percentiles need per-row times, which the engine reports per chunk: so per-item rewards
are scored in chunks of one row and batched rewards (model rewards) in their batches, and each
chunk's time is read from the reward's ``last_stats`` after the chunk. With ``workers > 1`` the
rewards run in other processes and only the mean time per row is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..reward import CallStats, RewardFunction
from ..rewardset import RewardSet
from ..scoring import Row, ScoreResult, score_rows


@dataclass
class TimedScores:
    """Scores of every row plus per-row latency samples (ms) per reward."""

    result: ScoreResult
    latency_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return self.result.names


def make_row(prompt: Any, text: str, columns: Mapping[str, Any], completion_ids: Sequence[int] | None = None) -> Row:
    """A row shaped as TRL would pass it: chat prompts get a chat completion."""
    completion: Any = [{"role": "assistant", "content": text}] if isinstance(prompt, list) else text
    return Row(completion, prompt, dict(columns), completion_ids)


def score_timed(reward_set: RewardSet, rows: Sequence[Row], workers: int = 1, batch_size: int = 64) -> TimedScores:
    """Score ``rows`` with every reward; per-row latencies when scoring in this process."""
    if workers > 1:
        return TimedScores(score_rows(reward_set, rows, workers=workers), {n: [] for n in reward_set.names})
    values: dict[str, list[float | None]] = {}
    stats: dict[str, CallStats] = {}
    latency: dict[str, list[float]] = {}
    single = [r for r in reward_set.rewards if not r.spec.batched]
    batched = [r for r in reward_set.rewards if r.spec.batched]
    for entries, chunk_size in ((single, 1), (batched, batch_size)):
        if not entries:
            continue
        subset = RewardSet(entries, reward_set.source)
        functions = subset.functions()
        samples: dict[str, list[float]] = {n: [] for n in subset.names}

        def record(_done: int, functions: list[RewardFunction] = functions, samples: dict[str, list[float]] = samples) -> None:
            for fn in functions:
                last = fn.last_stats
                if last.rows:
                    samples[fn.__name__].append(1000.0 * last.seconds / last.rows)

        part = score_rows(subset, rows, chunk_size=chunk_size, progress=record)
        values.update(part.values)
        stats.update(part.stats)
        latency.update(samples)
    names = reward_set.names
    result = ScoreResult(names, reward_set.weights, {n: values[n] for n in names}, {n: stats[n] for n in names}, reward_set.gate)
    return TimedScores(result, {n: latency[n] for n in names})
