"""Scoring for the benchmark: the shared scoring engine, plus per-row latency.

The runtime's :class:`~grpo_rewards.runtime.Scorer` does the work (time limits, error isolation,
executors). Latency percentiles need per-row times, which a ScoreBatch reports per batch: so
per-item rewards are scored in batches of one row and batched rewards (model rewards) in their
batches, and each batch's time is read from its own statistics. With ``workers > 1`` the rewards
run in other processes (:func:`~grpo_rewards.scoring.score_rows`) and only the mean time per row
is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..reward import CallStats
from ..rewardset import RewardSet
from ..runtime import ScoreBatch, Scorer
from ..scoring import Row, _extend_details, score_rows


@dataclass
class TimedScores:
    """Scores of every row plus per-row latency samples (ms) per reward."""

    result: ScoreBatch
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
    details: dict[str, list[Any] | None] = dict.fromkeys(reward_set.names)
    single = [r for r in reward_set.rewards if not r.spec.batched]
    batched = [r for r in reward_set.rewards if r.spec.batched]
    samples = [r.sample() for r in rows]
    for entries, chunk_size in ((single, 1), (batched, batch_size)):
        if not entries:
            continue
        scorer = Scorer(RewardSet(entries, reward_set.source))
        for entry in entries:
            values[entry.name], stats[entry.name], latency[entry.name] = [], CallStats(), []
        for start in range(0, len(samples), chunk_size):
            batch = scorer.score(samples[start : start + chunk_size])
            for name in batch.names:
                values[name].extend(batch.values[name])
                _extend_details(details, name, batch.details.get(name), len(values[name]) - len(batch), len(batch))
                part = batch.stats[name]
                stats[name].add(part)
                if part.rows:
                    latency[name].append(1000.0 * part.seconds / part.rows)
    names = reward_set.names
    result = ScoreBatch(
        names, reward_set.weights, {n: values[n] for n in names}, {n: stats[n] for n in names}, reward_set.gate, details
    )
    return TimedScores(result, {n: latency[n] for n in names})
