"""One reward on one batch: the size cap, de-duplication, the executor, values and statistics.

What holds the same way on every executor lives here: a completion over ``max_input_chars`` is a
counted None that the reward never sees; identical rows of a batch are scored once; whatever the
reward returned becomes a finite float or a counted None (:func:`~grpo_rewards.guard.as_score`),
with :class:`~grpo_rewards.reward.Scored` values giving up their details and usage.

De-duplication (GRPO groups often repeat short answers) keys a row by its prompt, its completion,
all of its row's columns (a reward may read a column it did not declare) and its token ids; it is
off for a reward declared ``deterministic=False``, and for a batch with :data:`DEDUP` turned off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from ..guard import as_score
from ..reward import CallStats, RewardFunction, RewardRun, Runtime, Sample, Scored
from .executors import get_executor
from .job import Job

DEDUP = {"enabled": True}  # the benchmarks turn it off to measure distinct rows


def row_key(sample: Sample) -> Hashable:
    """What makes two rows the same for a reward (see the module docstring)."""
    prompt = sample.raw_prompt if isinstance(sample.raw_prompt, str) or sample.raw_prompt is None else repr(sample.raw_prompt)
    completion = sample.raw_completion if isinstance(sample.raw_completion, str) else repr(sample.raw_completion)
    columns = tuple((key, repr(value)) for key, value in sample.columns.items()) if sample.columns else ()
    ids = None if sample.completion_ids is None else tuple(int(t) for t in sample.completion_ids)
    return (sample.prompt, prompt, sample.completion, completion, columns, ids)


class _Plan:
    """Which samples the reward is given, and where each of its values goes back."""

    __slots__ = ("fn", "samples", "stats", "chosen", "where", "started", "identity")

    def __init__(self, fn: RewardFunction, samples: Sequence[Sample]) -> None:
        self.fn = fn
        self.samples = samples
        self.stats = CallStats(rows=len(samples))
        self.started = time.perf_counter()
        cap = fn.max_input_chars
        keep: Sequence[int] = range(len(samples))
        if cap is not None:
            keep = [i for i, sample in enumerate(samples) if len(sample.completion) <= cap]
            self.stats.oversized = len(samples) - len(keep)
        # where[i]: the position in `chosen` whose value row i gets (None: oversized)
        self.where: list[int | None] = []
        self.identity = False
        if len(keep) == len(samples) and not (fn.deterministic and DEDUP["enabled"] and len(keep) > 1):
            self.identity = True  # every row scored as it is: no mapping to build or apply
            self.chosen: Sequence[Sample] = samples
            return
        self.where = [None] * len(samples)
        if fn.deterministic and DEDUP["enabled"] and len(keep) > 1:
            first: dict[Hashable, int] = {}
            chosen: list[Sample] = []
            for i in keep:
                key = row_key(samples[i])
                slot = first.get(key)
                if slot is None:
                    slot = first[key] = len(chosen)
                    chosen.append(samples[i])
                self.where[i] = slot
            self.stats.deduplicated = len(keep) - len(chosen)
            self.chosen = chosen
        else:
            for slot, i in enumerate(keep):
                self.where[i] = slot
            self.chosen = samples if len(keep) == len(samples) else [samples[i] for i in keep]

    def job(self) -> Job:
        return Job(self.fn, self.chosen, self.stats)

    def finish(self, raw: list[Any]) -> RewardRun:
        stats = self.stats
        scores: list[float | None] = []
        details: list[Mapping[str, Any] | None] | None = None
        for position, value in enumerate(raw):
            if value.__class__ is Scored:
                stats.calls += value.calls
                stats.tokens += value.tokens
                stats.cost += value.cost
                if value.details is not None:
                    if details is None:
                        details = [None] * len(raw)
                    details[position] = value.details
                value = value.value
            scores.append(as_score(value, stats))  # NaN and inf too: None
        if self.identity:
            values, row_details = scores, details
        else:
            values = [None if slot is None else scores[slot] for slot in self.where]
            row_details = None if details is None else [None if slot is None else details[slot] for slot in self.where]
        stats.nones = sum(v is None for v in values)
        stats.seconds = time.perf_counter() - self.started
        return RewardRun(values, stats, row_details)


def submit_reward(fn: RewardFunction, samples: Sequence[Sample]) -> Future[RewardRun]:
    """Start scoring ``samples`` with ``fn`` on its executor; the future holds its :class:`RewardRun`."""
    plan = _Plan(fn, samples)
    if not plan.chosen:
        out: Future[RewardRun] = Future()
        out.set_result(plan.finish([]))
        return out
    try:
        executor = get_executor(fn.executor)
    except KeyError as exc:
        raw: Future[list[Any]] = Future()
        for _ in plan.chosen:
            plan.stats.errors += 1
        plan.stats.first_error = str(exc.args[0])
        raw.set_result([None] * len(plan.chosen))
    else:
        raw = executor.submit(plan.job())
    result: Future[RewardRun] = Future()

    def finished(future: Future[list[Any]]) -> None:
        try:
            result.set_result(plan.finish(future.result()))
        except BaseException as exc:  # an executor broke its promise: still a future that ends
            result.set_exception(exc)

    raw.add_done_callback(finished)
    return result


def run_reward(fn: RewardFunction, samples: Sequence[Sample]) -> RewardRun:
    """:func:`submit_reward` and wait."""
    return submit_reward(fn, samples).result()


class LocalRuntime(Runtime):
    """The runtime :class:`~grpo_rewards.reward.RewardFunction` submits to, in this process."""

    def run(self, fn: RewardFunction, samples: Sequence[Sample], extras: Mapping[str, Any] | None = None) -> RewardRun:
        run = run_reward(fn, samples)
        if extras:
            forward_details(fn.__name__, run, extras)
        return run

    async def run_async(
        self, fn: RewardFunction, samples: Sequence[Sample], extras: Mapping[str, Any] | None = None
    ) -> RewardRun:
        if fn.executor == "inline":  # a sync reward built for TRL's gather: off the loop, in a thread
            run = await asyncio.to_thread(run_reward, fn, samples)
        else:
            run = await asyncio.wrap_future(submit_reward(fn, samples))
        if extras:
            forward_details(fn.__name__, run, extras)
        return run


def forward_details(name: str, run: RewardRun, extras: Mapping[str, Any]) -> None:
    """What a reward reported per row, through TRL's callbacks: ``log_extra`` gets each detail as a
    column of the completions table, ``log_metric`` the mean of each numeric detail."""
    if not run.details:
        return
    keys = list(dict.fromkeys(key for d in run.details if d for key in d))
    log_extra, log_metric = extras.get("log_extra"), extras.get("log_metric")
    for key in keys:
        column = [None if d is None else d.get(key) for d in run.details]
        if callable(log_extra):
            log_extra(f"{name}/{key}", column)
        numbers = [float(v) for v in column if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if callable(log_metric) and numbers:
            log_metric(f"{name}/{key}", sum(numbers) / len(numbers))
