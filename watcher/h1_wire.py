"""HTTP/1.1 on the wire, without I/O: the request head, the response head, how the response
body is framed (RFC 9112 section 6.3) and an incremental chunked-body decoder.

:mod:`watcher.h1` drives these over asyncio connections. Everything here works on bytes and
raises :class:`WireError` (a message, no I/O state) on anything malformed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "HEAD_LIMIT",
    "ChunkedDecoder",
    "Framing",
    "ResponseHead",
    "WireError",
    "end_of_head",
    "framing",
    "parse_head",
    "request_head",
]

HEAD_LIMIT = 64 * 1024  # bytes of status line and headers; a longer head is refused
_LINE_LIMIT = 4096  # a chunk-size line or a trailer line

_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_LINES = re.compile(rb"\r?\n")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_FIELD = re.compile(rb"[\r\n\0]")


class WireError(Exception):
    """The peer broke HTTP/1.1 framing (or a request head cannot be written)."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    version: bytes  # b"HTTP/1.1" or b"HTTP/1.0"
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]  # as received (names keep their case)


BodyMode = Literal["none", "length", "chunked", "close"]


@dataclass(frozen=True, slots=True)
class Framing:
    mode: BodyMode  # no body / Content-Length bytes / chunked / until the peer closes
    length: int  # for "length"
    reusable: bool  # whether the connection can carry another request after the body


def request_head(method: str, target: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """``METHOD target HTTP/1.1`` and the header lines, ending with the empty line."""
    if not _TOKEN.fullmatch(method.encode("ascii", "replace")):
        raise WireError(f"invalid method {method!r}")
    if not target or _BAD_FIELD.search(target) or b" " in target:
        raise WireError(f"invalid request target {target[:60]!r}")
    out = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_FIELD.search(value):
            raise WireError(f"invalid header {name[:40]!r}")
        out += (name, b": ", value, b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def end_of_head(buf: bytes | bytearray, start: int = 0) -> tuple[int, int] | None:
    """``(head_end, body_start)`` once ``buf`` holds a whole head (CRLF or bare LF lines);
    ``None`` while it does not. :class:`WireError` past :data:`HEAD_LIMIT`. ``start``: where
    to resume the search (the caller's previous ``len(buf) - 3``: a head arriving a byte at a
    time is then scanned once, not once per byte)."""
    m = _END_OF_HEAD.search(buf, start, HEAD_LIMIT + 4)
    if m is not None:
        return m.start(), m.end()
    if len(buf) > HEAD_LIMIT:
        raise WireError(f"response head larger than {HEAD_LIMIT} bytes")
    return None


def parse_head(raw: bytes) -> ResponseHead:
    """The status line and headers of ``raw`` (a head without its final empty line)."""
    lines = _LINES.split(raw)
    status_line = lines[0]
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise WireError(f"invalid status line {status_line[:80]!r}")
    status = int(code)
    if status < 100:
        raise WireError(f"invalid status code {status}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # obsolete line folding: part of the previous value
            if not headers:
                raise WireError("folded line before any header")
            name, value = headers[-1]
            headers[-1] = (name, (value + b" " + line.strip()).strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise WireError(f"invalid header line {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return ResponseHead(version, status, reason.strip(), headers)


def _tokens(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """The comma-separated, lower-cased values of every ``name`` header."""
    out = []
    for k, v in headers:
        if k.lower() == name:
            out += [t.strip().lower() for t in v.split(b",") if t.strip()]
    return out


def framing(method: str, head: ResponseHead) -> Framing:
    """How the body of a response to ``method`` ends, and whether the connection survives it."""
    connection = _tokens(head.headers, b"connection")
    if head.version == b"HTTP/1.1":
        reusable = b"close" not in connection
    else:
        reusable = b"keep-alive" in connection and b"close" not in connection
    if method == "HEAD" or head.status < 200 or head.status in (204, 304):
        return Framing("none", 0, reusable)
    codings = _tokens(head.headers, b"transfer-encoding")
    if codings:  # it wins over Content-Length
        if codings != [b"chunked"]:  # a transfer coding (gzip, ...) that nothing here decodes
            raise WireError(f"unsupported Transfer-Encoding {b', '.join(codings)[:60]!r}")
        if _tokens(head.headers, b"content-length"):  # both: chunked, then close (RFC 9112 6.3)
            return Framing("chunked", 0, False)
        return Framing("chunked", 0, reusable)
    lengths = set(_tokens(head.headers, b"content-length"))
    if lengths:
        if len(lengths) > 1:
            raise WireError(f"conflicting Content-Length values {sorted(lengths)!r}")
        (value,) = lengths
        if not value.isdigit() or len(value) > 18:
            raise WireError(f"invalid Content-Length {value[:20]!r}")
        return Framing("length", int(value), reusable)
    return Framing("close", 0, False)


class ChunkedDecoder:
    """Decodes a chunked body incrementally: :meth:`feed` takes whatever bytes arrived and
    returns the data they complete and how many bytes it consumed; :attr:`done` once the last
    chunk and the trailers are in (bytes after them are not consumed)."""

    __slots__ = ("_left", "_state", "done")

    def __init__(self) -> None:
        self._state: Literal["size", "data", "data-end", "trailer"] = "size"
        self._left = 0
        self.done = False

    def feed(self, buf: bytes | bytearray) -> tuple[list[bytes], int]:
        out: list[bytes] = []
        pos = 0
        n = len(buf)
        while pos < n and not self.done:
            if self._state == "data":
                take = min(self._left, n - pos)
                out.append(bytes(buf[pos : pos + take]))
                pos += take
                self._left -= take
                if self._left == 0:
                    self._state = "data-end"
                continue
            eol = buf.find(b"\n", pos, pos + _LINE_LIMIT + 2)
            if eol < 0:
                if n - pos > _LINE_LIMIT:
                    raise WireError("chunk-size or trailer line too long")
                break  # wait for the rest of the line
            line = bytes(buf[pos:eol]).rstrip(b"\r")
            pos = eol + 1
            if self._state == "size":
                size = line.split(b";", 1)[0].strip()
                if not size or len(size) > 15 or size.strip(b"0123456789abcdefABCDEF"):
                    raise WireError(f"invalid chunk size {size[:20]!r}")
                self._left = int(size, 16)
                self._state = "data" if self._left else "trailer"
            elif self._state == "data-end":
                if line:
                    raise WireError("chunk data longer than its size")
                self._state = "size"
            elif not line:  # "trailer": an empty line ends the body
                self.done = True
        return out, pos
