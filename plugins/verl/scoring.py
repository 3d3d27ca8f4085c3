"""Scoring verl rows with a reward set: one loaded set per process and configuration, results in
verl's dict shape, bad rows counted and logged, and the async path gathering rows into batches.

verl's reward loop calls the function once per row (a sync one in a thread pool, an async one on
the worker's event loop, all rows of a chunk at once); its legacy ``batch`` manager calls it once
with lists. Whatever the shape, rows reach the runtime's :class:`~grpo_rewards.runtime.Scorer` in
batches where verl gives batches, so de-duplication across a GRPO group and batched model rewards
still work: the async variant waits ``batch_window`` seconds for the rows of a chunk to arrive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grpo_rewards.errors import ConfigError
from grpo_rewards.rewardset import load_reward_set
from grpo_rewards.runtime import ScoreBatch, Scorer

from .options import SET_ENV, SOURCE, VERL_KWARGS, VerlOptions, read_options
from .rows import RowProblem, build_sample

log = logging.getLogger("grpo_rewards.verl")
PREFIX = "rewards/"  # each reward's raw value is logged as rewards/<name>, as TRL names it
NO_TOTAL = "grpo_rewards/no_total"  # 1.0 where verl got none_score because the row had no total
PROBLEM = "grpo_rewards/problem"  # why, as text ("" when the row was scored)
LOGGED_PER_KIND = 3  # log lines per kind of problem before only the counts at powers of ten are


@dataclass
class LoadedSet:
    """A reward set ready to score verl rows: its Scorer and the gold column verl fills."""

    options: VerlOptions
    scorer: Scorer
    gold_column: str
    read: frozenset[str] = frozenset()  # the columns the set's rewards read (size-checked per row)

    @property
    def keys(self) -> list[str]:
        """The keys of every result, the same for every row (verl reads the first row's keys)."""
        return ["score", *(PREFIX + n for n in self.scorer.names), NO_TOTAL, PROBLEM]

    def failed(self, kind: str, message: str) -> dict[str, Any]:
        note(kind, message)
        out: dict[str, Any] = {"score": self.options.none_score}
        out.update({PREFIX + n: self.options.none_reward_value for n in self.scorer.names})
        out.update({NO_TOTAL: 1.0, PROBLEM: message})
        return out

    def result(self, batch: ScoreBatch, i: int) -> dict[str, Any]:
        total = batch.total[i]
        values = batch.row(i)
        if total is None:
            reasons = [f"{n}: {batch.stats[n].first_error}" for n in batch.names if batch.stats[n].first_error]
            oversized = [n for n in batch.names if batch.stats[n].oversized]
            if oversized:
                reasons.append(f"over max_input_chars for {', '.join(oversized)}")
            message = "no reward gave a value" + (f" ({'; '.join(reasons)}; first in its batch)" if reasons else "")
        fill = self.options.none_reward_value
        out = self.failed("no_total", message) if total is None else {"score": total}
        out.update({PREFIX + n: fill if v is None else v for n, v in values.items()})
        if total is None:
            return out
        out.update({NO_TOTAL: 0.0, PROBLEM: ""})
        return out

    def score(self, rows: Sequence[tuple[Any, Any, Any, Any]]) -> list[dict[str, Any]]:
        """Score rows of (data_source, solution_str, ground_truth, extra_info) as one batch."""
        out: list[dict[str, Any] | None] = [None] * len(rows)
        samples, where = [], []
        for i, row in enumerate(rows):
            try:
                samples.append(build_sample(*row, self.gold_column, self.options, self.read))
                where.append(i)
            except RowProblem as problem:
                out[i] = self.failed(problem.kind, str(problem))
        if samples:
            try:
                batch = self.scorer.score(samples)
                for slot, i in enumerate(where):
                    out[i] = self.result(batch, slot)
            except Exception as exc:  # the runtime promises values; if it breaks that, verl still gets rows
                for i in where:
                    out[i] = self.failed("scoring_failed", f"scoring failed: {type(exc).__name__}: {exc}")
        return [r if r is not None else self.failed("scoring_failed", "no result") for r in out]


# --- problems: counted per process, logged a few times per kind --------------------------------

_problems: Counter[str] = Counter()
_problems_lock = threading.Lock()


def note(kind: str, message: str) -> None:
    with _problems_lock:
        _problems[kind] += 1
        count = _problems[kind]
    if count <= LOGGED_PER_KIND or str(count).rstrip("0") == "1":
        log.warning("grpo-rewards verl adapter: row without a total (%s, %d so far in this process): %s", kind, count, message)


def problem_counts() -> dict[str, int]:
    """Rows without a total in this process so far, by kind of problem."""
    with _problems_lock:
        return dict(_problems)


# --- one loaded set per process and configuration ----------------------------------------------

_loaded: dict[Hashable, LoadedSet] = {}
_load_lock = threading.Lock()


def _frozen(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value  # type: ignore[no-any-return]


def _key(kwargs: Mapping[str, Any]) -> Hashable:
    """What makes two calls' settings the same: their kwargs (verl's own ones aside) and the env."""
    return (_frozen({k: v for k, v in kwargs.items() if k not in VERL_KWARGS}), os.environ.get(SET_ENV, ""))


def _gold_column(reward_set: Any, options: VerlOptions) -> str:
    read = sorted({c for columns in reward_set.required_columns().values() for c in columns})
    if options.ground_truth_shape == "fields":
        return ""
    if options.ground_truth_column:
        if options.ground_truth_column not in read:
            raise ConfigError.single(
                SOURCE,
                "grpo_rewards.plugins.verl",
                "ground_truth_column",
                f"{options.ground_truth_column!r} is not a column the set reads ({', '.join(map(repr, read)) or 'none'})",
            )
        return options.ground_truth_column
    if len(read) > 1:
        raise ConfigError.single(
            SOURCE,
            "grpo_rewards.plugins.verl",
            "ground_truth_column",
            f"the set reads columns {', '.join(map(repr, read))}: say which one verl's ground_truth fills "
            "(the others come from extra_info keys of the same name)",
        )
    return read[0] if read else ""


def loaded_set(kwargs: Mapping[str, Any]) -> LoadedSet:
    """The set these kwargs name, loaded once per process (thread-safe); config mistakes raise."""
    key = _key(kwargs)
    found = _loaded.get(key)
    if found is not None:
        return found
    with _load_lock:
        found = _loaded.get(key)
        if found is not None:
            return found
        options = read_options(kwargs)
        for other in _loaded.values():  # the same settings spelt differently share one set
            if other.options == options:
                _loaded[key] = other
                return other
        reward_set = load_reward_set(options.reward_set)
        read = frozenset(c for columns in reward_set.required_columns().values() for c in columns)
        loaded = LoadedSet(options, Scorer(reward_set), _gold_column(reward_set, options), read)
        log.info(
            "grpo-rewards verl adapter: loaded %s (%s) in process %d",
            options.reward_set,
            ", ".join(loaded.scorer.names),
            os.getpid(),
        )
        _loaded[key] = loaded
        return loaded


# --- the async path: rows of one event loop gathered into batches ------------------------------


class _Gather:
    """Rows waiting on one event loop for one loaded set; flushed after ``batch_window`` or when full."""

    def __init__(self, loaded: LoadedSet, loop: asyncio.AbstractEventLoop) -> None:
        self.loaded = loaded
        self.loop = loop
        self.pending: list[tuple[tuple[Any, Any, Any, Any], asyncio.Future[dict[str, Any]]]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.running: set[asyncio.Task[None]] = set()

    def add(self, row: tuple[Any, Any, Any, Any]) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.pending.append((row, future))
        if len(self.pending) >= self.loaded.options.max_batch:
            self.flush()
        elif self.timer is None:
            self.timer = self.loop.call_later(self.loaded.options.batch_window, self.flush)
        return future

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if batch:
            task = self.loop.create_task(self._run(batch))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def _run(self, batch: list[tuple[tuple[Any, Any, Any, Any], asyncio.Future[dict[str, Any]]]]) -> None:
        rows = [row for row, _ in batch]
        try:  # the set's rewards run off this loop (the Scorer's own threads and executors)
            results = await self.loop.run_in_executor(None, self.loaded.score, rows)
        except Exception as exc:
            results = [self.loaded.failed("scoring_failed", f"scoring failed: {type(exc).__name__}: {exc}") for _ in rows]
        for (_, future), result in zip(batch, results):
            if not future.done():  # a caller that was cancelled gets nothing
                future.set_result(result)


_gathers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Gather]] = weakref.WeakKeyDictionary()


async def score_async(kwargs: Mapping[str, Any], row: tuple[Any, Any, Any, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    loaded = _loaded.get(_key(kwargs))
    if loaded is None:  # the first call loads the set (plugins, files) off the loop
        loaded = await loop.run_in_executor(None, loaded_set, dict(kwargs))
    per_loop = _gathers.setdefault(loop, {})
    gather = per_loop.get(id(loaded))
    if gather is None:
        gather = per_loop[id(loaded)] = _Gather(loaded, loop)
    return await gather.add(row)
