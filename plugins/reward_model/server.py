"""``serve-rewards``: any reward set behind the reward-endpoint protocol, on uvicorn and Starlette.

Lets CPU-heavy rewards (symbolic math, a reward model) and rewards that wait (a judge, a sandbox)
run on another machine than the trainer, which then uses ``reward_model.remote`` (or OpenRLHF's
``--remote_rm_url``: :mod:`.openrlhf`). Scoring goes through the runtime's Scorer, so the same time
limits and isolation apply as in-process: hard-limited rewards run in killable worker processes,
``async def`` rewards are awaited on an event loop without holding a thread, sync ones run in
``threads`` threads off the server's loop. Malformed requests get a 4xx status with a JSON
``{"error": ...}`` that says what is wrong; a 500 is a bug of ours.

The layers, each with one job (what enforces which limit is listed in docs/reward_models.md):

- uvicorn, its httptools protocol and asyncio: connections on one event loop (a slow client holds
  no thread), HTTP/1.1 parsing, keep-alive, ``Expect: 100-continue``, flow control;
- :mod:`.gate`, wrapped around uvicorn's protocol: the connection cap (503 with Retry-After), the
  header deadline from accept, the 64 KiB head bound (431), strict framing (:mod:`.wire`), one
  request at a time, gentle closes;
- :mod:`.app`, the Starlette app: the token before the body, 411/413/415, admission (``threads``
  scoring, ``queue`` waiting, else 503 with Retry-After), the body and request deadlines, scoring.

:class:`RewardServer` keeps the socketserver-like lifecycle the CLI, tests and benchmarks use:
bound at construction (``server_address``, ``url``), ``serve_forever()`` in any thread,
``shutdown()`` from another, ``server_close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn

from grpo_rewards.rewardset import RewardSet

from .app import Service
from .gate import Gate, Shared
from .limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_BODY_MB,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_ROWS,
    DEFAULT_QUEUE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_THREADS,
    Limits,
)
from .openrlhf import Mapping
from .protocol import SCORE_PATH

SHUTDOWN_GRACE = 1  # seconds shutdown() lets answers in flight finish


class RewardServer:
    """An HTTP server scoring requests with one reward set, within the limits of :mod:`.limits`."""

    def __init__(
        self,
        address: tuple[str, int],
        reward_set: RewardSet,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_body_bytes: int = DEFAULT_MAX_BODY_MB * 1024 * 1024,
        verbose: bool = False,
        threads: int = DEFAULT_THREADS,
        queue: int = DEFAULT_QUEUE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        token: str | None = None,
        openrlhf: Mapping | None = None,
    ) -> None:
        self.limits = Limits(
            max_rows, max_body_bytes, threads, queue, max_connections, header_timeout, body_timeout, request_timeout
        )
        self.reward_set = reward_set
        self.request_queue_size = max_connections  # the listen backlog: what the gate will take anyway
        self.socket = socket.create_server(address, backlog=max_connections)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self.shared = Shared(self.limits, token)
        self.service = Service(reward_set, self.limits, self.shared, verbose, openrlhf)
        gate = type("RewardGate", (Gate,), {"shared": self.shared})  # uvicorn builds one per connection
        self.config = uvicorn.Config(
            self.service.app,
            http=gate,
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,  # leave the host program's logging alone
            log_level="info" if verbose else "error",
            access_log=False,  # the app logs requests itself with --verbose
            proxy_headers=False,  # X-Forwarded-For must not change who a connection is
            server_header=False,
            backlog=max_connections,
            timeout_keep_alive=int(header_timeout) + 1,  # the gate's header deadline closes idle connections first
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
        )
        self._uvicorn = uvicorn.Server(self.config)
        self._threads = ThreadPoolExecutor(2 * threads, thread_name_prefix="grpo-rewards-score")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = threading.Event()
        self._stopped.set()  # not serving
        self._lock = threading.Lock()

    # ---- what tests, benchmarks and the CLI read ---------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}{SCORE_PATH}"

    @property
    def header_timeout(self) -> float:
        return self.limits.header_timeout

    @property
    def rejected(self) -> int:
        """Connections answered 503 at once because ``max_connections`` were open."""
        return self.shared.rejected

    @property
    def unfinished(self) -> int:
        """Rows answered null because their request's deadline passed."""
        return self.service.unfinished

    # ---- lifecycle ----------------------------------------------------------------------------------
    def serve_forever(self, poll_interval: float = 0.5) -> None:  # noqa: ARG002 (socketserver's signature)
        """Serve until :meth:`shutdown` (or Ctrl+C, in the main thread)."""
        with self._lock:
            if self._uvicorn.should_exit:  # shut down before it started
                return
            loop = self._loop = asyncio.new_event_loop()
            self._stopped.clear()
        loop.set_default_executor(self._threads)  # sync rewards and body decoding run here, off the loop
        try:
            loop.run_until_complete(self._uvicorn.serve(sockets=[self.socket]))
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            for gate in list(self.shared.table.values()):
                gate.abort()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait for it (answers in flight get SHUTDOWN_GRACE seconds)."""
        with self._lock:
            self._uvicorn.should_exit = True
            self.shared.stopping = True  # connections closed from now on are not kept to linger
            loop = self._loop
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(self._drop_lingering)
        self._stopped.wait(SHUTDOWN_GRACE + 10)

    def _drop_lingering(self) -> None:
        for gate in list(self.shared.table.values()):
            if gate.closing:
                gate.abort()

    def server_close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.close()
        self._threads.shutdown(wait=False, cancel_futures=True)


def make_server(reward_set: RewardSet, host: str = "127.0.0.1", port: int = 0, **options: Any) -> RewardServer:
    """A bound server (port 0: any free port; see ``.url``); call ``serve_forever()`` to run it."""
    return RewardServer((host, port), reward_set, **options)
