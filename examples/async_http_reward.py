"""An ``async def`` reward that asks an HTTP endpoint for a score: the pattern a judge uses.

Load it from a reward set (``plugins = ["async_http_reward.py"]``, see
``examples/async-http-reward.toml``); it needs ``httpx`` (``pip install httpx``).

- **one shared client** per event loop: connections are pooled and reused, never one per row
  (the runtime runs every async reward on one loop per process);
- **bounded concurrency**: ``concurrency=32`` in the declaration is how many rows are in flight
  at once; the client's connection limit matches it;
- **retries with back-off** on 429 and 5xx, within the reward's time limit (``timeout``): when the
  limit passes, the runtime cancels the coroutine and the row is a counted timeout;
- **a failure is an exception, never a made-up 0**: the runtime turns it into a counted None.
"""

from __future__ import annotations

import asyncio
import random

import httpx

from grpo_rewards import Param, Sample, hookimpl, reward

_clients: dict[int, httpx.AsyncClient] = {}
RETRY_STATUSES = {429, 500, 502, 503, 504}


def client() -> httpx.AsyncClient:
    """This event loop's client (created on first use)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _clients:
        _clients[loop] = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0), limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )
    return _clients[loop]


@reward(
    "example.http_score",
    description="The score an HTTP endpoint gives the completion (POST {prompt, completion} -> {score}).",
    params=[
        Param("url", str, "http://127.0.0.1:8000/score", "the endpoint"),
        Param("retries", int, 3, "retries on 429 and 5xx answers", min=0),
    ],
    timeout=30.0,
    concurrency=32,
    kind="other",
)
async def http_score(sample: Sample, url: str, retries: int) -> float:
    for attempt in range(retries + 1):
        response = await client().post(url, json={"prompt": sample.prompt, "completion": sample.completion})
        if response.status_code not in RETRY_STATUSES or attempt == retries:
            break
        await asyncio.sleep(min(4.0, 0.25 * 2**attempt) * (0.5 + random.random()))  # back-off with jitter
    response.raise_for_status()
    return float(response.json()["score"])


@hookimpl
def register_rewards(register):
    register(http_score)
