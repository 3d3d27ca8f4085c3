"""The Scorer: the one way anything scores a batch with a reward set, and the ScoreBatch it returns.

``Scorer(reward_set).submit(samples)`` starts every reward of the set at once, each on its own
executor, and returns a future of a :class:`ScoreBatch`: the N x K values, each reward's statistics
for this batch, the gate mask, the weighted total under TRL's None rules and any per-row details the
rewards reported. The batch holds its own facts: nothing is read back off the callables afterwards,
so batches in flight at the same time never mix. :meth:`Scorer.score` is the synchronous form, and
runs the ``inline`` rewards in the calling thread (where time limits use the signal path) while
the others proceed.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..aggregation import weighted_total
from ..gates import GateTable
from ..reward import AsyncRewardFunction, CallStats, RewardFunction, RewardRun, Sample
from ..rewardset import RewardSet
from .run import forward_details, run_reward, submit_reward


@dataclass
class ScoreBatch:
    """Scores of every row by every reward, in input order, with what happened while scoring.

    ``values[name]`` and ``stats[name]`` per reward; ``details[name]`` (None when the reward
    reported none) one mapping or None per row. The matrix, gate mask and total are computed once.
    """

    names: list[str]
    weights: list[float]
    values: dict[str, list[float | None]]
    stats: dict[str, CallStats]
    gate: GateTable | None = None  # RewardSet.gate: where gates are open, and what a closed one gives
    details: dict[str, list[Mapping[str, Any] | None] | None] = field(default_factory=dict)
    _raw: np.ndarray | None = field(default=None, init=False, repr=False)
    _open: np.ndarray | None = field(default=None, init=False, repr=False)
    _gated: np.ndarray | None = field(default=None, init=False, repr=False)
    _total: list[float | None] | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.values[self.names[0]]) if self.names else 0

    def _raw_matrix(self) -> np.ndarray:
        if self._raw is None:
            columns = [np.array([np.nan if v is None else v for v in self.values[n]], dtype=float) for n in self.names]
            n = len(columns[0]) if columns else 0
            self._raw = np.stack(columns, axis=1) if columns else np.zeros((n, 0))
        return self._raw

    @property
    def gate_open(self) -> np.ndarray | None:
        """N x K: False where a reward's gate is closed (the values stay raw); None without gates."""
        if self.gate is None:
            return None
        if self._open is None:
            self._open = self.gate(self._raw_matrix())
        return self._open

    def matrix(self, gated: bool = True) -> np.ndarray:
        """N x K scores, NaN for None (and, with ``gated``, closed gates applied: aggregation.close_gates)."""
        raw = self._raw_matrix()
        if gated and self.gate is not None:
            if self._gated is None:
                self._gated, self._open = self.gate.apply(raw)
            return self._gated.copy()
        return raw.copy()

    @property
    def total(self) -> list[float | None]:
        """The weighted total per row, as TRL forms it (aggregation.weighted_total): Nones add
        nothing, a closed gate adds what aggregation.close_gates gives, and a row where every reward is None
        (or whose sum overflows) has no total."""
        if self._total is None:
            totals = weighted_total(self.matrix(), self.weights)
            self._total = [None if np.isnan(t) else float(t) for t in totals]
        return self._total

    def row(self, i: int) -> dict[str, float | None]:
        return {n: self.values[n][i] for n in self.names}

    @classmethod
    def from_runs(
        cls, names: Sequence[str], weights: Sequence[float], runs: Sequence[RewardRun], gate: GateTable | None = None
    ) -> ScoreBatch:
        return cls(
            list(names),
            list(weights),
            {n: r.values for n, r in zip(names, runs)},
            {n: r.stats for n, r in zip(names, runs)},
            gate,
            {n: r.details for n, r in zip(names, runs)},
        )


class Scorer:
    """Scores batches with one reward set (or a list of built rewards), all rewards at once."""

    def __init__(
        self,
        rewards: RewardSet | Sequence[RewardFunction],
        *,
        weights: Sequence[float] | None = None,
        gate: GateTable | None = None,
    ) -> None:
        if isinstance(rewards, RewardSet):
            self.functions = list(rewards.functions())
            self.names = rewards.names
            self.weights = list(weights) if weights is not None else rewards.weights
            self.gate = gate if gate is not None else rewards.gate
        else:
            self.functions = list(rewards)
            self.names = [fn.__name__ for fn in self.functions]
            self.weights = list(weights) if weights is not None else [1.0] * len(self.functions)
            self.gate = gate

    def submit(self, samples: Sequence[Sample], *, weights: Sequence[float] | None = None) -> Future[ScoreBatch]:
        """Start scoring; the future (``asyncio.wrap_future`` makes it awaitable) holds the batch.

        Nothing runs in the calling thread: inline rewards run in a coordinator thread."""
        started = self._start(samples)
        return _pool("coordinator", 8).submit(self._gather, samples, started, weights)

    def _start(self, samples: Sequence[Sample]) -> dict[int, Future[RewardRun]]:
        """Start what need not run in the caller: other executors, and inline rewards declared
        ``concurrent`` (a model forward that waits), which get a thread of their own."""
        started: dict[int, Future[RewardRun]] = {}
        for i, fn in enumerate(self.functions):
            if fn.executor != "inline":
                started[i] = submit_reward(fn, samples)
            elif isinstance(fn, AsyncRewardFunction):
                started[i] = _pool("concurrent", 16).submit(run_reward, fn, samples)
        return started

    def score(
        self,
        samples: Sequence[Sample],
        *,
        weights: Sequence[float] | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> ScoreBatch:
        """Score and wait: rewards on other executors start first, inline ones run here meanwhile.

        ``extras`` are TRL's callbacks (``log_metric``, ``log_extra``): each reward's details go there.
        """
        batch = self._gather(samples, self._start(samples), weights)
        if extras:
            for name in self.names:
                forward_details(name, RewardRun(batch.values[name], batch.stats[name], batch.details.get(name)), extras)
        return batch

    async def score_async(self, samples: Sequence[Sample], *, weights: Sequence[float] | None = None) -> ScoreBatch:
        """Score from an event loop without holding a thread while rewards wait: rewards on other
        executors (``async def`` rewards on the asyncio executor among them) are awaited; inline
        rewards run off the loop, in its default executor (the ``concurrent`` ones each in a thread
        of their own, the rest one after another in one), as :meth:`submit` runs them."""
        together = [
            i for i, fn in enumerate(self.functions) if fn.executor == "inline" and not isinstance(fn, AsyncRewardFunction)
        ]
        groups: list[tuple[list[int], Awaitable[list[RewardRun]]]] = []
        if together:
            groups.append((together, asyncio.to_thread(lambda: [run_reward(self.functions[i], samples) for i in together])))
        for i, fn in enumerate(self.functions):
            if fn.executor != "inline":
                groups.append(([i], _listed(asyncio.wrap_future(submit_reward(fn, samples)))))
            elif isinstance(fn, AsyncRewardFunction):
                groups.append(([i], asyncio.to_thread(lambda fn=fn: [run_reward(fn, samples)])))  # type: ignore[misc]
        done: dict[int, RewardRun] = {}
        for (indices, _), runs in zip(groups, await asyncio.gather(*(aw for _, aw in groups))):
            done.update(zip(indices, runs))
        runs = [done[i] for i in range(len(self.functions))]
        return ScoreBatch.from_runs(self.names, weights if weights is not None else self.weights, runs, self.gate)

    def _gather(
        self, samples: Sequence[Sample], started: dict[int, Future[RewardRun]], weights: Sequence[float] | None
    ) -> ScoreBatch:
        runs = [run_reward(fn, samples) if i not in started else None for i, fn in enumerate(self.functions)]
        done = [run if run is not None else started[i].result() for i, run in enumerate(runs)]
        return ScoreBatch.from_runs(self.names, weights if weights is not None else self.weights, done, self.gate)


async def _listed(run: Awaitable[RewardRun]) -> list[RewardRun]:
    return [await run]


_pools: dict[tuple[int, str], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    """This process's thread pool ``name`` (a forked child makes its own: threads do not survive a fork)."""
    key = (os.getpid(), name)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = ThreadPoolExecutor(size, thread_name_prefix=f"grpo-rewards-{name}")
        return _pools[key]
