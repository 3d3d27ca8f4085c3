"""The connection gate: what ``serve-rewards`` enforces below its HTTP server, per connection.

uvicorn (with httptools) parses HTTP and runs the ASGI app, but it has no deadline for a request's
headers (its keep-alive timeout starts only after an answer, so a client trickling a header byte a
second keeps its connection for ever), no bound on their size under httptools, a plain-text 400 for
what it will not parse, and a concurrency limit that answers 503 without ``Retry-After``. So every
connection's bytes pass first through a :class:`Gate`, an asyncio protocol wrapped around uvicorn's
own (uvicorn accepts any protocol class as its ``http`` setting), which

- refuses a connection past ``max_connections`` at once: ``503`` with ``Retry-After``;
- collects each request line and headers by the header deadline (counted from the connection's
  accept, or from the previous answer on a keep-alive connection; the connection is dropped when it
  passes), at most 64 KiB of them (``431``);
- reads each head strictly (:func:`.wire.parse_head`: framing a proxy could read another way is a
  4xx), so uvicorn's parser only ever meets heads we accepted;
- with a token, refuses a head without exactly one ``Authorization: Bearer <token>`` (compared in
  constant time): ``401``, the connection closed with the body unread (and no ``100 Continue``);
- hands uvicorn one request at a time: its head, then ``Content-Length`` bytes of body; whatever the
  client sends after that waits until the answer has gone (held up to 64 KiB, reading paused past
  that), so a body is never read as a request and the next deadline starts from the answer;
- closes gently: a close (uvicorn's or its own) first ends the writing side, then reads and drops
  what the client still sends, bounded in time, bytes and lingering connections, so that the client
  reads its answer instead of a reset.

The ASGI app finds its connection's gate by the client address (:meth:`Shared.lookup`): when the
request started, :meth:`Gate.answered`, :meth:`Gate.abort` and :meth:`Gate.drain_body`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import socket
import time
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .limits import LINGER_BYTES, LINGER_SECONDS, MAX_HEADER_BYTES, MAX_LINGERING, RETRY_AFTER_SECONDS, Limits
from .wire import FramingError, parse_head

HEAD, BODY, WAIT, CLOSED = "head", "body", "wait", "closed"  # where a connection is in its current request
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})  # what reaches the app (404/405)
ALLOW = {"Allow": "GET, POST"}


def json_response(status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 answer with a JSON ``{"error": message}`` body that closes the connection."""
    body = json.dumps({"error": message}).encode()
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class Shared:
    """What the gates of one server share: its limits, the open and lingering counts, and the table
    by which the ASGI app finds a request's connection."""

    def __init__(self, limits: Limits, token: str | None = None) -> None:
        self.limits = limits
        self.token = token.encode("utf-8") if token else None
        self.stopping = False  # the server is shutting down: close at once, without lingering
        self.open = 0
        self.lingering = 0
        self.rejected = 0  # connections answered 503 because max_connections were open
        self.table: dict[tuple[str, int], Gate] = {}

    def authorized(self, values: list[str] | None) -> bool:
        """Exactly one Authorization header, carrying the token (a second one could be read by a
        proxy in front instead of ours)."""
        if self.token is None:
            return True
        if not values or len(values) != 1:
            return False
        return hmac.compare_digest(values[0].encode("utf-8", "replace"), b"Bearer " + self.token)

    def lookup(self, client: Any) -> Gate | None:
        """The gate of the connection an ASGI scope's ``client`` names (None once it is gone)."""
        if not client:
            return None
        return self.table.get((str(client[0]), int(client[1])))


class _Guarded(asyncio.Transport):
    """The transport uvicorn's protocol sees: reads are paused only when neither it nor the gate
    wants them, and its close is the gate's gentle close."""

    def __init__(self, real: asyncio.Transport, gate: Gate) -> None:
        super().__init__()
        self._real = real
        self._gate = gate

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._real.write(data)

    def is_closing(self) -> bool:
        return self._gate.closing or self._real.is_closing()

    def close(self) -> None:
        self._gate.close_gently()

    def abort(self) -> None:
        self._gate.abort()

    def pause_reading(self) -> None:
        self._gate.pause("http")

    def resume_reading(self) -> None:
        self._gate.resume("http")

    def is_reading(self) -> bool:
        return self._real.is_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._real.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._real.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._real.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._real.can_write_eof()

    def write_eof(self) -> None:
        self._real.write_eof()


class Gate(asyncio.Protocol):
    """One connection: the limits of the module docstring, then uvicorn's HTTP protocol."""

    shared: ClassVar[Shared]  # set on the per-server subclass (uvicorn builds the protocol itself)

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        self.inner = HttpToolsProtocol(config, server_state, app_state, _loop)
        self.loop = _loop or asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.key: tuple[str, int] | None = None
        self.state = HEAD
        self.started = time.monotonic()  # the current request's start
        self.closing = False
        self._counted = False  # one of shared.open
        self._lingers = False  # one of shared.lingering
        self._buffer = bytearray()  # the head being collected
        self._scanned = 0
        self._pending = bytearray()  # what came after the current request, before its answer
        self._remaining = 0  # body bytes of the current request not yet handed on
        self._paused: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._drain_until = 0.0
        self._linger_left = 0

    # ---- asyncio protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.started = time.monotonic()
        sock = transport.get_extra_info("socket")
        if sock is not None:  # an answer's head and body are separate writes: no 40 ms delayed-ACK stall
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        shared = self.shared
        if shared.open >= shared.limits.max_connections:
            shared.rejected += 1
            self.state = CLOSED
            transport.write(json_response(503, "the server is busy; retry shortly", {"Retry-After": str(RETRY_AFTER_SECONDS)}))
            self.close_gently()
            return
        shared.open += 1
        self._counted = True
        peer = transport.get_extra_info("peername")
        if peer:
            self.key = (str(peer[0]), int(peer[1]))
            shared.table[self.key] = self
        self.inner.connection_made(_Guarded(transport, self))
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._lingers:
            self.shared.lingering -= 1
            self._lingers = False
        if self._counted:
            self._counted = False
            self.shared.open -= 1
            if self.key is not None and self.shared.table.get(self.key) is self:
                del self.shared.table[self.key]
            self.inner.connection_lost(exc)

    def eof_received(self) -> bool | None:
        if self.closing or not self._counted:
            return None  # the transport closes
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        if self._counted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self._counted:
            self.inner.resume_writing()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            self._linger_left -= len(data)
            if self._linger_left < 0:
                self.abort()
        elif self.state == HEAD:
            self._buffer += data
            self._read_head()
        elif self.state == BODY:
            self._hand_on_body(data)
        else:
            self._hold(data)

    # ---- one request at a time ------------------------------------------------------------------
    def _read_head(self) -> None:
        buffer = self._buffer
        while buffer[:2] == b"\r\n":  # empty lines before a request line are ignored (RFC 9112 2.2)
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n", max(0, self._scanned - 3))
        if end < 0:
            self._scanned = len(buffer)
            if len(buffer) > MAX_HEADER_BYTES:
                self.refuse(431, "the request line and headers are larger than this server allows")
            return
        if end + 4 > MAX_HEADER_BYTES:
            return self.refuse(431, "the request line and headers are larger than this server allows")
        head, rest = bytes(buffer[: end + 4]), bytes(buffer[end + 4 :])
        self._buffer, self._scanned = bytearray(), 0
        try:
            parsed = parse_head(head)
        except FramingError as exc:
            return self.refuse(exc.status, str(exc))
        if parsed.method not in METHODS:  # httptools would answer an unknown method with a plain-text 400
            return self.refuse(405, f"method {parsed.method[:20]} is not supported; POST /score or GET /health", ALLOW)
        if not self.shared.authorized(parsed.headers.get_all("Authorization")):
            return self.refuse(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        self._cancel_timer()
        self.state, self._remaining = BODY, parsed.length or 0
        self.inner.data_received(head)
        if not self.closing:
            self._hand_on_body(rest)

    def _hand_on_body(self, data: bytes) -> None:
        take = data[: self._remaining]
        self._remaining -= len(take)
        if take:
            self.inner.data_received(take)
        if self._remaining == 0 and not self.closing:
            self.state = WAIT
            self._hold(data[len(take) :])

    def _hold(self, data: bytes) -> None:
        if data:
            self._pending += data
            if len(self._pending) > MAX_HEADER_BYTES:
                self.pause("gate")

    def answered(self) -> None:
        """The app sent a keep-alive answer: the next request starts now."""
        if self.closing:
            return
        if self.state == BODY:  # answered with its body not all read: that body must not become a request
            self.close_gently()
            return
        self.state, self.started = HEAD, time.monotonic()
        self._arm_header_deadline()
        pending, self._pending = bytes(self._pending), bytearray()
        self.resume("gate")
        if pending:
            self.data_received(pending)

    def drain_body(self, until: float) -> None:
        """When this connection closes, read and drop the rest of the current body until ``until``
        (time.monotonic): a refused body (413) is drained so that the client reads the refusal."""
        self._drain_until = until
        self._linger_left = max(self._remaining, LINGER_BYTES)

    # ---- refusing and closing -------------------------------------------------------------------
    def refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """Answer a head that uvicorn never saw (it is idle: one request at a time), and close."""
        self.state = CLOSED
        assert self.transport is not None
        self.transport.write(json_response(status, message, headers))
        self.close_gently()

    def close_gently(self) -> None:
        """End the writing side, then drop what the client still sends for a moment (bounded), then close."""
        if self.closing or self.transport is None:
            return
        self.closing, self.state = True, CLOSED
        self._cancel_timer()
        transport = self.transport
        if self.shared.stopping or self.shared.lingering >= MAX_LINGERING or not transport.can_write_eof():
            transport.close()
            return
        self.shared.lingering += 1
        self._lingers = True
        self._linger_left = max(self._linger_left, LINGER_BYTES)
        until = max(time.monotonic() + LINGER_SECONDS, self._drain_until)
        self._paused.clear()
        transport.resume_reading()
        transport.write_eof()
        self._timer = self.loop.call_later(until - time.monotonic(), self.abort)

    def abort(self) -> None:
        """Drop the connection now (a deadline passed: nothing more to say)."""
        self.closing, self.state = True, CLOSED
        self._cancel_timer()
        if self.transport is not None:
            self.transport.abort()

    def pause(self, why: str) -> None:
        if self.transport is not None and not self.closing:
            self._paused.add(why)
            self.transport.pause_reading()

    def resume(self, why: str) -> None:
        self._paused.discard(why)
        if self.transport is not None and not self.closing and not self._paused:
            self.transport.resume_reading()

    def _arm_header_deadline(self) -> None:
        self._cancel_timer()
        seconds = self.started + self.shared.limits.header_timeout - time.monotonic()
        self._timer = self.loop.call_later(max(0.0, seconds), self._header_deadline)

    def _header_deadline(self) -> None:
        if self.state == HEAD:
            self.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
