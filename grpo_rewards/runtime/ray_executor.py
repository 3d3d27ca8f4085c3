"""The ``ray`` executor: a reward's rows in chunks on Ray tasks, on this machine or a cluster.

``pip install 'grpo-rewards[ray]'``; Ray is imported on first use only, so the core never needs it.
With no ``[ray]`` address the first use starts a private local cluster (``num_cpus`` from the
table or this machine, no dashboard, worker logs not copied to the driver); ``address = "auto"``
or ``"host:port"`` joins a running cluster, and a process that already called ``ray.init()``
(a Ray-based trainer) is used as it is.

What holds on Ray as everywhere else:

- **the same values**: each chunk is scored in the Ray worker by the executor the reward would
  run on here (its :attr:`~grpo_rewards.reward.RewardFunction.home_executor`: ``inline``,
  ``threads``, ``asyncio``, or ``process`` for a reward that needs a hard time limit), through the
  same code; a batched reward gets its batch whole, as it would here;
- **the time limit per row**: enforced inside the worker by that executor (the killable worker
  processes for ``isolation = "process"`` rewards). A task that still outlives every row's limit
  plus a start allowance (a wedged worker) is cancelled, its worker killed;
- **a dead worker costs only its rows**: Ray's own retries are off; a chunk whose worker died (a
  crash, ``os._exit``, the OOM killer, a lost node) or was cancelled is split into smaller pieces
  and run again, down to single rows, so only the rows that kill a worker every time are lost,
  each a counted error (a counted timeout when cancelled). Nothing waits forever on a dead worker;
- **local plugin files travel**: their source (what this process loaded) goes with each job; a
  worker where the file is missing or different writes that source to a private temporary folder
  and loads it through its own registry under the original path, so the file's other hooks
  (extractors bound to the reward's parameters) are registered there too before the reward is
  unpickled. Plugins installed as packages (entry points) must be installed on every node;
- **statistics** of each chunk come back with its values and add up in the batch's ``CallStats``.

Ray worker processes are reused between tasks, so a reward that caches a loaded model per process
loads it once per worker, not once per chunk. (A pool of actors that pins such a model to named
workers would plug in here, as another way to run the chunks; it is not built.)
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..cluster import DEFAULT_CHUNK_ROWS, LOCAL
from ..guard import describe, note_error
from ..isolation import MEMORY_ENV, grace, sendable, size_pool
from ..registry import ENV_PLUGINS, get_registry
from ..reward import CallStats, Sample
from .executors import get_executor
from .job import Job, done

LOCAL_EXECUTORS = ("inline", "threads", "process", "asyncio")
START_ALLOWANCE = 120.0  # a task's start (a fresh worker importing the reward's modules) and queueing
SPLIT = 16  # a lost chunk is run again as this many pieces, then row by row


# -- the worker side ----------------------------------------------------------------------------
def score_chunk(files: Sequence[tuple[str, str]], payload: bytes, rows: int) -> tuple[list[Any], CallStats]:
    """A Ray task: one chunk of one reward, scored by its home executor in this worker."""
    stats = CallStats()
    try:
        get_registry().load_shipped(files)
        fn, samples = pickle.loads(payload)
    except BaseException as exc:  # the reward could not be rebuilt here: every row an error
        for _ in range(rows):
            note_error(stats, f"could not load the reward in a Ray worker: {describe(exc)}")
        return [None] * rows, stats
    home = fn.home_executor if fn.home_executor in LOCAL_EXECUTORS else "inline"
    size_pool(1)  # this worker holds one CPU: hard-limited rewards get one worker process under it
    values = get_executor(home).submit(Job(fn, samples, stats)).result()
    return [sendable(value, stats) for value in values], stats


# -- the driver side ----------------------------------------------------------------------------
class _Piece:
    __slots__ = ("start", "end", "attempt", "deadline")

    def __init__(self, start: int, end: int, attempt: int) -> None:
        self.start, self.end, self.attempt = start, end, attempt
        self.deadline: float | None = None


class RayExecutor:
    """Chunks of rows on Ray tasks (see the module docstring for what it promises)."""

    name = "ray"

    def __init__(self) -> None:
        self._driver = ThreadPoolExecutor(16, thread_name_prefix="grpo-rewards-ray-job")
        self._lock = threading.Lock()
        self._remote: Any = None
        self.connect_seconds: float | None = None  # how long ray.init took here (None: not by us)
        self.restarts = 0  # pieces run again after a worker died or was cancelled
        self._refused: str | None = None  # why ray.init failed: later batches fail at once, not after its wait

    def submit(self, job: Job) -> Future[list[Any]]:
        if not job.samples:
            return done([])
        return self._driver.submit(self._run, job)

    def connect(self, options: Mapping[str, Any]) -> Any:
        """The ``ray`` module, initialised (a local cluster, the one at ``address``, or the caller's)."""
        import ray

        with self._lock:
            if self._refused is not None and not ray.is_initialized():
                raise RuntimeError(f"{self._refused} (an earlier try in this process)")
            if not ray.is_initialized():
                address = options.get("address")
                start_local = address == LOCAL or (address is None and not os.environ.get("RAY_ADDRESS"))
                env = {key: os.environ[key] for key in (ENV_PLUGINS, MEMORY_ENV) if key in os.environ}
                kwargs: dict[str, Any] = {"log_to_driver": False, "namespace": "grpo-rewards"}
                if env:
                    kwargs["runtime_env"] = {"env_vars": env}
                started = time.perf_counter()
                try:
                    if start_local:
                        cpus = options.get("num_cpus") or os.cpu_count() or 1
                        ray.init(address=LOCAL, num_cpus=cpus, include_dashboard=False, **kwargs)
                    else:
                        # Ray itself retries an unreachable address for many minutes
                        _reachable(str(address or os.environ.get("RAY_ADDRESS", "auto")))
                        ray.init(address=address, **kwargs)
                except Exception as exc:
                    self._refused = describe(exc)
                    raise
                self.connect_seconds = time.perf_counter() - started
            if self._remote is None:
                self._remote = ray.remote(num_cpus=1, max_retries=0)(score_chunk)
        return ray

    def _run(self, job: Job) -> list[Any]:
        samples = list(job.samples)
        try:
            ray = self.connect(job.fn.executor_options)
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            files = ray.put(get_registry().local_file_sources())
        except Exception as exc:
            for _ in samples:
                note_error(job.stats, f"could not start or reach Ray: {describe(exc)}")
            return [None] * len(samples)
        if job.fn.batched:
            size = len(samples)  # a batched reward sees its batch whole, as it would here
        else:
            wanted = int(job.fn.executor_options.get("chunk_rows", DEFAULT_CHUNK_ROWS))
            size = max(1, min(wanted, -(-len(samples) // cpus)))
        pending = deque(_Piece(i, min(i + size, len(samples)), 0) for i in range(0, len(samples), size))
        return self._schedule(ray, job, samples, files, pending, window=2 * cpus)

    def _schedule(self, ray: Any, job: Job, samples: list[Sample], files: Any, pending: deque[_Piece], window: int) -> list[Any]:
        values: list[Any] = [None] * len(samples)
        flying: dict[Any, _Piece] = {}
        limit = job.fn.timeout
        while pending or flying:
            while pending and len(flying) < window:
                piece = pending.popleft()
                chunk = samples[piece.start : piece.end]
                payload = pickle.dumps((job.fn, chunk), protocol=pickle.HIGHEST_PROTOCOL)
                if limit is not None:
                    piece.deadline = time.monotonic() + START_ALLOWANCE + len(chunk) * (limit + grace(limit))
                flying[self._remote.remote(files, payload, len(chunk))] = piece
            deadlines = [p.deadline for p in flying.values() if p.deadline is not None]
            wait = 1.0 if not deadlines else max(0.0, min(1.0, min(deadlines) - time.monotonic()))
            ready, _ = ray.wait(list(flying), num_returns=1, timeout=wait)
            for ref in ready:
                piece = flying.pop(ref)
                try:
                    chunk_values, chunk_stats = ray.get(ref)
                except Exception as exc:
                    self._lost(piece, job.stats, pending, f"its Ray worker failed ({describe(exc)[:300]})", timeout=False)
                    continue
                values[piece.start : piece.end] = chunk_values
                job.stats.add_counts(chunk_stats)
            now = time.monotonic()
            for ref, piece in list(flying.items()):
                if piece.deadline is not None and now > piece.deadline:
                    ray.cancel(ref, force=True)  # kills the worker: a wedged task never holds the batch
                    flying.pop(ref)
                    self._lost(piece, job.stats, pending, "its Ray task outlived every row's time limit", timeout=True)
        return values

    def _lost(self, piece: _Piece, stats: CallStats, pending: deque[_Piece], why: str, timeout: bool) -> None:
        """Run a lost piece again in smaller parts; a single row lost twice is counted."""
        rows = piece.end - piece.start
        if rows > 1 or piece.attempt == 0:
            self.restarts += 1
            step = max(1, -(-rows // SPLIT)) if piece.attempt == 0 else 1
            parts = [_Piece(i, min(i + step, piece.end), piece.attempt + 1) for i in range(piece.start, piece.end, step)]
            pending.extendleft(reversed(parts))
            return
        if timeout:
            stats.timeouts += 1
            if stats.first_error is None:
                stats.first_error = f"{why}; the row was cancelled and its worker killed"
        else:
            note_error(stats, f"{why} while scoring this row, on every try")


def _reachable(address: str, seconds: float = 10.0) -> None:
    """Raise ConnectionError when nothing answers at a ``host:port`` address (``auto`` is Ray's to find)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except (OSError, ValueError) as exc:
        raise ConnectionError(f"nothing answers at Ray address {address!r} ({exc})") from None
