"""``grpo-rewards serve-rewards CONFIG``: any reward set behind the reward-endpoint protocol.

Lets CPU-heavy rewards (symbolic math, a reward model) run on another machine than the trainer,
which then uses ``reward_model.remote``. Scoring goes through :func:`grpo_rewards.scoring.score_rows`,
so the same time limits and isolation apply as in-process (hard-limited rewards run in killable
worker processes, so one hostile completion cannot stall the server). Malformed requests get a 4xx
status with a JSON ``{"error": ...}`` that says what is wrong.

What one client can take is bounded:

- connections are served by a fixed pool of ``threads``; at most ``queue`` more wait, and the
  listen backlog matches (threads + queue). Past that a client gets ``503`` with ``Retry-After``
  at once (``reward_model.remote`` retries it), so memory and threads never grow with the load;
- each request has a total deadline for its request line and headers (``header_timeout``, which
  also ends an idle keep-alive connection) and another for its body (``body_timeout``): deadlines,
  not per-read timeouts, so a client trickling a byte every few seconds is cut off too;
- a body over ``max_body_bytes`` is answered ``413`` and then read and discarded (within the body
  deadline) before the connection closes, so the client reads the 413 instead of a broken pipe;
  columns no reward reads are dropped as soon as the request is decoded;
- with a token (``--token`` or ``GRPO_REWARDS_SERVE_TOKEN``) every request must carry
  ``Authorization: Bearer <token>`` (compared in constant time); without one, keep the server on
  loopback or a trusted network.

It is the standard library's HTTP server with those limits added rather than a WSGI server such as
waitress: waitress reads requests on an event loop, which is better against slow clients, but its
only read limit is an inactivity timeout (a byte every few seconds keeps a connection for ever),
and it has no way to answer 503 when busy; keeping the socketserver API also keeps the CLI's and
the tests' lifecycle unchanged.
"""

from __future__ import annotations

import hmac
import io
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import Row, score_rows

from .protocol import HEALTH_PATH, PROTOCOL_VERSION, SCORE_PATH, ProtocolError, ScoreRequest, decode_request, encode_response

DEFAULT_MAX_ROWS = 8192
DEFAULT_MAX_BODY_MB = 16
DEFAULT_THREADS = 4
DEFAULT_QUEUE = 16
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 60.0
TOKEN_ENV = "GRPO_REWARDS_SERVE_TOKEN"
RETRY_AFTER_SECONDS = 1
# A refused connection is read (and dropped) for a moment before it is closed: closing a socket
# the client is still writing to resets it, and the client sees a broken pipe instead of the 503.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
MAX_LINGERING = 32
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: %d\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
)


class _DeadlineReader(io.RawIOBase):
    """Socket reads that all end by one deadline (a per-read timeout lets a trickle go on for ever)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request took longer than this server allows")
            self.sock.settimeout(remaining)
        return self.sock.recv_into(buffer)


class RewardServer(ThreadingHTTPServer):
    """An HTTP server scoring requests with one reward set, within the limits of the module docstring."""

    daemon_threads = True

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
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        token: str | None = None,
    ) -> None:
        self.request_queue_size = threads + queue  # the listen backlog: what the pool and queue can take
        super().__init__(address, RewardRequestHandler)
        self.reward_set = reward_set
        self.max_rows = max_rows
        self.max_body_bytes = max_body_bytes
        self.verbose = verbose
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.token = token.encode("utf-8") if token else None
        self.rejected = 0  # connections answered 503 because the pool and queue were full
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="grpo-rewards-serve")
        self._slots = threading.BoundedSemaphore(threads + queue)
        self._lingering = threading.BoundedSemaphore(MAX_LINGERING)
        self._local = threading.local()
        self._needed = {c for cols in reward_set.required_columns().values() for c in cols}

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to the pool, or answer 503 at once when pool and queue are full."""
        if not self._slots.acquire(blocking=False):
            self.rejected += 1
            self._refuse(request)
            return
        self._pool.submit(self._serve_connection, request, client_address)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        body = json.dumps({"error": "the server is busy; retry shortly"}).encode()
        try:
            request.settimeout(1.0)
            request.sendall(_BUSY % (RETRY_AFTER_SECONDS, len(body), body))
            request.shutdown(socket.SHUT_WR)
        except OSError:
            request.close()
            return
        if self._lingering.acquire(blocking=False):  # bounded: past that, close at once
            threading.Thread(target=self._drain_then_close, args=(request,), daemon=True).start()
        else:
            request.close()

    def _drain_then_close(self, request: socket.socket) -> None:
        """Read what the client still sends (bounded in time and bytes), then close."""
        try:
            request.settimeout(0.2)
            deadline, received = time.monotonic() + LINGER_SECONDS, 0
            while time.monotonic() < deadline and received < LINGER_BYTES:
                try:
                    chunk = request.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            pass
        finally:
            request.close()
            self._lingering.release()

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def authorized(self, header: str | None) -> bool:
        if self.token is None:
            return True
        given = (header or "").encode("utf-8", "replace")
        return hmac.compare_digest(given, b"Bearer " + self.token)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up or stalled (it timed out and retried) is routine, not a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            if self.verbose:
                sys.stderr.write(f"{client_address[0]} - connection lost: {sys.exc_info()[1]}\n")
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{SCORE_PATH}"

    def _reward_set(self, reward: str | None) -> RewardSet:
        """A per-thread copy (built functions keep per-call stats, which threads must not share);
        the models themselves are cached per process and shared."""
        sets = getattr(self._local, "sets", None)
        if sets is None:
            sets = self._local.sets = {}
        if reward not in sets:
            entries = [r for r in self.reward_set.rewards if reward is None or r.name == reward]
            sets[reward] = RewardSet(entries, self.reward_set.source)
        return sets[reward]

    def health(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "source": self.reward_set.source,
            "rewards": self.reward_set.names,
            "weights": self.reward_set.weights,
            "columns": self.reward_set.required_columns(),
        }

    def score(self, request: ScoreRequest) -> bytes:
        if request.reward is not None and request.reward not in self.reward_set.names:
            raise ProtocolError(
                f"unknown reward {request.reward!r}; this server has {', '.join(map(repr, self.reward_set.names))}"
            )
        reward_set = self._reward_set(request.reward)
        problems = [
            f"reward {name!r} needs column(s) {', '.join(repr(c) for c in cols if c not in request.columns)}"
            for name, cols in reward_set.required_columns().items()
            if any(c not in request.columns for c in cols)
        ]
        if problems:
            sent = ", ".join(map(repr, request.columns)) or "none"
            raise ProtocolError("; ".join(problems) + f" (the request's columns: {sent})")
        columns = {name: values for name, values in request.columns.items() if name in self._needed}
        rows = [
            Row(completion, prompt, {name: values[i] for name, values in columns.items()})
            for i, (prompt, completion) in enumerate(zip(request.prompts, request.completions))
        ]
        result = score_rows(reward_set, rows)
        scores = result.values[request.reward] if request.reward is not None else result.total
        return encode_response(scores, result.values if request.per_reward else None)


class RewardRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client pools its connections
    server_version = "grpo-rewards-serve"
    timeout = None  # reads are bounded by the deadlines of _DeadlineReader; writes by the socket's
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    server: RewardServer

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        # One deadline for the request line and headers; it also ends an idle keep-alive connection.
        self._reader.deadline = time.monotonic() + self.server.header_timeout
        super().handle_one_request()

    def _check_token(self) -> bool:
        if self.server.authorized(self.headers.get("Authorization")):
            return True
        self.close_connection = True
        self._send(401, json.dumps({"error": "missing or wrong bearer token"}).encode(), extra={"WWW-Authenticate": "Bearer"})
        length = self.headers.get("Content-Length", "0")
        if length.isdigit():  # read what the client sends anyway, so it can read the 401
            self._reader.deadline = time.monotonic() + self.server.body_timeout
            self._discard(min(int(length), self.server.max_body_bytes))
        return False

    def do_GET(self) -> None:
        if not self._check_token():
            return
        path = urlsplit(self.path).path
        if path == HEALTH_PATH:
            self._send(200, json.dumps(self.server.health()).encode())
        elif path == SCORE_PATH:
            self._error(405, f"{SCORE_PATH} takes POST", allow="POST")
        else:
            self._error(404, f"no such path {path!r}; POST {SCORE_PATH} or GET {HEALTH_PATH}")

    def do_POST(self) -> None:
        if not self._check_token():
            return
        path = urlsplit(self.path).path
        if path != SCORE_PATH:
            if path == HEALTH_PATH:
                return self._error(405, f"{HEALTH_PATH} takes GET", allow="GET")
            return self._error(404, f"no such path {path!r}; POST {SCORE_PATH}")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            return self._error(411, "a Content-Length header is required (chunked bodies are not supported)")
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            return self._error(400, f"invalid Content-Length {length_header!r}")
        self._reader.deadline = time.monotonic() + self.server.body_timeout
        if length > self.server.max_body_bytes:
            self.close_connection = True  # the unread body must not be parsed as the next request
            self._error(413, f"request body of {length} bytes is over this server's limit of {self.server.max_body_bytes}")
            return self._discard(length)
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return
        try:
            payload = self.server.score(decode_request(body, self.server.max_rows))
        except ProtocolError as exc:
            return self._error(exc.status, str(exc))
        except Exception as exc:  # the rewards isolate their own failures; this is a server bug
            return self._error(500, f"scoring failed: {type(exc).__name__}: {exc}")
        self._send(200, payload)

    def _unsupported(self) -> None:
        self._error(405, f"method {self.command} is not supported; POST {SCORE_PATH} or GET {HEALTH_PATH}", allow="GET, POST")

    do_PUT = do_DELETE = do_PATCH = _unsupported

    def _discard(self, length: int) -> None:
        """Read and drop a refused body (within the body deadline), so that closing the connection
        does not reset it before the client has read our answer."""
        try:
            while length > 0:
                chunk = self.rfile.read1(min(length, 1 << 20))
                if not chunk:
                    return
                length -= len(chunk)
        except OSError:  # the deadline passed or the client left: nothing more to do
            pass

    def _error(self, status: int, message: str, allow: str | None = None) -> None:
        self._send(status, json.dumps({"error": message}).encode(), allow=allow)

    def _send(self, status: int, body: bytes, allow: str | None = None, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", allow)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def make_server(reward_set: RewardSet, host: str = "127.0.0.1", port: int = 0, **options: Any) -> RewardServer:
    """A bound server (port 0: any free port; see ``.url``); call ``serve_forever()`` to run it."""
    return RewardServer((host, port), reward_set, **options)


@click.command("serve-rewards")
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 exposes it: set a --token)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@click.option(
    "--max-rows", type=click.IntRange(1), default=DEFAULT_MAX_ROWS, show_default=True, help="Most rows one request may carry."
)
@click.option(
    "--max-body-mb", type=click.IntRange(1), default=DEFAULT_MAX_BODY_MB, show_default=True, help="Largest request body, in MiB."
)
@click.option(
    "--threads", type=click.IntRange(1, 256), default=DEFAULT_THREADS, show_default=True, help="Connections served at once."
)
@click.option(
    "--queue",
    type=click.IntRange(0, 4096),
    default=DEFAULT_QUEUE,
    show_default=True,
    help="Connections that may wait for a thread; beyond that, 503 with Retry-After.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    help="Seconds a client has to send a request's line and headers (also the keep-alive idle limit).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    help="Seconds a client has to send a request's body.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    default=None,
    show_envvar=True,
    help="Require 'Authorization: Bearer TOKEN' on every request (reward_model.remote: api_key_env).",
)
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve_rewards(
    config: Path,
    host: str,
    port: int,
    max_rows: int,
    max_body_mb: int,
    threads: int,
    queue: int,
    header_timeout: float,
    body_timeout: float,
    token: str | None,
    verbose: bool,
) -> None:
    """Serve the reward set in CONFIG over HTTP (POST /score, GET /health) for `reward_model.remote`."""
    from grpo_rewards.terminal import console, fail, load_reward_set_or_fail

    reward_set = load_reward_set_or_fail(config)
    try:
        server = make_server(
            reward_set,
            host,
            port,
            max_rows=max_rows,
            max_body_bytes=max_body_mb * 1024 * 1024,
            verbose=verbose,
            threads=threads,
            queue=queue,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            token=token,
        )
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    console.print(
        f"serving {len(reward_set.rewards)} reward(s) ({', '.join(reward_set.names)}) from {config}: "
        f"POST {server.url}, GET {server.url.removesuffix(SCORE_PATH)}{HEALTH_PATH}; Ctrl+C stops",
        highlight=False,
        soft_wrap=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
