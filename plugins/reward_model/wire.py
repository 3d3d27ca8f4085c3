"""What ``serve-rewards`` checks in a request's head before the HTTP server behind it sees a byte.

:mod:`.gate` collects a request line and headers (at most 64 KiB, by a deadline) and hands them to
:func:`parse_head`, which reads them strictly, so that the server's own parser never meets a head
that a proxy in front could read another way:

- the request line is ``METHOD SP /target SP HTTP/1.x``; anything else is a 400 (505 for another
  HTTP version); the header lines are parsed by the standard library (``http.client``);
- :func:`check_headers` and :func:`body_length`: the header block and the body's framing, strictly. A request that carries both
  ``Content-Length`` and ``Transfer-Encoding``, two lengths, or a length that is not plain digits
  is refused: a proxy in front may read the framing differently from us, and the part it thinks
  is body we would read as the next request (request smuggling). RFC 9112 sections 6.1 and 6.3.
"""

from __future__ import annotations

import http.client
import io
import re
from dataclasses import dataclass
from email.message import Message

MAX_LENGTH_DIGITS = 18  # a Content-Length past 10**18 bytes is no honest body
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 5.6.2: what a header name may hold
_TARGET = re.compile(r"/[\x21-\x7e]*")  # origin-form: visible ASCII, no spaces or controls
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")


class FramingError(ValueError):
    """A body whose length cannot be trusted; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Head:
    """A request's line and headers, read strictly; ``length`` is its body's (None: no Content-Length)."""

    method: str
    target: str
    version: str
    headers: Message
    length: int | None


def parse_head(head: bytes) -> Head:
    """The request line and headers (``head`` ends with the blank line), or FramingError."""
    line, _, rest = head.partition(b"\r\n")
    try:
        method, target, version = line.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise FramingError(f"malformed request line {line[:60]!r}: expected 'METHOD /path HTTP/1.1'") from None
    if not _TOKEN.fullmatch(method) or not _TARGET.fullmatch(target):
        raise FramingError(f"malformed request line {line[:60]!r}: expected 'METHOD /path HTTP/1.1'")
    match = _VERSION.fullmatch(version)
    if match is None:
        raise FramingError(f"malformed HTTP version {version[:20]!r}")
    if match.group(1) != "1":
        raise FramingError(f"HTTP version {version} is not supported; send HTTP/1.1", status=505)
    try:
        headers = http.client.parse_headers(io.BytesIO(rest))
    except http.client.HTTPException as exc:  # more than 100 header lines, or one over 64 KiB
        raise FramingError(f"the headers are larger than this server allows ({exc})", status=431) from None
    check_headers(headers)
    return Head(method, target, version, headers, body_length(headers))


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
