"""The guard around one reward call: whatever the reward does, the caller gets a value or a count.

A reward is third-party code scoring untrusted text. Besides ordinary exceptions it may raise
``SystemExit`` (a stray ``sys.exit``), ``KeyboardInterrupt`` or a bare ``BaseException``, or fork.
:func:`call_guarded` turns each of these into a counted error on the row, so scoring and training
go on:

- every ``BaseException`` from the reward is an error on its row, except a ``KeyboardInterrupt``
  caused by a real Ctrl-C (SIGINT delivered to this process): that one still stops the command.
  The two are told apart by a flag that our SIGINT handler sets before raising (installed only
  where Python's default handler is in place, so a host's own handler is never replaced; where it
  is not ours, every KeyboardInterrupt propagates, which keeps Ctrl-C working);
- a reward that forks: the child process never returns into our code (it ends at once with
  ``os._exit``), so nothing after the reward runs twice.
"""

from __future__ import annotations

import math
import os
import signal
import sysconfig
import threading
import traceback
from collections.abc import Callable
from typing import Any

from .timelimit import RewardTimeout, time_limit

_sigint = {"seen": False, "installed": False, "worker": False}


def _on_sigint(signum: int, frame: Any) -> None:
    _sigint["seen"] = True
    signal.default_int_handler(signum, frame)


def install_sigint_marker() -> None:
    """Mark real Ctrl-C (see the module docstring); a no-op off the main thread or under a host handler."""
    if _sigint["installed"] or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_sigint)
            _sigint["installed"] = True
    except ValueError:  # pragma: no cover - not the main interpreter
        pass


def mark_worker_process() -> None:
    """In a worker process SIGINT is ignored: every KeyboardInterrupt there is a reward's."""
    _sigint["worker"] = True


def user_interrupted() -> bool:
    """Whether a KeyboardInterrupt now propagating came from the user rather than a reward."""
    if _sigint["worker"]:
        return False
    handler = signal.getsignal(signal.SIGINT)
    if handler == signal.SIG_IGN:  # no Ctrl-C can arrive (a background job, nohup): the reward raised it
        return False
    return _sigint["seen"] or handler is not _on_sigint


def note_error(stats: Any, message: str) -> None:
    stats.errors += 1
    if stats.first_error is None:
        stats.first_error = message[:500]


def describe(exc: BaseException) -> str:
    """``Type: message (at file.py:LINE in function)``: where in the reward's own code it broke."""
    text = f"{type(exc).__name__}: {exc}"
    text = text if len(text) <= 440 else text[:437] + "..."
    where = raised_at(exc)
    return f"{text} (at {where})" if where else text


# Frames that are never the place to look: Python itself, installed libraries, and the runtime
# that called the reward (its guard, executors, time limits, worker processes).
_LIBRARIES = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in sysconfig.get_paths()}
)
_RUNTIME = os.path.dirname(os.path.abspath(__file__))


def raised_at(exc: BaseException) -> str | None:
    """The innermost frame of ``exc``'s traceback in the reward's code (not in Python, an installed
    library or this runtime), else the innermost frame: ``file.py:LINE in function``, the file shown
    relative to the working folder when inside it (no absolute local paths in reports)."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if not frames:
        return None
    own = [f for f in frames if not f.filename.startswith(_LIBRARIES) and not f.filename.startswith(_RUNTIME + os.sep)]
    frame = (own or frames)[-1]
    path = frame.filename
    try:
        relative = os.path.relpath(path)
        path = relative if not relative.startswith("..") else os.path.basename(path)
    except ValueError:  # another drive
        path = os.path.basename(path)
    return f"{path}:{frame.lineno} in {frame.name}"


def call_guarded(call: Callable[[], Any], seconds: float | None, stats: Any) -> Any:
    """``call()`` under a time limit; None (counted in ``stats``) on a timeout or any failure."""
    pid = os.getpid()
    _sigint["seen"] = False  # a Ctrl-C that lands during this call sets it again
    try:
        with time_limit(seconds):
            try:
                value = call()
            finally:  # before anything else runs in a forked child: locks other threads held stay held there
                _leave_if_forked(pid)
    except RewardTimeout:
        _leave_if_forked(pid)
        stats.timeouts += 1
        if stats.first_error is None:
            stats.first_error = f"timed out after {seconds:g}s"
        return None
    except KeyboardInterrupt as exc:
        _leave_if_forked(pid)
        if user_interrupted():
            raise
        note_error(stats, f"raised {describe(exc)} (counted as an error; Ctrl-C still stops the run)")
        return None
    except BaseException as exc:  # SystemExit, GeneratorExit, plain Exception: a broken reward
        _leave_if_forked(pid)
        note_error(stats, describe(exc) if isinstance(exc, Exception) else f"raised {describe(exc)}")
        return None
    _leave_if_forked(pid)
    return value


def _leave_if_forked(pid: int) -> None:
    if os.getpid() != pid:  # a child the reward forked: it must never run the rest of our code
        os._exit(0)


def as_score(value: Any, stats: Any) -> float | None:
    """A reward's return value as a finite float, or None; anything else is a counted error."""
    if value.__class__ is float:
        return value if math.isfinite(value) else None
    if value is None:
        return None
    if isinstance(value, BaseException):  # a batched reward's per-row failure: counted, with its message
        note_error(stats, describe(value))
        return None
    try:
        value = float(value)
    except Exception:
        note_error(stats, f"returned a {type(value).__name__}, not a number")
        return None
    return value if math.isfinite(value) else None
