"""Executors: how one reward's rows run, behind one small protocol.

An executor takes a :class:`Job` (a built reward, the samples it should score, the statistics to
count into) and returns a :class:`concurrent.futures.Future` of one raw value per sample. Every
executor keeps the same promises: the reward's time limit holds per row (per call for a batched
reward), and a crash, a timeout or any ``BaseException`` is a counted None on its row, never an
exception out of the executor. Turning raw values into scores, the size cap and de-duplication
happen around the executor (:mod:`grpo_rewards.runtime.run`), so they hold the same way on all.

- ``inline``: in the calling thread, row after row (cheap rule-based rewards);
- ``threads``: rows in a thread pool of ``concurrency`` threads (sync rewards that wait);
- ``process``: today's killable worker processes (:mod:`grpo_rewards.isolation`), the rows of one
  batch spread over the workers; a batched call that overruns or kills its worker is retried row
  by row, so only the row that overran is lost;
- ``asyncio``: ``async def`` rewards awaited on one event loop, ``concurrency`` rows in flight (see
  :mod:`grpo_rewards.runtime.aio`).

``isolation = "process"`` (the older knob) is the ``process`` executor; ``isolation = "inline"``
is the default choice (``asyncio`` for ``async def`` rewards, ``inline`` for the rest). Another
executor registers with :func:`register_executor` and is then accepted as ``executor = "<name>"``;
``ray`` (:mod:`grpo_rewards.runtime.ray_executor`) is registered so by the package, and imports Ray
only on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..guard import call_guarded, install_sigint_marker, note_error
from ..isolation import announce, can_isolate, worker_pool
from ..portable import portable
from ..reward import EXECUTOR_REQUIRES, EXECUTORS, CallStats, Sample
from .aio import AsyncioExecutor
from .job import Executor, Job, done, is_async, split

DEFAULT_THREADS = 8


def score_in_thread(job: Job, samples: Sequence[Sample], stats: CallStats) -> list[Any]:
    """Score samples in this thread under the reward's limit (the inline executor's work)."""
    try:
        fn, params, seconds = job.target(), job.fn.params, job.fn.timeout
    except Exception as exc:  # a local plugin file that does not load: every row an error
        for _ in samples:
            note_error(stats, f"could not load the reward: {type(exc).__name__}: {exc}")
        return [None] * len(samples)
    if job.fn.batched:
        values = call_guarded(lambda: list(fn(list(samples), **params)), seconds, stats)
        if values is not None and len(values) != len(samples):
            note_error(stats, f"returned {len(values)} scores for {len(samples)} samples")
            values = None
        return [None] * len(samples) if values is None else values
    return [call_guarded(lambda: fn(sample, **params), seconds, stats) for sample in samples]


class InlineExecutor:
    """In the calling thread: no overhead, no parallelism."""

    name = "inline"

    def submit(self, job: Job) -> Future[list[Any]]:
        install_sigint_marker()
        if is_async(job):
            return get_executor("asyncio").submit(job)
        return done(score_in_thread(job, job.samples, job.stats))


class ThreadExecutor:
    """Rows in a shared thread pool, ``concurrency`` of one reward at a time (default 8)."""

    name = "threads"

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(32, thread_name_prefix="grpo-rewards-rows")
        self._driver = ThreadPoolExecutor(16, thread_name_prefix="grpo-rewards-job")

    def submit(self, job: Job) -> Future[list[Any]]:
        if is_async(job):
            return get_executor("asyncio").submit(job)
        return self._driver.submit(self._run, job)

    def _run(self, job: Job) -> list[Any]:
        if job.fn.batched or len(job.samples) <= 1:
            return score_in_thread(job, job.samples, job.stats)
        width = min(job.fn.concurrency or DEFAULT_THREADS, len(job.samples))
        parts = split(job.samples, width)
        part_stats = [CallStats() for _ in parts]
        futures = [self._pool.submit(score_in_thread, job, part, st) for part, st in zip(parts, part_stats)]
        values = [v for future in futures for v in future.result()]
        for st in part_stats:
            job.stats.add_counts(st)
        return values


ROWS_PER_COLD_WORKER = 16


class ProcessExecutor:
    """Killable worker processes (:class:`grpo_rewards.isolation.WorkerPool`), unchanged guarantees:
    a row that overruns its limit has its worker killed (SIGKILL) and costs only that row."""

    name = "process"

    def __init__(self) -> None:
        self._driver = ThreadPoolExecutor(16, thread_name_prefix="grpo-rewards-process-job")
        self._parts = ThreadPoolExecutor(16, thread_name_prefix="grpo-rewards-process-rows")

    def submit(self, job: Job) -> Future[list[Any]]:
        if not job.samples:
            return done([])
        if not can_isolate():
            if job.stats.first_error is None:
                job.stats.first_error = "note: ran in-process (a daemonic process cannot start a worker)"
            return done(score_in_thread(job, job.samples, job.stats))
        announce(job.fn.fn)
        return self._driver.submit(self._run, job)

    def _run(self, job: Job) -> list[Any]:
        try:
            if job.fn.batched:
                return self._batch(job)
            pool = worker_pool()
            # Spread over the warm workers; start cold ones only for parts big enough to pay a start
            # (about a second): a small batch never waits for a fresh interpreter.
            wanted = max(pool.idle_count(), -(-len(job.samples) // ROWS_PER_COLD_WORKER))
            width = max(1, min(job.fn.concurrency or pool.max_workers, pool.max_workers, len(job.samples), wanted))
            parts = split(job.samples, width)
            part_stats = [CallStats() for _ in parts]
            futures = [self._parts.submit(self._rows, job, part, st) for part, st in zip(parts, part_stats)]
            values = [v for future in futures for v in future.result()]
            for st in part_stats:
                job.stats.add_counts(st)
            return values
        except Exception as exc:
            for _ in job.samples:
                note_error(job.stats, f"could not run in a worker process: {type(exc).__name__}: {exc}")
            return [None] * len(job.samples)

    @staticmethod
    def _rows(job: Job, samples: Sequence[Sample], stats: CallStats) -> list[Any]:
        return list(worker_pool().score_rows(portable(job.fn.fn), job.fn.params, samples, job.fn.timeout, stats))

    @staticmethod
    def _batch(job: Job) -> list[Any]:
        """The whole batched call in one worker; if it overran or killed its worker, each row alone,
        so that one row's long C call or crash does not cost the other rows their scores."""
        pool, fn = worker_pool(), portable(job.fn.fn)
        attempt = CallStats()
        values = pool.score_batch(fn, job.fn.params, job.samples, job.fn.timeout, attempt)
        lost = attempt.timeouts > 0 or (attempt.first_error or "").startswith("its worker process")
        if values is not None or not lost or len(job.samples) == 1:
            job.stats.add_counts(attempt)
            return [None] * len(job.samples) if values is None else values
        out: list[Any] = []
        for sample in job.samples:
            one = pool.score_batch(fn, job.fn.params, [sample], job.fn.timeout, job.stats)
            out.append(None if one is None else one[0])
        return out


_executors: dict[str, Executor] = {}
_factories: dict[str, Callable[[], Executor]] = {}
_lock = threading.Lock()
_pid = os.getpid()


def register_executor(name: str, factory: Callable[[], Executor], requires: tuple[str, str] | None = None) -> None:
    """Make ``executor = name`` available (created on first use, once per process); ``requires``
    is (module, install line) when it needs an optional module, checked where a config names it."""
    with _lock:
        _factories[name] = factory
        if requires:
            EXECUTOR_REQUIRES[name] = requires
        _executors.pop(name, None)
        if name not in EXECUTORS:
            EXECUTORS.append(name)


def executor_names() -> list[str]:
    return list(_factories)


def get_executor(name: str) -> Executor:
    """The executor registered as ``name`` (one per process; a forked child makes its own)."""
    global _pid
    with _lock:
        if _pid != os.getpid():
            _executors.clear()
            _pid = os.getpid()
        executor = _executors.get(name)
        if executor is None:
            if name not in _factories:
                raise KeyError(f"no executor named {name!r} (known: {', '.join(_factories)})")
            executor = _executors[name] = _factories[name]()
        return executor


register_executor("inline", InlineExecutor)
register_executor("threads", ThreadExecutor)
register_executor("process", ProcessExecutor)
register_executor("asyncio", AsyncioExecutor)
