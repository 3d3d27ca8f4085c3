"""Per-call time limits that hold in any thread, not only the main one.

``signal.alarm`` only works in the main thread of the main interpreter, and TRL, async rewards
and thread pools call rewards elsewhere. Instead one watchdog thread per process raises
:class:`RewardTimeout` inside the thread that overran, through CPython's
``PyThreadState_SetAsyncExc``. The exception is delivered between bytecodes, so pure-Python work
(sympy simplification, regex loops in Python) is interrupted; a single C call that never returns
to the interpreter is not, which is why the parsers also bound their input sizes.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

_POLL_SECONDS = 0.005


class RewardTimeout(BaseException):
    """Raised inside a reward that ran past its time limit.

    A BaseException, so that a reward's own ``except Exception`` cannot swallow it.
    """


@dataclass
class _Deadline:
    thread_id: int
    at: float
    fired: bool = field(default=False)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


class _Watchdog:
    """A daemon thread that fires overdue deadlines; restarted lazily after a fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, _Deadline] = {}
        self._pid = -1
        self._wake = threading.Event()

    def _ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._deadlines = {}
            thread = threading.Thread(target=self._run, name="grpo-rewards-watchdog", daemon=True)
            thread.start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            now = time.monotonic()
            with self._lock:
                for deadline in self._deadlines.values():
                    if not deadline.fired and now >= deadline.at:
                        deadline.fired = True
                        _set_async_exc(deadline.thread_id, RewardTimeout)
                if not self._deadlines:
                    self._wake.clear()
            time.sleep(_POLL_SECONDS)

    def _disarm(self, key: int, deadline: _Deadline) -> None:
        # The timeout may land while we are here; retry until the deadline is surely removed.
        while True:
            try:
                with self._lock:
                    self._deadlines.pop(key, None)
                    if deadline.fired:
                        # A fired exception may still be pending: clear it so that it cannot
                        # surface later in unrelated code.
                        _set_async_exc(deadline.thread_id, None)
                return
            except RewardTimeout:
                continue

    @contextmanager
    def limit(self, seconds: float | None) -> Iterator[None]:
        if seconds is None or seconds <= 0:
            yield
            return
        self._ensure_running()
        key = object()
        deadline = _Deadline(threading.get_ident(), time.monotonic() + seconds)
        with self._lock:
            self._deadlines[id(key)] = deadline
            self._wake.set()
        try:
            yield
        finally:
            self._disarm(id(key), deadline)
        if deadline.fired:
            raise RewardTimeout(f"ran past its time limit of {seconds:g}s")


_watchdog = _Watchdog()


def time_limit(seconds: float | None):
    """Context manager: raise :class:`RewardTimeout` in this thread after ``seconds``.

    ``None`` or a non-positive value means no limit.
    """
    return _watchdog.limit(seconds)
