"""The scoring engine shared by the CLI, the benchmark and the trainer's reports.

Scores rows of (prompt, completion, columns) with a reward set: per-reward values, the weighted
total, and per-reward stats (None / error / timeout counts, time). Time limits and error isolation
live in :class:`~grpo_rewards.reward.RewardFunction` itself, so they hold the same way when TRL
calls the rewards directly. Optional process parallelism splits the rows into chunks; the order of
rows is always preserved.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .aggregation import weighted_total
from .reward import CallStats, RewardFunction, Sample, message_text
from .rewardset import RewardSet


@dataclass
class Row:
    """One completion to score."""

    completion: Any
    prompt: Any = ""
    columns: Mapping[str, Any] = field(default_factory=dict)
    completion_ids: Sequence[int] | None = None

    def sample(self) -> Sample:
        return Sample(message_text(self.completion), message_text(self.prompt), self.columns, self.completion_ids,
                      raw_prompt=self.prompt, raw_completion=self.completion)


@dataclass
class ScoreResult:
    """Scores of every row by every reward, in input order."""

    names: list[str]
    weights: list[float]
    values: dict[str, list[float | None]]
    stats: dict[str, CallStats]
    gate: Callable[[np.ndarray], np.ndarray] | None = None  # RewardSet.gate: raw N x K -> where gates are open

    @property
    def gate_open(self) -> np.ndarray | None:
        """N x K: False where a reward's gate is closed (the values stay raw); None without gates."""
        return None if self.gate is None else self.gate(self.matrix(gated=False))

    def matrix(self, gated: bool = True) -> np.ndarray:
        """N x K scores, NaN for None (and, with ``gated``, where the reward's gate is closed)."""
        matrix = np.array([[np.nan if v is None else float(v) for v in self.values[n]] for n in self.names],
                          dtype=float).T.reshape(-1, len(self.names))
        if gated and self.gate is not None:
            matrix = np.where(self.gate(matrix), matrix, np.nan)
        return matrix

    @property
    def total(self) -> list[float | None]:
        """The weighted total per row, as TRL forms it (aggregation.weighted_total): Nones and
        closed gates add nothing, and a row where every reward is None has no total."""
        return [None if np.isnan(t) else float(t) for t in weighted_total(self.matrix(), self.weights)]

    def row(self, i: int) -> dict[str, float | None]:
        return {n: self.values[n][i] for n in self.names}


def _score_chunk(functions: list[RewardFunction], samples: list[Sample]) -> tuple[list[list[float | None]], list[CallStats]]:
    values = [fn.score_samples(samples) for fn in functions]
    return values, [fn.last_stats for fn in functions]


def score_rows(
    reward_set: RewardSet,
    rows: Sequence[Row],
    *,
    workers: int = 1,
    chunk_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score ``rows`` with every reward of ``reward_set``.

    ``workers > 1`` scores chunks in that many processes (worth it for CPU-heavy rewards such as
    symbolic math; model rewards are better batched in one process). ``progress(n)`` is called
    with the number of rows finished after each chunk.
    """
    functions = reward_set.functions()
    names = reward_set.names
    samples = [r.sample() for r in rows]
    chunks = [samples[i : i + chunk_size] for i in range(0, len(samples), chunk_size)] or [[]]
    values: dict[str, list[float | None]] = {n: [] for n in names}
    stats = {n: CallStats() for n in names}

    def merge(chunk_values: list[list[float | None]], chunk_stats: list[CallStats], size: int) -> None:
        for name, v, s in zip(names, chunk_values, chunk_stats):
            values[name].extend(v)
            stats[name].add(s)
        if progress:
            progress(size)

    if workers <= 1 or len(chunks) == 1:
        for chunk in chunks:
            merge(*_score_chunk(functions, chunk), len(chunk))
    else:
        # spawn, not fork: the parent may hold torch/tokenizer threads that fork would break.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_score_chunk, functions, chunk) for chunk in chunks]
            for chunk, future in zip(chunks, futures):
                merge(*future.result(), len(chunk))
        for fn, name in zip(functions, names):
            fn.total_stats.add(stats[name])
    return ScoreResult(names, reward_set.weights, values, stats, reward_set.gate)
