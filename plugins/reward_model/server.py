"""``grpo-rewards serve-rewards CONFIG``: any reward set behind the reward-endpoint protocol.

Lets CPU-heavy rewards (symbolic math, a reward model) run on another machine than the trainer,
which then uses ``reward_model.remote``. A small stdlib server: one thread per connection,
keep-alive, scoring with :func:`grpo_rewards.scoring.score_rows` (so the same time limits and
error isolation apply as in-process). Malformed requests get a 4xx status with a JSON
``{"error": ...}`` that says what is wrong. There is no authentication: keep it on loopback or a
trusted network.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import Row, score_rows

from .protocol import HEALTH_PATH, PROTOCOL_VERSION, SCORE_PATH, ProtocolError, ScoreRequest, decode_request, encode_response

DEFAULT_MAX_ROWS = 8192
DEFAULT_MAX_BODY_MB = 64


class RewardServer(ThreadingHTTPServer):
    """An HTTP server scoring requests with one reward set."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], reward_set: RewardSet, *, max_rows: int = DEFAULT_MAX_ROWS,
        max_body_bytes: int = DEFAULT_MAX_BODY_MB * 1024 * 1024, verbose: bool = False,
    ) -> None:
        super().__init__(address, RewardRequestHandler)
        self.reward_set = reward_set
        self.max_rows = max_rows
        self.max_body_bytes = max_body_bytes
        self.verbose = verbose
        self._local = threading.local()

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
            raise ProtocolError(f"unknown reward {request.reward!r}; this server has "
                                f"{', '.join(map(repr, self.reward_set.names))}")
        reward_set = self._reward_set(request.reward)
        problems = [
            f"reward {name!r} needs column(s) {', '.join(repr(c) for c in cols if c not in request.columns)}"
            for name, cols in reward_set.required_columns().items()
            if any(c not in request.columns for c in cols)
        ]
        if problems:
            sent = ", ".join(map(repr, request.columns)) or "none"
            raise ProtocolError("; ".join(problems) + f" (the request's columns: {sent})")
        rows = [
            Row(completion, prompt, {name: values[i] for name, values in request.columns.items()})
            for i, (prompt, completion) in enumerate(zip(request.prompts, request.completions))
        ]
        result = score_rows(reward_set, rows)
        scores = result.values[request.reward] if request.reward is not None else result.total
        return encode_response(scores, result.values if request.per_reward else None)


class RewardRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client pools its connections
    server_version = "grpo-rewards-serve"
    timeout = 60  # a client that stalls mid-request cannot hold a thread forever
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    server: RewardServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == HEALTH_PATH:
            self._send(200, json.dumps(self.server.health()).encode())
        elif path == SCORE_PATH:
            self._error(405, f"{SCORE_PATH} takes POST", allow="POST")
        else:
            self._error(404, f"no such path {path!r}; POST {SCORE_PATH} or GET {HEALTH_PATH}")

    def do_POST(self) -> None:
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
        if length > self.server.max_body_bytes:
            self.close_connection = True  # the unread body must not be parsed as the next request
            return self._error(413, f"request body of {length} bytes is over this server's limit of "
                                    f"{self.server.max_body_bytes}")
        body = self.rfile.read(length)
        try:
            payload = self.server.score(decode_request(body, self.server.max_rows))
        except ProtocolError as exc:
            return self._error(exc.status, str(exc))
        except Exception as exc:  # the rewards isolate their own failures; this is a server bug
            return self._error(500, f"scoring failed: {type(exc).__name__}: {exc}")
        self._send(200, payload)

    def _unsupported(self) -> None:
        self._error(405, f"method {self.command} is not supported; POST {SCORE_PATH} or GET {HEALTH_PATH}",
                    allow="GET, POST")

    do_PUT = do_DELETE = do_PATCH = _unsupported

    def _error(self, status: int, message: str, allow: str | None = None) -> None:
        self._send(status, json.dumps({"error": message}).encode(), allow=allow)

    def _send(self, status: int, body: bytes, allow: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", allow)
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
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 exposes it; there is no authentication).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@click.option("--max-rows", type=click.IntRange(1), default=DEFAULT_MAX_ROWS, show_default=True,
              help="Most rows one request may carry.")
@click.option("--max-body-mb", type=click.IntRange(1), default=DEFAULT_MAX_BODY_MB, show_default=True,
              help="Largest request body, in MiB.")
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve_rewards(config: Path, host: str, port: int, max_rows: int, max_body_mb: int, verbose: bool) -> None:
    """Serve the reward set in CONFIG over HTTP (POST /score, GET /health) for `reward_model.remote`."""
    from grpo_rewards.terminal import console, fail, load_reward_set_or_fail

    reward_set = load_reward_set_or_fail(config)
    try:
        server = make_server(reward_set, host, port, max_rows=max_rows, max_body_bytes=max_body_mb * 1024 * 1024,
                             verbose=verbose)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    console.print(f"serving {len(reward_set.rewards)} reward(s) ({', '.join(reward_set.names)}) from {config}: "
                  f"POST {server.url}, GET {server.url.removesuffix(SCORE_PATH)}{HEALTH_PATH}; Ctrl+C stops",
                  highlight=False, soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
