"""Rewards for the runtime tests: module-level, so worker processes can import them."""

from __future__ import annotations

import asyncio
import ctypes
import os
import time

import httpx

from grpo_rewards import Sample

CALLS_FILE_ENV = "GRPO_TEST_CALLS_FILE"


def length(sample: Sample) -> float:
    return float(len(sample.completion))


def batch_hostile(samples: list[Sample]) -> list[float]:
    """Batched: 'c-call' runs one long C call (a huge exact power), 'exit' kills the process,
    'segv' crashes the interpreter; every other row scores its length."""
    for s in samples:
        if s.completion == "c-call":
            _ = 10 ** (10**8)  # one C call: no signal lands before it returns
        elif s.completion == "exit":
            os._exit(3)
        elif s.completion == "segv":
            ctypes.string_at(0)
    return [float(len(s.completion)) for s in samples]


def hostile_row(sample: Sample) -> float:
    """Per row: 'sysexit' raises SystemExit, 'base' a bare BaseException, 'spin' never returns."""
    if sample.completion == "sysexit":
        raise SystemExit(1)
    if sample.completion == "base":
        raise BaseException("not an Exception")
    if sample.completion == "spin":
        while True:
            pass
    if sample.completion == "nan":
        return float("nan")
    return float(len(sample.completion))


async def async_hostile_row(sample: Sample) -> float:
    """The same rows as :func:`hostile_row`, ``async def``: 'spin' awaits forever instead."""
    if sample.completion == "sysexit":
        raise SystemExit(1)
    if sample.completion == "base":
        raise BaseException("not an Exception")
    if sample.completion == "spin":
        await asyncio.sleep(3600)
    if sample.completion == "nan":
        return float("nan")
    await asyncio.sleep(0)
    return float(len(sample.completion))


def counted(sample: Sample) -> float:
    """Appends one line per call to the file named by $GRPO_TEST_CALLS_FILE (calls from any process)."""
    with open(os.environ[CALLS_FILE_ENV], "a") as f:
        f.write(sample.completion + "\n")
    return float(len(sample.completion))


_clients: dict[int, httpx.AsyncClient] = {}


async def fetch_score(sample: Sample, url: str) -> float:
    """Async HTTP reward: POSTs the completion to a loopback endpoint and reads its score, through
    one client per event loop (the runtime runs one loop per process)."""
    loop = id(asyncio.get_running_loop())
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64))
    response = await client.post(url, json={"completion": sample.completion})
    response.raise_for_status()
    return float(response.json()["score"])


async def blocks_the_loop(sample: Sample) -> float:
    time.sleep(0.3)  # sync work inside an async reward: every other row waits
    return 1.0


async def batch_async(samples: list[Sample]) -> list[float]:
    await asyncio.sleep(0.01)
    return [float(len(s.completion)) for s in samples]


def burn(sample: Sample, ms: float) -> float:
    """CPU-bound: spins for ``ms`` milliseconds of this process's CPU time, then scores the length."""
    end = time.process_time() + ms / 1000.0
    while time.process_time() < end:
        pass
    return float(len(sample.completion))
