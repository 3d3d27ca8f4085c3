"""Hard time limits: run a reward in a worker process that is killed at its deadline.

In-process limits (:mod:`~grpo_rewards.timelimit`) interrupt Python code, but not one long C call
(a huge exact power in sympy, a backtracking regex), and not a reward that ignores SIGALRM. A
reward declared with ``isolation="process"`` (or given ``isolation = "process"`` in a reward set)
is scored here instead:

- a small pool of persistent worker processes receives a batch of rows and sends back one result
  per row as soon as it is scored; inside the worker the usual in-process limit and
  :func:`~grpo_rewards.guard.call_guarded` still apply, so a Python-level overrun costs nothing more.
  Workers are fresh interpreters (``python -c``), talking over a socket pair: never a fork of a
  parent that may hold model threads, and, unlike multiprocessing's spawn and forkserver, they never
  re-import the user's ``__main__`` (an unguarded training script would run again in each worker);
- the parent waits for each row at most ``limit + grace``; a worker that overruns is killed
  (SIGKILL, which nothing can ignore), its row is a counted timeout, and the rest of the batch goes
  to another worker; a worker that dies (``os._exit``, a segfault, the memory cap) makes its row a
  counted error. A replacement starts at once in the background, and one spare worker is kept
  warm while another is busy, so the next row rarely waits for a start; workers die with their parent (Linux ``PR_SET_PDEATHSIG``);
- each worker's address space is capped (``GRPO_REWARDS_WORKER_MEMORY_MB``, default 2048; 0: no
  cap), so a runaway allocation is a MemoryError on its row, not the machine's swap.

Where a worker cannot be started at all (inside a daemonic process), the reward runs in-process
and the first error says so.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import multiprocessing
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from .guard import as_score, call_guarded, describe, mark_worker_process, note_error
from .portable import LOCAL_MODULE_PREFIX, FileFunction
from .registry import get_registry
from .reward import Scored

MEMORY_ENV = "GRPO_REWARDS_WORKER_MEMORY_MB"
DEFAULT_MEMORY_MB = 2048
START_TIMEOUT = 120.0  # a fresh worker imports the reward's modules: generous, and not a row's time
_modules: set[str] = {"grpo_rewards.guard"}


def grace(seconds: float) -> float:
    """How long past its limit a row may run before its worker is killed (the in-process limit
    fires first for Python code; this covers the time it takes to land and to report)."""
    return max(0.25, min(1.0, 0.25 * seconds))


def announce(fn: Callable[..., Any]) -> None:
    """Preload ``fn``'s module in the worker template (before the first worker starts), so that a
    worker replacing a killed one is ready in milliseconds instead of re-importing sympy."""
    module = getattr(fn, "__module__", None)
    if module and not module.startswith(LOCAL_MODULE_PREFIX):
        _modules.add(module)


# -- the worker side ----------------------------------------------------------------------------
class _Stats:
    __slots__ = ("errors", "timeouts", "first_error")

    def __init__(self) -> None:
        self.errors = 0
        self.timeouts = 0
        self.first_error: str | None = None


def _cap_memory(megabytes: int) -> None:
    try:
        import resource

        limit = megabytes * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not POSIX, or not allowed
        pass


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - not Linux: the worker ends at EOF instead
        pass


def serve(fd: int) -> None:
    """The worker's main loop (run by ``python -c``): setup message, then jobs until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    mark_worker_process()
    _die_with_parent()
    conn = Connection(fd)
    modules, memory_mb = conn.recv()
    for module in modules:  # what the rewards need, imported before the memory cap and the first row
        try:
            importlib.import_module(module)
        except Exception:
            pass
    if memory_mb > 0:
        _cap_memory(memory_mb)
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        except BaseException as exc:  # the job could not be unpickled (a module that fails to import)
            conn.send(("failed", describe(exc)))
            continue
        kind, files, job, seconds = message
        try:  # local plugin files load here (extractors bound to params first), before any row's clock starts
            if files:
                get_registry().load_shipped(files)
            fn, params, samples = pickle.loads(job)
            fn = fn.resolve() if isinstance(fn, FileFunction) else fn
        except BaseException as exc:
            conn.send(("failed", describe(exc)))
            continue
        conn.send(("started",))
        if inspect.iscoroutinefunction(fn):  # an async def reward on the process executor
            fn = _awaited(fn)
        if kind == "rows":
            for sample in samples:
                stats = _Stats()
                value = sendable(call_guarded(lambda: fn(sample, **params), seconds, stats), stats)
                conn.send((value, stats.errors, stats.timeouts, stats.first_error))
        else:
            stats = _Stats()
            values = call_guarded(lambda: list(fn(list(samples), **params)), seconds, stats)
            if values is not None and len(values) == len(samples):
                values = [sendable(v, stats) for v in values]
            elif values is not None:
                note_error(stats, f"returned {len(values)} scores for {len(samples)} samples")
                values = None
            conn.send((values, stats.errors, stats.timeouts, stats.first_error))


def sendable(value: Any, stats: Any) -> Any:
    """A worker's result for the parent: a score, or a :class:`Scored` whose details are plain
    values (whatever a reward put there must survive pickling, and stay small)."""
    if value.__class__ is not Scored:
        return as_score(value, stats)
    details = value.details
    if details is not None:
        details = {
            str(k)[:100]: v if isinstance(v, (bool, int, float, type(None))) else str(v)[:500] for k, v in dict(details).items()
        }
    return Scored(as_score(value.value, stats), details, value.calls, value.tokens, value.cost)


def _awaited(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (``async def``) as a plain function: each call runs the coroutine to its end."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(fn(*args, **kwargs))

    return call


# -- the parent side ----------------------------------------------------------------------------
class _Worker:
    __slots__ = ("process", "conn")

    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(5)
        except Exception:  # pragma: no cover - already gone
            pass
        self.conn.close()

    def death(self) -> str:
        try:
            code = self.process.wait(1)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return "its worker process stopped answering"
        if code < 0:
            try:
                return f"its worker process died of {signal.Signals(-code).name}"
            except ValueError:
                return f"its worker process died of signal {-code}"
        return f"its worker process exited with code {code}"


class WorkerPool:
    """Persistent worker processes for hard-limited rewards; threads share it safely."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or max(4, min(8, os.cpu_count() or 2))
        self._idle: list[_Worker] = []
        self._started = 0
        self._cond = threading.Condition()
        self.restarts = 0
        # Every worker is started from this one long-lived thread: Linux ties PR_SET_PDEATHSIG to
        # the thread that started a child, and request threads come and go.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="grpo-rewards-spawner")

    def _start(self) -> _Worker:
        return self._spawner.submit(self._start_now).result()

    def _start_now(self) -> _Worker:
        parent_end, child_end = socket.socketpair()
        fd = child_end.fileno()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([p or os.getcwd() for p in sys.path]))
        process = subprocess.Popen(
            [sys.executable, "-c", f"from grpo_rewards.isolation import serve; serve({fd})"],
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        child_end.close()
        conn = Connection(parent_end.detach())
        worker = _Worker(process, conn)
        try:
            conn.send((sorted(_modules), int(os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_MB) or 0)))
            if not conn.poll(START_TIMEOUT) or conn.recv() != "ready":
                raise EOFError
        except (EOFError, OSError):
            worker.kill()
            raise RuntimeError("a reward worker process did not start") from None
        return worker

    def _replace(self) -> None:
        """Start a worker in the background for one that was killed or died (its slot stays taken)."""

        def run() -> None:
            try:
                worker = self._start_now()
            except Exception:
                self._discard()
                return
            self._release(worker)

        self._spawner.submit(run)

    def idle_count(self) -> int:
        """Workers started and free now: rows spread over these start at once."""
        with self._cond:
            return len(self._idle)

    def _acquire(self) -> _Worker:
        with self._cond:
            while not self._idle and self._started >= self.max_workers:
                self._cond.wait()
            if self._idle:
                worker = self._idle.pop()
                if not self._idle and self._started < self.max_workers:
                    # keep a spare warm: when this one is killed, the next row need not wait for a start
                    self._started += 1
                    self._replace()
                return worker
            self._started += 1
        try:
            return self._start()
        except BaseException:
            self._discard()
            raise

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _discard(self) -> None:
        with self._cond:
            self._started -= 1
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for worker in idle:
            worker.kill()

    def score_rows(
        self, fn: Callable[..., Any], params: dict[str, Any], samples: Sequence[Any], seconds: float | None, stats: Any
    ) -> list[float | None]:
        """One score per sample; timeouts, deaths and errors are counted in ``stats``."""
        values: list[float | None] = [None] * len(samples)
        start = 0
        while start < len(samples):
            acquired = self._acquire()
            worker: _Worker | None = acquired
            done = start
            try:
                acquired.conn.send(("rows", *_job(fn, params, samples[start:]), seconds))
                limit = None if seconds is None else seconds + grace(seconds)
                started = self._receive(acquired, START_TIMEOUT, stats, seconds)
                if started is None:  # died loading the reward: that row is counted, the rest retried
                    worker = None
                    done += 1
                elif started[0] == "failed":
                    for _ in range(done, len(samples)):
                        note_error(stats, f"could not run in a worker process: {started[1]}")
                    done = len(samples)
                while worker is not None and done < len(samples):
                    reply = self._receive(worker, limit, stats, seconds)
                    if reply is None:  # killed or dead: the row is counted, the worker replaced
                        done += 1
                        worker = None
                        break
                    if reply[0] == "failed":
                        for _ in range(done, len(samples)):
                            note_error(stats, f"could not run in a worker process: {reply[1]}")
                        done = len(samples)
                        break
                    value, errors, timeouts, first_error = reply
                    values[done] = value
                    stats.errors += errors
                    stats.timeouts += timeouts
                    if first_error and stats.first_error is None:
                        stats.first_error = first_error
                    done += 1
            except BaseException:
                if worker is not None:
                    worker.kill()
                    self._discard()
                raise
            if worker is not None:
                self._release(worker)
            start = done
        return values

    def score_batch(
        self, fn: Callable[..., Any], params: dict[str, Any], samples: Sequence[Any], seconds: float | None, stats: Any
    ) -> list[float | None] | None:
        """A batched reward's whole call in one worker; None when it failed (counted)."""
        worker = self._acquire()
        try:
            worker.conn.send(("batch", *_job(fn, params, samples), seconds))
            reply = self._receive(worker, START_TIMEOUT, stats, seconds)
            if reply is not None and reply[0] == "started":
                reply = self._receive(worker, None if seconds is None else seconds + grace(seconds), stats, seconds)
        except BaseException:
            worker.kill()
            self._discard()
            raise
        if reply is None:
            return None
        self._release(worker)
        if reply[0] == "failed":
            note_error(stats, f"could not run in a worker process: {reply[1]}")
            return None
        values, errors, timeouts, first_error = reply
        stats.errors += errors
        stats.timeouts += timeouts
        if first_error and stats.first_error is None:
            stats.first_error = first_error
        return list(values)

    def _receive(self, worker: _Worker, limit: float | None, stats: Any, seconds: float | None) -> Any:
        """The worker's next reply, or None after killing it (overrun) or finding it dead."""
        started = time.monotonic()
        try:
            ready = worker.conn.poll(limit)
            reply = worker.conn.recv() if ready else None
        except (EOFError, OSError):
            ready, reply = True, None
        if reply is not None:
            return reply
        if not ready:
            stats.timeouts += 1
            if stats.first_error is None:
                stats.first_error = (
                    f"timed out after {seconds:g}s (its worker process was killed at {time.monotonic() - started:.2f}s)"
                )
            worker.kill()
        else:
            note_error(stats, f"{worker.death()} while scoring this row; a fresh worker took over")
            worker.kill()
        self.restarts += 1
        self._replace()
        return None


def _job(fn: Callable[..., Any], params: dict[str, Any], samples: Sequence[Any]) -> tuple[list[tuple[str, str]], bytes]:
    """A job for a worker: this process's local plugin files (loaded there first, so that an
    extractor a file registers resolves when the parameters are unpickled) and the pickled job."""
    return get_registry().local_file_sources(), pickle.dumps((fn, params, list(samples)), protocol=pickle.HIGHEST_PROTOCOL)


_pool: WorkerPool | None = None
_pool_pid = -1
_pool_lock = threading.Lock()
_pool_size: list[int | None] = [None]


def size_pool(workers: int) -> None:
    """How many worker processes this process's pool may start (before its first use): a Ray
    worker holds one CPU of the cluster, so its pool keeps to one."""
    _pool_size[0] = workers


def worker_pool() -> WorkerPool:
    """This process's pool (created on first use; a forked child gets its own)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = WorkerPool(_pool_size[0]), os.getpid()
        return _pool


def can_isolate() -> bool:
    """Whether this process may start worker processes (daemonic ones may not)."""
    return not multiprocessing.current_process().daemon
