"""What ``serve-rewards`` checks on the wire before it trusts a request: deadlines, sizes, framing.

The request line and headers are parsed by the standard library (``http.server``); this module
adds what it leaves out:

- :class:`DeadlineReader`: every read of a request ends by one deadline counted from the
  request's start (a per-read timeout lets a client trickling a byte every few seconds keep a
  connection for ever), and the request line plus headers may take at most ``header_budget``
  bytes from the socket (the standard library alone allows 100 lines of 64 KiB each);
- :func:`check_headers` and :func:`body_length`: the header block and the body's framing, strictly. A request that carries both
  ``Content-Length`` and ``Transfer-Encoding``, two lengths, or a length that is not plain digits
  is refused: a proxy in front may read the framing differently from us, and the part it thinks
  is body we would read as the next request (request smuggling). RFC 9112 sections 6.1 and 6.3.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import time
from email.message import Message
from typing import Any

MAX_LENGTH_DIGITS = 18  # a Content-Length past 10**18 bytes is no honest body
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 5.6.2: what a header name may hold


class HeadersTooLarge(http.client.HTTPException):
    """The request line and headers went past the header budget (answered 431)."""


class FramingError(ValueError):
    """A body whose length cannot be trusted; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class DeadlineReader(io.RawIOBase):
    """Socket reads that all end by ``deadline`` (time.monotonic), and at most ``header_budget``
    bytes while it is set (the header phase)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline: float | None = None
        self.header_budget: int | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self.header_budget is not None:
            if self.header_budget <= 0:
                raise HeadersTooLarge("the request line and headers are larger than this server allows")
            view = view[: self.header_budget]
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request took longer than this server allows")
            self.sock.settimeout(remaining)
        received = self.sock.recv_into(view)
        if self.header_budget is not None:
            self.header_budget -= received
        return received


def check_headers(headers: Message) -> None:
    """FramingError for a header block a proxy may read differently from us: a line the parser could
    not read as ``name: value`` (``Transfer-Encoding : chunked`` ends Python's header parsing there,
    silently dropping it and every later header), a name that is not an HTTP token, or a value
    holding a line break (a folded line) or a NUL."""
    if headers.defects:
        raise FramingError("a header line is not 'name: value' (no space before the colon, no line starting with a space)")
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\x00"):
            raise FramingError(f"malformed header {name[:40]!r}")


def body_length(headers: Message) -> int | None:
    """The body's length from its headers (None: no Content-Length), or FramingError."""
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if codings and lengths:
        raise FramingError("a request may not carry both Content-Length and Transfer-Encoding")
    if codings:
        last = ",".join(codings).split(",")[-1].strip().lower()
        if last != "chunked":  # RFC 9112 6.3: the length cannot be determined: 400 and close
            raise FramingError(f"unsupported Transfer-Encoding {','.join(codings)[:60]!r}; send a Content-Length")
        raise FramingError("chunked bodies are not supported; send a Content-Length", status=411)
    if not lengths:
        return None
    if len(lengths) > 1:
        raise FramingError("a request may carry only one Content-Length")
    value = lengths[0].strip()
    if not value.isascii() or not value.isdigit() or len(value) > MAX_LENGTH_DIGITS:
        raise FramingError(f"invalid Content-Length {value[:40]!r}: expected a number of bytes")
    return int(value)
