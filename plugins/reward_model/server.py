"""``grpo-rewards serve-rewards CONFIG``: any reward set behind the reward-endpoint protocol.

Lets CPU-heavy rewards (symbolic math, a reward model) run on another machine than the trainer,
which then uses ``reward_model.remote``. Scoring goes through :func:`grpo_rewards.scoring.score_rows`,
so the same time limits and isolation apply as in-process (hard-limited rewards run in killable
worker processes, so one hostile completion cannot stall the server). Malformed requests get a 4xx
status with a JSON ``{"error": ...}`` that says what is wrong; a 500 is a bug of ours.

What one client can take is bounded, and clients without the token take almost nothing:

- every connection has a thread of its own, up to ``max_connections``; past that a client gets
  ``503`` with ``Retry-After`` at once (``reward_model.remote`` retries it). Reading a request's
  line and headers never waits for scoring, so ``GET /health`` is answered while every scoring
  thread is busy and while slow clients hold connections;
- deadlines, not per-read timeouts (a client trickling a byte every few seconds is cut off too),
  all counted from the request's start (its connection's accept, or the end of the previous answer
  on a keep-alive connection): ``header_timeout`` for the request line and headers (also the
  keep-alive idle limit), ``body_timeout`` for the body, ``request_timeout`` for everything,
  scoring included. Rows not scored by the request deadline are null and counted in the answer's
  ``"unfinished"``: the client gets what was scored in time, and a scoring thread stops at its next
  chunk of rows;
- the request line and headers may take at most 64 KiB; the body's framing is read strictly
  (:mod:`.wire`: ``Content-Length`` and ``Transfer-Encoding`` together, two lengths, a length that
  is not digits, or any transfer coding are refused and the connection closed), and a request
  whose body is not read (a refusal, a wrong path) closes its connection, so that a body is never
  read as the next request;
- with a token (``--token`` or ``GRPO_REWARDS_SERVE_TOKEN``) every request must carry one
  ``Authorization: Bearer <token>`` (compared in constant time); it is checked from the headers, and
  a ``401`` closes the connection with the body unread (``Expect: 100-continue`` gets its ``100``
  only once the request is accepted). Without a token, keep the server on loopback or a trusted
  network;
- ``threads`` requests are read and scored at once and ``queue`` more wait for one, their bodies
  not yet read (so memory is bounded by ``threads`` bodies); past that, or when the wait reaches the
  request deadline, ``503`` with ``Retry-After``;
- a body over ``max_body_bytes`` is answered ``413`` and then read and discarded (within the body
  deadline) before the connection closes, so the client reads the 413 instead of a broken pipe;
  bodies are parsed strictly (:func:`.protocol.parse_body`); columns no reward reads are dropped as
  soon as the request is decoded.

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
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import Row, score_rows

from .protocol import HEALTH_PATH, PROTOCOL_VERSION, SCORE_PATH, ProtocolError, ScoreRequest, decode_request, encode_response
from .wire import DeadlineReader, FramingError, HeadersTooLarge, body_length, check_headers

DEFAULT_MAX_ROWS = 8192
DEFAULT_MAX_BODY_MB = 16
DEFAULT_THREADS = 4
DEFAULT_QUEUE = 16
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 20.0
DEFAULT_REQUEST_TIMEOUT = 25.0  # under reward_model.remote's request_timeout (30 s): it reads what was scored
TOKEN_ENV = "GRPO_REWARDS_SERVE_TOKEN"
RETRY_AFTER_SECONDS = 1
MAX_HEADER_BYTES = 64 * 1024
FIRST_CHUNK_ROWS, MAX_CHUNK_ROWS = 1, 64  # rows scored between two looks at the request deadline
JSON_TYPES = ("application/json", "text/json")
# A refused connection is read (and dropped) for a moment before it is closed: closing a socket
# the client is still writing to resets it, and the client sees a broken pipe instead of the answer.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
MAX_LINGERING = 32
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: %d\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
)


@dataclass
class ScoringJob:
    """One request's rows, scored chunk by chunk until done or until its deadline."""

    rows: list[Row]
    reward: str | None
    deadline: float  # time.monotonic()
    values: dict[str, list[float | None]] = field(default_factory=dict)
    totals: list[float | None] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, values: dict[str, list[float | None]], totals: list[float | None]) -> None:
        with self.lock:
            for name, chunk in values.items():
                self.values.setdefault(name, []).extend(chunk)
            self.totals.extend(totals)

    def snapshot(self, names: list[str]) -> tuple[dict[str, list[float | None]], list[float | None], int]:
        """Values and totals so far, null for the rows not scored, and how many those are."""
        with self.lock:
            missing = len(self.rows) - len(self.totals)
            values = {n: self.values.get(n, []) + [None] * missing for n in names}
            return values, self.totals + [None] * missing, missing


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
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        token: str | None = None,
    ) -> None:
        self.request_queue_size = max_connections  # the listen backlog: what the connection threads can take
        super().__init__(address, RewardRequestHandler)
        self.reward_set = reward_set
        self.max_rows = max_rows
        self.max_body_bytes = max_body_bytes
        self.verbose = verbose
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.request_timeout = request_timeout
        self.token = token.encode("utf-8") if token else None
        self.rejected = 0  # connections answered 503 because every connection thread was taken
        self.unfinished = 0  # rows answered null because their request's deadline passed
        self._count_lock = threading.Lock()
        self._connections = threading.BoundedSemaphore(max_connections)
        self._connection_pool = ThreadPoolExecutor(max_connections, thread_name_prefix="grpo-rewards-conn")
        self._waiting = threading.BoundedSemaphore(queue)  # requests waiting for a scoring place
        self._working = threading.BoundedSemaphore(threads)  # requests read and scored now
        self._scorers = ThreadPoolExecutor(threads, thread_name_prefix="grpo-rewards-score")
        self._lingering = threading.BoundedSemaphore(MAX_LINGERING)
        self._local = threading.local()
        self._needed = {c for cols in reward_set.required_columns().values() for c in cols}

    # ---- connections ------------------------------------------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        """Give the connection a thread, or answer 503 at once when every one is taken."""
        accepted = time.monotonic()
        if not self._connections.acquire(blocking=False):
            self.rejected += 1
            self._refuse(request)
            return
        self._connection_pool.submit(self._serve_connection, request, client_address, accepted)

    def _serve_connection(self, request: Any, client_address: Any, accepted: float) -> None:
        linger = False
        try:
            linger = RewardRequestHandler(request, client_address, self, accepted=accepted).linger
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self._connections.release()
            if linger:
                self.close_gently(request)
            else:
                self.shutdown_request(request)

    def _refuse(self, request: socket.socket) -> None:
        body = json.dumps({"error": "the server is busy; retry shortly"}).encode()
        try:
            request.settimeout(1.0)
            request.sendall(_BUSY % (RETRY_AFTER_SECONDS, len(body), body))
        except OSError:
            request.close()
            return
        self.close_gently(request)

    def close_gently(self, request: socket.socket) -> None:
        """Close a connection whose client may still be sending: read and drop what comes for a
        moment first (bounded in time, bytes and lingering connections), else the close resets it."""
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            request.close()
            return
        if self._lingering.acquire(blocking=False):  # bounded: past that, close at once
            threading.Thread(target=self._drain_then_close, args=(request,), daemon=True).start()
        else:
            request.close()

    def _drain_then_close(self, request: socket.socket) -> None:
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
        self._connection_pool.shutdown(wait=False, cancel_futures=True)
        self._scorers.shutdown(wait=False, cancel_futures=True)

    def authorized(self, values: list[str] | None) -> bool:
        """Exactly one Authorization header, carrying the token (a second one could be read by a
        proxy in front instead of ours)."""
        if self.token is None:
            return True
        if not values or len(values) != 1:
            return False
        return hmac.compare_digest(values[0].encode("utf-8", "replace"), b"Bearer " + self.token)

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

    # ---- scoring ------------------------------------------------------------------------------------
    def admit(self, deadline: float) -> bool:
        """Take a scoring place, or wait for one (in one of ``queue`` places) until ``deadline``; False: busy."""
        if self._working.acquire(blocking=False):
            return True
        if not self._waiting.acquire(blocking=False):
            return False
        try:
            return self._working.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            self._waiting.release()

    def give_back(self) -> None:
        """Give back the scoring place of an admitted request that never reached scoring."""
        self._working.release()

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

    def job(self, request: ScoreRequest, deadline: float) -> ScoringJob:
        """The rows of a decoded request, checked against the reward set (ProtocolError if wrong)."""
        if request.reward is not None and request.reward not in self.reward_set.names:
            raise ProtocolError(
                f"unknown reward {request.reward!r}; this server has {', '.join(map(repr, self.reward_set.names))}"
            )
        needs = {r.name: r.columns for r in self.reward_set.rewards if r.columns and request.reward in (None, r.name)}
        problems = [
            f"reward {name!r} needs column(s) {', '.join(repr(c) for c in cols if c not in request.columns)}"
            for name, cols in needs.items()
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
        return ScoringJob(rows, request.reward, deadline)

    def submit(self, job: ScoringJob) -> Future[None]:
        """Score ``job`` on a scoring thread; its scoring place is given back when it ends."""
        future = self._scorers.submit(self._run, job)
        future.add_done_callback(lambda _: self._working.release())
        return future

    def _run(self, job: ScoringJob) -> None:
        """Chunks of rows until all are scored, the deadline passes or the answer has gone; a chunk
        grows while it takes little of the time left and shrinks when it does not."""
        reward_set = self._reward_set(job.reward)
        done, size = 0, FIRST_CHUNK_ROWS
        while done < len(job.rows) and not job.stop.is_set() and time.monotonic() < job.deadline:
            start = time.monotonic()
            chunk = job.rows[done : done + size]
            job.add(*self._score_rows(reward_set, chunk))
            done += len(chunk)
            took, left = time.monotonic() - start, job.deadline - time.monotonic()
            size = min(MAX_CHUNK_ROWS, size * 2) if 4 * took < left else max(1, size // 2)

    @staticmethod
    def _score_rows(reward_set: RewardSet, rows: list[Row]) -> tuple[dict[str, list[float | None]], list[float | None]]:
        """The one place that scores: each reward's values and the weighted total, per row."""
        result = score_rows(reward_set, rows)
        return result.values, result.total

    def answer(self, job: ScoringJob, future: Future[None], per_reward: bool) -> bytes:
        """The response body at the latest by the job's deadline: what was scored, null for the rest."""
        try:
            future.result(timeout=max(0.0, job.deadline - time.monotonic()))
        except FutureTimeout:
            job.stop.set()
        names = [job.reward] if job.reward is not None else self.reward_set.names
        values, totals, missing = job.snapshot(names)
        with self._count_lock:
            self.unfinished += missing
        scores = values[job.reward] if job.reward is not None else totals
        return encode_response(scores, values if per_reward else None, unfinished=missing)


class RewardRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client pools its connections
    server_version = "grpo-rewards-serve"
    timeout = None  # reads are bounded by the deadlines of DeadlineReader; writes by the socket's
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    server: RewardServer

    def __init__(self, request: Any, client_address: Any, server: RewardServer, accepted: float | None = None) -> None:
        self.accepted = time.monotonic() if accepted is None else accepted
        self.linger = False  # close gently: the client may still be sending a body we did not read
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        self._reader = DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader, 65536)
        self._started = self.accepted

    def handle_one_request(self) -> None:
        """One request, its deadlines counted from its start: the accept, or the previous answer."""
        started = self._started
        self._reader.deadline = started + self.server.header_timeout
        self._reader.header_budget = MAX_HEADER_BYTES
        self.requestline, self.command, self.request_version = "", "", "HTTP/1.1"
        self._expect_continue = False
        try:
            self.raw_requestline = self.rfile.readline(MAX_HEADER_BYTES + 1)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # an error was answered
                return
            self._reader.header_budget = None
            if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
                self.close_connection = True
                return
            self._dispatch(started)
        except HeadersTooLarge as exc:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, str(exc))
        except TimeoutError:  # a deadline passed while reading: nothing more to say
            self.close_connection = True
        finally:
            self._started = time.monotonic()

    def handle_expect_100(self) -> bool:
        self._expect_continue = True  # answered only once the request is accepted (see _score)
        return True

    def _dispatch(self, started: float) -> None:
        try:
            check_headers(self.headers)  # first: a malformed line may have hidden the Authorization after it
        except FramingError as exc:
            return self._refuse(exc.status, str(exc))
        if not self.server.authorized(self.headers.get_all("Authorization")):
            return self._refuse(401, "missing or wrong bearer token", extra={"WWW-Authenticate": "Bearer"})
        try:
            length = body_length(self.headers)
        except FramingError as exc:
            return self._refuse(exc.status, str(exc))
        path = urlsplit(self.path).path
        if self.command == "POST" and path == SCORE_PATH:
            return self._score(length, started)
        if length:  # a body this request should not have, unread: it must not be read as the next request
            self.close_connection = self.linger = True
        if self.command == "GET" and path == HEALTH_PATH:
            if length:
                return self._error(400, f"GET {HEALTH_PATH} takes no body")
            return self._send(200, json.dumps(self.server.health()).encode())
        if path == SCORE_PATH:
            return self._error(405, f"{SCORE_PATH} takes POST", allow="POST")
        if path == HEALTH_PATH:
            return self._error(405, f"{HEALTH_PATH} takes GET", allow="GET")
        if self.command not in ("GET", "POST"):
            return self._error(
                405, f"method {self.command} is not supported; POST {SCORE_PATH} or GET {HEALTH_PATH}", allow="GET, POST"
            )
        return self._error(404, f"no such path {path!r}; POST {SCORE_PATH} or GET {HEALTH_PATH}")

    def _score(self, length: int | None, started: float) -> None:
        if length is None:
            return self._refuse(411, "a Content-Length header is required (chunked bodies are not supported)")
        body_deadline = started + min(self.server.body_timeout, self.server.request_timeout)
        if length > self.server.max_body_bytes:
            self.close_connection = True  # the unread body must not be parsed as the next request
            self._error(413, f"request body of {length} bytes is over this server's limit of {self.server.max_body_bytes}")
            self._reader.deadline = body_deadline
            return self._discard(length)
        problem = self._content_problem()
        if problem:
            return self._refuse(415, problem)
        deadline = started + self.server.request_timeout
        if not self.server.admit(deadline):
            return self._refuse(503, "the server is busy; retry shortly", extra={"Retry-After": str(RETRY_AFTER_SECONDS)})
        future = None
        try:
            if self._expect_continue:
                self.send_response_only(HTTPStatus.CONTINUE)
                self.end_headers()
            self._reader.deadline = body_deadline
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True
                return
            try:
                request = decode_request(body, self.server.max_rows)
                del body
                job = self.server.job(request, deadline)
            except ProtocolError as exc:
                return self._error(exc.status, str(exc))
            future = self.server.submit(job)
        finally:
            if future is None:
                self.server.give_back()
        try:
            payload = self.server.answer(job, future, request.per_reward)
        except Exception as exc:  # the rewards isolate their own failures; this is a server bug
            return self._error(500, f"scoring failed: {type(exc).__name__}: {exc}")
        self._send(200, payload)

    def _content_problem(self) -> str | None:
        """Why the body is not JSON we read, from its headers (a form or text/plain POST is also
        what a web page can send across origins without asking first)."""
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind and kind not in JSON_TYPES and not kind.endswith("+json"):
            return f"Content-Type {kind[:60]!r} is not JSON; send application/json"
        coding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if coding != "identity":
            return f"Content-Encoding {coding[:60]!r} is not supported; send the body as it is"
        return None

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

    def _refuse(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        """Answer and close, the body (if any) unread."""
        self.close_connection = self.linger = True
        self._send(status, json.dumps({"error": message}).encode(), extra=extra)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's errors (a bad request line, too many headers) as JSON, and close."""
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.1"
        self._refuse(int(code), explain or message or HTTPStatus(code).phrase)

    def _error(self, status: int, message: str, allow: str | None = None) -> None:
        self._send(status, json.dumps({"error": message}).encode(), allow=allow)

    def _send(self, status: int, body: bytes, allow: str | None = None, extra: dict[str, str] | None = None) -> None:
        self.connection.settimeout(self.server.header_timeout)  # a client that does not read its answer is dropped
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
        if self.command != "HEAD":
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
    "--threads", type=click.IntRange(1, 256), default=DEFAULT_THREADS, show_default=True, help="Requests scored at once."
)
@click.option(
    "--queue",
    type=click.IntRange(0, 4096),
    default=DEFAULT_QUEUE,
    show_default=True,
    help="Requests that may wait for a scoring thread (bodies unread); beyond that, 503 with Retry-After.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 4096),
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    help="Connections open at once (reading, waiting, idle keep-alive); beyond that, 503 with Retry-After.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    help="Seconds from a request's start (its connection's accept) to the end of its headers (also the keep-alive idle limit).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    help="Seconds from a request's start by which its body must have arrived.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_REQUEST_TIMEOUT,
    show_default=True,
    help="Seconds from a request's start to its answer, scoring included; rows not scored by then are null.",
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
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
    request_timeout: float,
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
            max_connections=max_connections,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            request_timeout=request_timeout,
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
