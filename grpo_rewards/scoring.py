"""The scoring engine shared by the CLI, the benchmark and the trainer's reports.

Scores rows of (prompt, completion, columns) with a reward set through the runtime's
:class:`~grpo_rewards.runtime.Scorer`, chunk by chunk: per-reward values, the weighted total, and
per-reward stats (None / error / timeout counts, time). Time limits and error isolation live in the
runtime, so they hold the same way when TRL calls the rewards directly (rewards that need a hard
limit run in killable worker processes, see :mod:`~grpo_rewards.isolation`). Optional process parallelism splits the rows into chunks; the order
of rows is always preserved, and a chunk whose process died (a reward that called ``os._exit`` or
crashed the interpreter) has its rows counted as errors while a fresh pool scores the rest.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from .reward import CallStats, RewardFunction, Sample, message_text
from .rewardset import RewardSet
from .runtime import ScoreBatch, Scorer, run_reward


@dataclass
class Row:
    """One completion to score."""

    completion: Any
    prompt: Any = ""
    columns: Mapping[str, Any] = field(default_factory=dict)
    completion_ids: Sequence[int] | None = None

    def sample(self) -> Sample:
        return Sample(
            message_text(self.completion),
            message_text(self.prompt),
            self.columns,
            self.completion_ids,
            raw_prompt=self.prompt,
            raw_completion=self.completion,
        )


# The engine's result is the runtime's ScoreBatch (the old name kept for callers and plugins).
ScoreResult = ScoreBatch


def _score_chunk(functions: list[RewardFunction], samples: list[Sample]) -> tuple[list[list[float | None]], list[CallStats]]:
    runs = [run_reward(fn, samples) for fn in functions]
    return [r.values for r in runs], [r.stats for r in runs]


def score_rows(
    reward_set: RewardSet,
    rows: Sequence[Row],
    *,
    workers: int = 1,
    chunk_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score ``rows`` with every reward of ``reward_set``.

    ``workers > 1`` scores chunks in parallel (worth it for CPU-heavy rewards such as symbolic
    math; model rewards are better batched in one process): in-process rewards in a pool of that
    many processes, hard-limited rewards (``isolation="process"``, which already run in worker
    processes) from that many threads of this process, so that worker processes never nest.
    ``progress(n)`` is called with the number of rows finished after each chunk.
    """
    functions = reward_set.functions()
    names = reward_set.names
    samples = [r.sample() for r in rows]
    if workers > 1:  # every worker gets a share, however few the rows
        chunk_size = max(1, min(chunk_size, -(-len(samples) // workers)))
    chunks = [samples[i : i + chunk_size] for i in range(0, len(samples), chunk_size)] or [[]]
    values: dict[str, list[float | None]] = {n: [] for n in names}
    stats = {n: CallStats() for n in names}

    if workers <= 1 or len(chunks) == 1:
        scorer = Scorer(reward_set)
        details: dict[str, list[Any] | None] = dict.fromkeys(names)
        for chunk in chunks:
            batch = scorer.score(chunk)
            for name in names:
                values[name].extend(batch.values[name])
                stats[name].add(batch.stats[name])
                _extend_details(details, name, batch.details.get(name), len(values[name]) - len(chunk), len(chunk))
            if progress:
                progress(len(chunk))
        return ScoreBatch(names, reward_set.weights, values, stats, reward_set.gate, details)

    # rewards that already run elsewhere (worker processes, Ray) are driven from threads, so that
    # worker processes never nest and each pool process does not start a Ray cluster of its own
    elsewhere = ("process", "ray")
    inline = [i for i, fn in enumerate(functions) if fn.executor not in elsewhere]
    isolated = [i for i, fn in enumerate(functions) if fn.executor in elsewhere]
    parts: dict[int, list[tuple[list[float | None], CallStats]]] = {i: [] for i in range(len(functions))}

    def collect(indices: list[int], report: bool) -> Callable[[list[list[float | None]], list[CallStats], int], None]:
        def merge(chunk_values: list[list[float | None]], chunk_stats: list[CallStats], size: int) -> None:
            for i, v, st in zip(indices, chunk_values, chunk_stats):
                parts[i].append((v, st))
            if progress and report:
                progress(size)

        return merge

    if inline:
        _score_in_pool([functions[i] for i in inline], chunks, workers, collect(inline, True))
    if isolated:
        _score_in_threads([functions[i] for i in isolated], chunks, workers, collect(isolated, not inline))
    for i, name in enumerate(names):
        for v, st in parts[i]:
            values[name].extend(v)
            stats[name].add(st)
    return ScoreBatch(names, reward_set.weights, values, stats, reward_set.gate)


def _extend_details(details: dict[str, list[Any] | None], name: str, part: list[Any] | None, before: int, size: int) -> None:
    """Append a chunk's details for one reward (None rows where the reward reported nothing)."""
    if part is None and details[name] is None:
        return
    if details[name] is None:
        details[name] = [None] * before
    details[name].extend(part if part is not None else [None] * size)  # type: ignore[union-attr]


def _score_in_threads(
    functions: list[RewardFunction],
    chunks: list[list[Sample]],
    workers: int,
    merge: Callable[[list[list[float | None]], list[CallStats], int], None],
) -> None:
    """Hard-limited rewards: chunks from ``workers`` threads, each thread's rows going to its own
    worker process of the shared pool (statistics travel with each chunk's result)."""

    def run(chunk: list[Sample]) -> tuple[list[list[float | None]], list[CallStats]]:
        return _score_chunk(functions, chunk)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpo-rewards-score") as pool:
        for chunk, (chunk_values, chunk_stats) in zip(chunks, pool.map(run, chunks)):
            merge(chunk_values, chunk_stats, len(chunk))


def _score_in_pool(
    functions: list[RewardFunction],
    chunks: list[list[Sample]],
    workers: int,
    merge: Callable[[list[list[float | None]], list[CallStats], int], None],
) -> None:
    """Chunks in a process pool, in order; a chunk that broke the pool is scored alone in a fresh
    one, and if it breaks that one too its rows are counted errors."""
    # spawn, not fork: the parent may hold torch/tokenizer threads that fork would break.
    context = multiprocessing.get_context("spawn")
    next_chunk = 0
    while next_chunk < len(chunks):
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_score_chunk, functions, chunk) for chunk in chunks[next_chunk:]]
            try:
                for future in futures:
                    merge(*future.result(), len(chunks[next_chunk]))
                    next_chunk += 1
            except BrokenProcessPool:
                pass
        if next_chunk < len(chunks):
            chunk = chunks[next_chunk]
            merge(*_score_alone(functions, chunk, context), len(chunk))
            next_chunk += 1


def _score_alone(
    functions: list[RewardFunction], chunk: list[Sample], context: Any
) -> tuple[list[list[float | None]], list[CallStats]]:
    """A chunk that killed its worker: each reward alone, so the others keep their scores."""
    values, stats = [], []
    for fn in functions:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            try:
                [v], [s] = pool.submit(_score_chunk, [fn], chunk).result()
            except BrokenProcessPool:
                v = [None] * len(chunk)
                s = CallStats(
                    rows=len(chunk),
                    nones=len(chunk),
                    errors=len(chunk),
                    first_error="its worker process died while scoring (os._exit, a crash or the "
                    "memory cap); declare the reward with isolation='process' to lose only the row",
                )
        values.append(v)
        stats.append(s)
    return values, stats
