"""Per-call time limits that hold in any thread, not only the main one.

``signal.alarm`` alone only works in the main thread, and TRL, async rewards and thread pools call
rewards elsewhere. One watchdog thread per process tracks every active deadline and, when one
passes, interrupts the thread that overran:

- in the main thread, with SIGALRM sent to that thread: its handler raises :class:`RewardTimeout`,
  which also breaks out of blocking calls such as ``time.sleep`` (used only when nobody else
  installed a SIGALRM handler);
- in any other thread, with CPython's ``PyThreadState_SetAsyncExc``, delivered between bytecodes:
  pure-Python work (sympy simplification, loops) is interrupted, a single C call that never returns
  to the interpreter is not, which is why the parsers also bound their input sizes.

Worker processes run rewards in their main thread, so they get the signal path.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

_SLACK_SECONDS = 0.002
_FORGET_AFTER_SECONDS = 60.0
T = TypeVar("T")


class RewardTimeout(BaseException):
    """Raised inside a reward that ran past its time limit.

    A BaseException, so that a reward's own ``except Exception`` cannot swallow it.
    """


class Deadline:
    """One active limit. ``expired`` tells whether *this* limit fired (not an enclosing one)."""

    __slots__ = ("thread_id", "at", "use_signal", "expired", "delivered")

    def __init__(self, thread_id: int, at: float, use_signal: bool) -> None:
        self.thread_id = thread_id
        self.at = at
        self.use_signal = use_signal
        self.expired = False
        self.delivered = False


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    return int(
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)
    )


class _Watchdog:
    """A daemon thread that fires overdue deadlines; restarted lazily after a fork."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entrant: the SIGALRM handler may run while held
        self._deadlines: dict[int, Deadline] = {}
        self._pid = -1
        self._wake = threading.Event()
        self._next_wake = math.inf
        self._signal_ready = False
        self._main_thread_id = threading.main_thread().ident

    def _ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._deadlines = {}
            self._wake = threading.Event()
            self._next_wake = math.inf
            self._main_thread_id = threading.main_thread().ident
            threading.Thread(target=self._run, name="grpo-rewards-watchdog", daemon=True).start()
            self._pid = os.getpid()

    def _install_signal_handler(self) -> bool:
        """Use SIGALRM for the main thread unless someone else already handles it."""
        if hasattr(signal, "pthread_kill") and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGALRM, self._on_alarm)
            self._signal_ready = True
        return self._signal_ready

    def _on_alarm(self, signum: int, frame: Any) -> None:
        with self._lock:
            pending = [d for d in self._deadlines.values() if d.use_signal and d.expired and not d.delivered]
            for deadline in pending:
                deadline.delivered = True
        if pending:
            raise RewardTimeout("time limit reached")

    def _run(self) -> None:
        # Sleeps until the earliest live deadline (or until armed while idle): items normally
        # finish long before their limit, so the thread wakes rarely and costs the GIL nothing.
        while True:
            with self._lock:
                now = time.monotonic()
                for key, deadline in list(self._deadlines.items()):
                    if deadline.expired:
                        if now > deadline.at + _FORGET_AFTER_SECONDS:  # never disarmed: forget it
                            del self._deadlines[key]
                    elif now >= deadline.at:
                        self._fire(deadline)
                live = [d.at for d in self._deadlines.values() if not d.expired]
                self._next_wake = min(live) if live else math.inf
                self._wake.clear()
            timeout = None if not live else max(self._next_wake - now, 0.0) + _SLACK_SECONDS
            if not live and self._deadlines:
                timeout = _FORGET_AFTER_SECONDS
            self._wake.wait(timeout)

    def _fire(self, deadline: Deadline) -> None:
        deadline.expired = True
        if deadline.use_signal and signal.getsignal(signal.SIGALRM) == self._on_alarm:
            signal.pthread_kill(deadline.thread_id, signal.SIGALRM)
        else:  # not the main thread, or someone replaced our handler: the async path
            deadline.use_signal = False
            _set_async_exc(deadline.thread_id, RewardTimeout)

    def disarm(self, deadline: Deadline) -> None:
        # The timeout may land while we are here; retry until the deadline is surely removed.
        while True:
            try:
                with self._lock:
                    self._deadlines.pop(id(deadline), None)
                    if deadline.expired and not deadline.use_signal:
                        # A fired exception may still be pending: clear it so that it cannot
                        # surface later in unrelated code.
                        _set_async_exc(deadline.thread_id, None)
                return
            except RewardTimeout:
                continue

    def arm(self, seconds: float) -> Deadline:
        if self._pid != os.getpid():
            self._ensure_running()
        thread_id = threading.get_ident()
        use_signal = thread_id == self._main_thread_id and (self._signal_ready or self._install_signal_handler())
        deadline = Deadline(thread_id, time.monotonic() + seconds, use_signal)
        with self._lock:
            self._deadlines[id(deadline)] = deadline
            earlier = deadline.at < self._next_wake
            if earlier:
                self._next_wake = deadline.at
        if earlier:  # the watchdog sleeps past this deadline: wake it to re-plan
            self._wake.set()
        return deadline


class _Limit:
    """The context manager behind :func:`time_limit` (a class: it runs once per scored item)."""

    __slots__ = ("seconds", "deadline")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds if seconds is not None and seconds > 0 else None
        self.deadline: Deadline | None = None

    def __enter__(self) -> Deadline | None:
        if self.seconds is not None:
            self.deadline = _watchdog.arm(self.seconds)
        return self.deadline

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        deadline = self.deadline
        if deadline is None:
            return False
        _watchdog.disarm(deadline)
        if deadline.expired and (exc_type is None or exc_type is RewardTimeout):
            raise RewardTimeout(f"ran past its time limit of {self.seconds:g}s")
        return False


_watchdog = _Watchdog()


def time_limit(seconds: float | None) -> _Limit:
    """Context manager: raise :class:`RewardTimeout` in this thread after ``seconds``.

    ``None`` or a non-positive value means no limit. It yields a :class:`Deadline` (or None)
    whose ``expired`` tells whether this limit, rather than an enclosing one, fired.
    """
    return _Limit(seconds)


def call_with_time_limit(seconds: float | None, fn: Callable[[], T], default: T) -> T:
    """``fn()`` under a time limit; ``default`` if *this* limit fires.

    Nesting-safe: if an enclosing limit fires meanwhile, its RewardTimeout propagates, so an inner
    bounded step (say, a symbolic simplification) never swallows the reward's own time limit.
    """
    deadline = None
    try:
        with time_limit(seconds) as deadline:
            return fn()
    except RewardTimeout:
        if deadline is not None and deadline.expired:
            return default
        raise
    raise AssertionError("unreachable: the block returns or raises")  # for type checkers
