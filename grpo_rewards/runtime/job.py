"""What every executor shares: the job it runs and the protocol it follows."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from ..portable import FileFunction
from ..reward import CallStats, RewardFunction, Sample


@dataclass
class Job:
    """One reward's part of a batch: what an executor runs."""

    fn: RewardFunction
    samples: Sequence[Sample]
    stats: CallStats

    def target(self) -> Callable[..., Any]:
        """The scoring function itself (a local plugin file's function loaded in this process)."""
        fn = self.fn.fn
        return fn.resolve() if isinstance(fn, FileFunction) else fn


class Executor(Protocol):
    """Runs a job; the future's result is one raw value per sample (None where it failed, counted)."""

    name: str

    def submit(self, job: Job) -> Future[list[Any]]: ...


def done(values: list[Any]) -> Future[list[Any]]:
    future: Future[list[Any]] = Future()
    future.set_result(values)
    return future


def split(samples: Sequence[Sample], parts: int) -> list[Sequence[Sample]]:
    """``samples`` in ``parts`` contiguous slices of near-equal size (order kept)."""
    parts = max(1, min(parts, len(samples)))
    size, extra = divmod(len(samples), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(samples[start:end])
        start = end
    return out


def is_async(job: Job) -> bool:
    """Whether the job's scoring function is ``async def`` (a local plugin file's too, once loaded)."""
    fn = job.fn.fn
    target = fn.loaded() if isinstance(fn, FileFunction) else fn
    return target is not None and inspect.iscoroutinefunction(target)
