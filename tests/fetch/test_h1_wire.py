"""HTTP/1.1 wire parsing (watcher.h1_wire): heads, body framing, the chunked decoder."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.h1_wire import (
    HEAD_LIMIT,
    ChunkedDecoder,
    ResponseHead,
    WireError,
    end_of_head,
    framing,
    parse_head,
    request_head,
)


def _head(
    status: int = 200, *headers: tuple[bytes, bytes], version: bytes = b"HTTP/1.1"
) -> ResponseHead:
    return ResponseHead(version, status, b"OK", list(headers))


def test_request_head_is_written_in_order() -> None:
    head = request_head("GET", b"/feed?x=1", [(b"Host", b"example.org"), (b"Accept", b"*/*")])
    assert head == b"GET /feed?x=1 HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n"


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", b"/a b", []),
        ("GET", b"/a\r\nX: y", []),
        ("GE T", b"/", []),
        ("GET", b"/", [(b"X-Bad", b"v\r\nInjected: 1")]),
        ("GET", b"/", [(b"Bad Name", b"v")]),
        ("GET", b"", []),
    ],
)
def test_request_head_refuses_what_would_break_the_framing(
    method: str, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(WireError):
        request_head(method, target, headers)


def test_end_of_head_with_crlf_and_bare_lf() -> None:
    assert end_of_head(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody") == (21, 25)
    assert end_of_head(b"HTTP/1.1 200 OK\nA: b\n\nbody") == (20, 22)
    assert end_of_head(b"HTTP/1.1 200 OK\r\nA: b\r\n") is None


def test_end_of_head_refuses_a_head_past_the_limit() -> None:
    assert end_of_head(b"x" * HEAD_LIMIT) is None  # not yet too long
    with pytest.raises(WireError, match="larger than"):
        end_of_head(b"x" * (HEAD_LIMIT + 5))


def test_parse_head_keeps_names_and_trims_values() -> None:
    head = parse_head(b"HTTP/1.1 301 Moved Permanently\r\nLocation:  /new \r\nX-A:b")
    assert (head.version, head.status, head.reason) == (b"HTTP/1.1", 301, b"Moved Permanently")
    assert head.headers == [(b"Location", b"/new"), (b"X-A", b"b")]


def test_parse_head_without_reason_and_with_folded_lines() -> None:
    head = parse_head(b"HTTP/1.0 200\r\nX-Long: one\r\n  two\r\n\tthree")
    assert (head.version, head.status, head.reason) == (b"HTTP/1.0", 200, b"")
    assert head.headers == [(b"X-Long", b"one two three")]


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK",
        b"ICY 200 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 abc OK",
        b"HTTP/1.1 099 Low",
        b"HTTP/1.1 200 OK\r\nno colon here",
        b"HTTP/1.1 200 OK\r\n : empty name",
        b"HTTP/1.1 200 OK\r\n folded first",
    ],
)
def test_parse_head_refuses_broken_heads(raw: bytes) -> None:
    with pytest.raises(WireError):
        parse_head(raw)


@pytest.mark.parametrize(
    ("method", "head", "expected"),
    [
        ("GET", _head(200, (b"Content-Length", b"12")), ("length", 12, True)),
        ("GET", _head(200, (b"Transfer-Encoding", b"chunked")), ("chunked", 0, True)),
        # both: chunked wins, and the connection is not trusted afterwards
        (
            "GET",
            _head(200, (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"3")),
            ("chunked", 0, False),
        ),
        ("GET", _head(200), ("close", 0, False)),  # no length: until the server closes
        ("HEAD", _head(200, (b"Content-Length", b"500")), ("none", 0, True)),
        ("GET", _head(304, (b"Content-Length", b"500")), ("none", 0, True)),
        ("GET", _head(204), ("none", 0, True)),
        (
            "GET",
            _head(200, (b"Content-Length", b"7"), (b"Connection", b"close")),
            ("length", 7, False),
        ),
        ("GET", _head(200, (b"Content-Length", b"7"), version=b"HTTP/1.0"), ("length", 7, False)),
        (
            "GET",
            _head(
                200, (b"Content-Length", b"7"), (b"Connection", b"Keep-Alive"), version=b"HTTP/1.0"
            ),
            ("length", 7, True),
        ),
        # the same length repeated is one length
        (
            "GET",
            _head(200, (b"Content-Length", b"5, 5"), (b"content-length", b"5")),
            ("length", 5, True),
        ),
    ],
)
def test_framing(method: str, head: ResponseHead, expected: tuple[str, int, bool]) -> None:
    frame = framing(method, head)
    assert (frame.mode, frame.length, frame.reusable) == expected


@pytest.mark.parametrize("value", [b"5, 6", b"-1", b"1e3", b"0x10", b"9" * 19])
def test_framing_refuses_bad_lengths(value: bytes) -> None:
    with pytest.raises(WireError):
        framing("GET", _head(200, (b"Content-Length", value)))


@pytest.mark.parametrize("codings", [b"gzip, chunked", b"gzip", b"identity", b"chunked, chunked"])
def test_framing_refuses_transfer_codings_it_cannot_undo(codings: bytes) -> None:
    with pytest.raises(WireError, match="Transfer-Encoding"):
        framing("GET", _head(200, (b"Transfer-Encoding", codings)))


def test_end_of_head_resumes_where_it_stopped() -> None:
    """The caller passes ``len(buf) - 3`` of its last look: a terminator cut anywhere is found."""
    wire = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"
    for cut in range(1, len(wire)):
        first = end_of_head(wire[:cut])
        found = first or end_of_head(wire, max(0, cut - 3))
        assert found == (21, 25), cut


def _chunked(body: bytes, sizes: list[int], ext: bool, trailers: bool) -> bytes:
    out, pos = [], 0
    for size in sizes:
        piece = body[pos : pos + size]
        if not piece:
            break
        pos += len(piece)
        out.append(f"{len(piece):x}{';name=value' if ext else ''}\r\n".encode() + piece + b"\r\n")
    if pos < len(body):
        out.append(f"{len(body) - pos:X}\r\n".encode() + body[pos:] + b"\r\n")
    out.append(b"0\r\n" + (b"X-Trailer: yes\r\n" if trailers else b"") + b"\r\n")
    return b"".join(out)


def _decode_in_pieces(wire: bytes, cuts: list[int]) -> tuple[bytes, bytes, bool]:
    """Feed ``wire`` to a decoder as the network might deliver it (split at ``cuts``)."""
    decoder = ChunkedDecoder()
    buf = bytearray()
    data = []
    bounds = sorted({c % (len(wire) + 1) for c in cuts} | {len(wire)})
    start = 0
    for end in bounds:
        buf += wire[start:end]
        start = end
        pieces, used = decoder.feed(buf)
        del buf[:used]
        data += pieces
    return b"".join(data), bytes(buf), decoder.done


@given(
    body=st.binary(max_size=3000),
    sizes=st.lists(st.integers(1, 700), max_size=12),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    ext=st.booleans(),
    trailers=st.booleans(),
    after=st.binary(max_size=30),
)
def test_chunked_decoder_gives_back_the_body_however_it_arrives(
    body: bytes, sizes: list[int], cuts: list[int], ext: bool, trailers: bool, after: bytes
) -> None:
    wire = _chunked(body, sizes, ext, trailers)
    decoded, rest, done = _decode_in_pieces(wire + after, cuts)
    assert done and decoded == body
    assert rest == after  # bytes after the body are left for the connection


def test_chunked_decoder_accepts_bare_lf() -> None:
    decoded, rest, done = _decode_in_pieces(b"3\nabc\n0\n\n", [2, 5])
    assert (decoded, rest, done) == (b"abc", b"", True)


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\nabc\r\n",  # not hex
        b"\r\nabc\r\n",  # no size
        b"3\r\nabcdef\r\n",  # more data than announced
        b"-3\r\nabc\r\n",
        b"1" * 5000,  # a size line that never ends
        b"fffffffffffffffff\r\n",  # absurd size
    ],
)
def test_chunked_decoder_refuses_broken_framing(wire: bytes) -> None:
    with pytest.raises(WireError):
        ChunkedDecoder().feed(wire)


def test_chunked_decoder_waits_for_the_rest_of_a_line() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"1") == ([], 0)
    assert decoder.feed(b"10\r\n") == ([], 4)
    assert not decoder.done


@given(
    status=st.integers(100, 599),
    reason=st.from_regex(rb"[A-Za-z ]{0,20}", fullmatch=True),
    headers=st.lists(
        st.tuples(
            st.from_regex(rb"[A-Za-z0-9-]{1,20}", fullmatch=True),
            st.from_regex(rb"[ -~]{0,40}", fullmatch=True),
        ),
        max_size=10,
    ),
    crlf=st.booleans(),
)
def test_parse_head_reads_back_any_valid_head(
    status: int, reason: bytes, headers: list[tuple[bytes, bytes]], crlf: bool
) -> None:
    eol = b"\r\n" if crlf else b"\n"
    raw = eol.join([b"HTTP/1.1 %d %s" % (status, reason)] + [k + b": " + v for k, v in headers])
    wire = raw + eol + eol + b"body"
    ends = end_of_head(wire)
    assert ends is not None and wire[ends[1] :] == b"body"
    head = parse_head(wire[: ends[0]])
    assert head.status == status and head.reason == reason.strip()
    assert head.headers == [(k, v.strip(b" \t")) for k, v in headers]
