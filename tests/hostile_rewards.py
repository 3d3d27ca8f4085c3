"""Rewards that misbehave on purpose, loaded as a local plugin file by tests/test_hostile.py.

The completion says what to do, so one reward covers every misbehaviour: raise SystemExit,
KeyboardInterrupt or a bare BaseException, end the process, crash the interpreter, fork, ignore
SIGALRM and block, or send this process a real SIGINT. ``hostile.act`` runs in-process;
``hostile.isolated`` declares that it needs a hard time limit. ``hostile.waits`` is ``async def``:
``wait S`` awaits S seconds, ``block S`` holds its event loop with S seconds of sync work.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import time

from grpo_rewards import Sample, hookimpl, reward


def act(sample: Sample) -> float:
    command = sample.completion
    if command == "system_exit":
        raise SystemExit(0)
    if command == "keyboard_interrupt":
        raise KeyboardInterrupt
    if command == "base_exception":
        raise BaseException("not an Exception")
    if command == "os_exit":
        os._exit(3)
    if command == "segfault":
        ctypes.string_at(0)
    if command == "fork":
        child = os.fork()  # both processes return here; only one may go on
        if child and os.environ.get("HOSTILE_FORK_PIDS"):
            with open(os.environ["HOSTILE_FORK_PIDS"], "a") as record:
                record.write(f"{child}\n")
        return 0.5
    if command.startswith("ignore_alarm"):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        time.sleep(30)
    if command == "real_ctrl_c":
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    return float(len(command))


@reward("hostile.act", description="does what the completion says, in-process", timeout=2.0)
def inline(sample: Sample) -> float:
    return act(sample)


@reward("hostile.isolated", description="does what the completion says, hard-limited", timeout=2.0, isolation="process")
def isolated(sample: Sample) -> float:
    return act(sample)


@reward("hostile.waits", description="async: awaits, or blocks its event loop", timeout=2.0, concurrency=64)
async def waits(sample: Sample) -> float:
    command, _, seconds = sample.completion.partition(" ")
    if command == "wait":
        await asyncio.sleep(float(seconds))
    elif command == "block":
        time.sleep(float(seconds))  # sync work in a coroutine: no time limit can cancel it
    return float(len(sample.completion))


@hookimpl
def register_rewards(register):
    register(inline)
    register(isolated)
    register(waits)
