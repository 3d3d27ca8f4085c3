"""The asyncio executor: ``async def`` rewards awaited on one event loop.

Judges, reward-model endpoints and sandboxes mostly wait on sockets: a coroutine per row costs
nothing while it waits, and its time limit cancels it (a thread parked on a socket read cannot be
interrupted). One loop per process runs in a daemon thread; every async reward shares it, each
reward with its own bound on rows in flight (``concurrency``, default 32).

The promises of every executor hold here too: a row past its limit is cancelled and is a counted
timeout; an exception, or any ``BaseException`` (``SystemExit`` included, which would otherwise stop
the loop), is a counted error on its row. A coroutine that holds the loop with sync work (a
``requests.get``, ``time.sleep``, heavy parsing between awaits) stalls every other row; each step of
every coroutine is timed, and a step longer than :data:`BLOCKING_STEP` seconds is counted in
``blocked`` and reported, since a time limit cannot cancel it.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any

from ..guard import describe, note_error
from ..reward import CallStats, Sample
from .job import Job

DEFAULT_CONCURRENCY = 32
BLOCKING_STEP = 0.2  # seconds one step of a coroutine may hold the loop before it is reported


class _Crashed(Exception):
    """A BaseException out of a reward's coroutine, carried as an Exception so the loop survives."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(describe(exc))


class _Timed:
    """Drives a coroutine step by step, timing each step (the longest is ``worst``)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.worst = 0.0

    def __await__(self) -> Generator[Any, Any, Any]:
        started = time.perf_counter()
        try:
            made = self.make()
        except BaseException as exc:
            raise _Crashed(exc) if not isinstance(exc, Exception) else exc from None
        finally:
            self.worst = time.perf_counter() - started
        if not inspect.isawaitable(made):  # a sync function on the asyncio executor: already done
            return made
        coro = made.__await__()
        send: Any = None
        throw: BaseException | None = None
        while True:
            started = time.perf_counter()
            try:
                step = coro.throw(throw) if throw is not None else coro.send(send)
            except StopIteration as stop:
                return stop.value
            except (Exception, asyncio.CancelledError):
                raise
            except BaseException as exc:
                raise _Crashed(exc) from None
            finally:
                self.worst = max(self.worst, time.perf_counter() - started)
            try:
                send, throw = (yield step), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation (a time limit) goes into the coroutine
                send, throw = None, exc


async def guarded(make: Callable[[], Any], seconds: float | None, stats: CallStats) -> Any:
    """Await ``make()`` under a time limit; None (counted in ``stats``) on a timeout or any failure."""
    timed = _Timed(make)
    started = time.perf_counter()
    try:
        value = await asyncio.wait_for(_awaitable(timed), seconds)
    except asyncio.TimeoutError:
        value, timed_out = None, True
    except _Crashed as exc:
        note_error(stats, f"raised {exc}")
        return None
    except Exception as exc:
        note_error(stats, describe(exc))
        return None
    else:
        # a step that held the loop past the limit could not be cancelled: still the row's timeout
        timed_out = seconds is not None and time.perf_counter() - started > seconds + 0.05
    if timed.worst > BLOCKING_STEP:
        stats.blocked += 1
        if stats.first_error is None:
            stats.first_error = (
                f"blocked the event loop for {timed.worst:.2f}s with sync work: every other async row waited "
                "(await an async client, or move the work to asyncio.to_thread)"
            )
    if timed_out:
        stats.timeouts += 1
        if stats.first_error is None:
            stats.first_error = f"timed out after {seconds:g}s (the awaiting coroutine was cancelled)"
        return None
    return value


async def _awaitable(timed: _Timed) -> Any:
    return await timed


class AsyncioExecutor:
    """Every async reward's rows on one event loop in a daemon thread."""

    name = "asyncio"

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="grpo-rewards-asyncio", daemon=True)
        self._thread.start()
        ready.wait()

    def submit(self, job: Job) -> Future[list[Any]]:
        return asyncio.run_coroutine_threadsafe(self.run(job), self.loop)

    async def run(self, job: Job) -> list[Any]:
        try:
            fn = job.target()
        except Exception as exc:
            for _ in job.samples:
                note_error(job.stats, f"could not load the reward: {type(exc).__name__}: {exc}")
            return [None] * len(job.samples)
        params, seconds, samples = job.fn.params, job.fn.timeout, list(job.samples)
        if job.fn.batched:
            values = await guarded(lambda: fn(samples, **params), seconds, job.stats)
            if values is not None:
                values = list(values)
                if len(values) != len(samples):
                    note_error(job.stats, f"returned {len(values)} scores for {len(samples)} samples")
                    values = None
            return [None] * len(samples) if values is None else values
        limit = asyncio.Semaphore(job.fn.concurrency or DEFAULT_CONCURRENCY)

        async def one(sample: Sample) -> Any:
            async with limit:
                return await guarded(lambda: fn(sample, **params), seconds, job.stats)

        return list(await asyncio.gather(*(one(s) for s in samples)))
