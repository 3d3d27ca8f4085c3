"""What one ``serve-rewards`` client may hold, and for how long: the server's limits in one place.

Light on purpose (no server library imported), so that the CLI can show the defaults and refuse a
missing ``[serve]`` extra with a clear line instead of an import error.
"""

from __future__ import annotations

from dataclasses import dataclass

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
MAX_HEADER_BYTES = 64 * 1024  # the request line and headers together
# A refused connection is read (and dropped) for a moment before it is closed: closing a socket
# the client is still writing to resets it, and the client sees a broken pipe instead of the answer.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
MAX_LINGERING = 32
INSTALL_HINT = "serve-rewards needs the [serve] extra: pip install 'grpo-rewards[serve]' (uvicorn, httptools, starlette)"


@dataclass(frozen=True)
class Limits:
    """Every limit of one server; the deadlines are counted from a request's start (its connection's
    accept, or the end of the previous answer on a keep-alive connection)."""

    max_rows: int = DEFAULT_MAX_ROWS
    max_body_bytes: int = DEFAULT_MAX_BODY_MB * 1024 * 1024
    threads: int = DEFAULT_THREADS  # requests read and scored at once
    queue: int = DEFAULT_QUEUE  # requests waiting for a scoring place, bodies unread
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    @property
    def body_deadline(self) -> float:
        """Seconds from a request's start by which its body must have arrived."""
        return min(self.body_timeout, self.request_timeout)
