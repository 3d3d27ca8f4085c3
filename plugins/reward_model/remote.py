"""``reward_model.remote``: score completions on an HTTP reward endpoint (see :mod:`.protocol`).

Rows are sent in batches of ``batch_size``, at most ``max_concurrency`` requests in flight, over a
pooled keep-alive connection (urllib3, one pool per process). A request that fails in transit
(refused or dropped connection, read timeout, HTTP 429/5xx) is retried with exponential backoff.
Rows whose batch still fails come back as per-row errors, which the framework turns into counted
Nones with the first error's message: an endpoint that is down costs the reward its score for
those rows, never the training run. The whole call is bounded by ``total_timeout``: requests still
running then are abandoned on daemon threads, which end on their own socket timeouts and never
hold up the process's exit (a ThreadPoolExecutor would join them at exit).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from grpo_rewards import Param, Sample, Scored, reward

from .protocol import ProtocolError, decode_response, encode_request

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MAX_BACKOFF_SECONDS = 10.0


class RemoteError(RuntimeError):
    """A batch the endpoint did not score: its rows get this as their (counted) failure."""


_pools: dict[tuple[int, int], Any] = {}
_pools_lock = threading.Lock()


def connection_pool(max_concurrency: int) -> Any:
    """A process-wide urllib3 PoolManager (a fresh one after fork: sockets are not shared)."""
    import urllib3

    key = (os.getpid(), max_concurrency)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = urllib3.PoolManager(num_pools=16, maxsize=max_concurrency, block=False)
    return pool


def post_batch(
    pool: Any,
    url: str,
    body: bytes,
    rows: int,
    headers: dict[str, str],
    request_timeout: float,
    retries: int,
    backoff: float,
) -> list[float | None | ProtocolError]:
    """POST one batch with retries; its scores (a failure in place of each row the server did not
    score in time), or RemoteError saying why not."""
    import urllib3

    retry = urllib3.Retry(
        total=retries,
        redirect=0,
        allowed_methods=None,  # POST too: scoring is idempotent by the protocol
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_max=MAX_BACKOFF_SECONDS,
        respect_retry_after_header=False,  # a long Retry-After must not outlast total_timeout
        raise_on_status=False,
    )
    timeout = urllib3.Timeout(connect=request_timeout, read=request_timeout)
    try:
        response = pool.request("POST", url, body=body, headers=headers, timeout=timeout, retries=retry, preload_content=False)
    except urllib3.exceptions.MaxRetryError as exc:
        raise RemoteError(f"POST {url} failed after {retries} retries: {exc.reason}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise RemoteError(f"POST {url} failed: {type(exc).__name__}: {exc}") from None
    try:
        data = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib3.exceptions.HTTPError as exc:
        raise RemoteError(f"POST {url}: reading the response failed: {type(exc).__name__}: {exc}") from None
    finally:
        response.release_conn()
    if len(data) > MAX_RESPONSE_BYTES:
        raise RemoteError(f"POST {url}: response larger than {MAX_RESPONSE_BYTES} bytes")
    if response.status != 200:
        excerpt = data[:200].decode("utf-8", "replace")
        raise RemoteError(f"POST {url} answered HTTP {response.status}: {excerpt}")
    try:
        return decode_response(data, rows)
    except ProtocolError as exc:
        raise RemoteError(f"POST {url}: {exc}") from None


def request_headers(api_key_env: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key_env:
        token = os.environ.get(api_key_env)
        if not token:
            raise ValueError(f"api_key_env names ${api_key_env}, which is not set")
        headers["Authorization"] = f"Bearer {token}"
    return headers


def wire_value(raw: Any, text: str) -> Any:
    """What to send for a prompt or completion: chat message lists as they are, else the text."""
    if isinstance(raw, list) and raw and all(isinstance(m, dict) and "role" in m for m in raw):
        return raw
    return text


@reward(
    "reward_model.remote",
    kind="other",
    description=(
        "Scores from an HTTP reward endpoint (`grpo-rewards serve-rewards`, or any server speaking "
        "the same JSON protocol): batched POSTs of prompts, completions and the named columns over "
        "pooled connections, with a concurrency limit, timeouts and retries with backoff. Rows whose "
        "batch fails after the retries are counted errors (None); the call never raises and never "
        "outlasts total_timeout. Async under TRL."
    ),
    params=[
        Param("url", str, "http://127.0.0.1:8000/score", "the endpoint's scoring URL"),
        Param("columns", list, [], "dataset columns to send with each row (e.g. ['answer'])", column=True),
        Param("reward", str, None, "ask for one named reward of the server's set instead of its weighted total", nullable=True),
        Param("batch_size", int, 64, "rows per request", min=1),
        Param("max_concurrency", int, 4, "requests in flight at once", min=1, max=64),
        Param("request_timeout", float, 30.0, "seconds to connect, and to wait for each read, per attempt", min=0.001),
        Param("retries", int, 2, "retries of a request that failed in transit (connection, timeout, 429/5xx)", min=0, max=20),
        Param(
            "backoff",
            float,
            0.5,
            f"backoff factor: waits of backoff * 2**(n-1) seconds between retries (capped at {MAX_BACKOFF_SECONDS:g}s)",
            min=0.0,
        ),
        Param("total_timeout", float, 120.0, "bound on one whole call; rows not scored by then are None", min=0.001),
        Param("api_key_env", str, None, "environment variable holding a bearer token to send", nullable=True),
    ],
    batched=True,
    concurrent=True,
    timeout=None,  # bounded by total_timeout itself
)
def remote_reward(
    samples: list[Sample],
    url: str,
    columns: list[str],
    reward: str | None,
    batch_size: int,
    max_concurrency: int,
    request_timeout: float,
    retries: int,
    backoff: float,
    total_timeout: float,
    api_key_env: str | None,
) -> list[Scored | Exception]:
    deadline = time.monotonic() + total_timeout
    headers = request_headers(api_key_env)
    if not samples:
        return []
    pool = connection_pool(max_concurrency)
    batches = [samples[i : i + batch_size] for i in range(0, len(samples), batch_size)]
    tasks = [
        (
            lambda body=_body(batch, columns, reward), rows=len(batch): post_batch(
                pool, url, body, rows, headers, min(request_timeout, total_timeout), retries, backoff
            )
        )
        for batch in batches
    ]
    outcomes = run_bounded(tasks, max_concurrency, deadline)
    results: list[Scored | Exception] = []
    for number, (batch, outcome) in enumerate(zip(batches, outcomes)):
        if outcome is _PENDING:
            outcome = RemoteError(f"POST {url}: no answer within total_timeout={total_timeout:g}s")
        if isinstance(outcome, Exception):
            results.extend([outcome] * len(batch))
            continue
        details = {"endpoint": shown_url(url), "asked_for": reward or "the server's weighted total", "request": number + 1}
        results.extend(value if isinstance(value, Exception) else Scored(value, details) for value in outcome)
    return results


def shown_url(url: str) -> str:
    """The endpoint as explain shows it: scheme, host and path, never a user, password or query
    (where a token could sit)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


_PENDING = object()


def run_bounded(tasks: list[Callable[[], Any]], workers: int, deadline: float) -> list[Any]:
    """Run ``tasks`` on at most ``workers`` daemon threads until ``deadline`` (time.monotonic).

    Returns each task's result or exception by index, ``_PENDING`` for those not finished in time
    (no task starts after the deadline).
    """
    results: list[Any] = [_PENDING] * len(tasks)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(tasks)):
        todo.put(index)
    finished = threading.Semaphore(0)

    def work() -> None:
        while time.monotonic() < deadline:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = tasks[index]()
            except Exception as exc:
                results[index] = exc
            finished.release()

    for _ in range(min(workers, len(tasks))):
        threading.Thread(target=work, name="grpo-remote", daemon=True).start()
    for _ in tasks:
        if not finished.acquire(timeout=max(0.0, deadline - time.monotonic())):
            break
    return list(results)


def _body(batch: Sequence[Sample], columns: list[str], reward: str | None) -> bytes:
    return encode_request(
        [wire_value(s.raw_prompt, s.prompt) for s in batch],
        [wire_value(s.raw_completion, s.completion) for s in batch],
        {name: [s.columns.get(name) for s in batch] for name in columns},
        reward,
    )
