"""The HTTP/1.1 transport (watcher.h1) against scripted servers on 127.0.0.1: each server
connection reads requests and answers with exactly the bytes a test gives it."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.servers import LocalHTTPServer, Route
from watcher.h1 import H1Transport

# An answer: bytes to send, then what to do: "keep" (wait for the next request), "close",
# or "hang" (send nothing more, keep the socket open).
Answer = tuple[bytes, str]


@dataclass
class Scripted:
    """A TCP server answering each request with the next scripted answer."""

    answers: list[Answer]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> Scripted:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                data, then = self.answers.pop(0)
                writer.write(data)
                await writer.drain()
                if then == "close":
                    break
                if then == "hang":
                    await asyncio.sleep(3600)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def ok(body: bytes = b"hello", *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[Scripted]]]:
    servers: list[Scripted] = []

    async def start(*answers: Answer, tls: ssl.SSLContext | None = None) -> Scripted:
        server = await Scripted(list(answers)).start(tls)
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for s in servers:
        await s.stop()


def client(transport: H1Transport | None = None, **kw: float) -> httpx.AsyncClient:
    timeout = httpx.Timeout(kw.pop("timeout", 2.0), **kw)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport or H1Transport(), timeout=timeout)


async def test_keep_alive_reuses_one_connection(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve((ok(b"one"), "keep"), (ok(b"two"), "keep"), (ok(b"three"), "keep"))
    async with client() as c:
        bodies = [(await c.get(srv.url(f"/{i}?q=1"))).content for i in range(3)]
    assert bodies == [b"one", b"two", b"three"]
    assert srv.connections == 1
    assert srv.requests[0].startswith(b"GET /0?q=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in srv.requests[0]


async def test_chunked_body_with_extensions_and_trailers_then_reuse(serve) -> None:  # type: ignore[no-untyped-def]
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    srv = await serve((chunked, "keep"), (ok(b"next"), "keep"))
    async with client() as c:
        first = await c.get(srv.url())
        second = await c.get(srv.url())
    assert first.content == b"hello world" and second.content == b"next"
    assert srv.connections == 1


async def test_body_until_close_and_a_new_connection_after_it(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", "close"),
        (ok(b"again"), "keep"),
    )
    async with client() as c:
        first = await c.get(srv.url())
        second = await c.get(srv.url())
    assert (first.content, second.content) == (b"all of it", b"again")
    assert srv.connections == 2


async def test_http10_closes_unless_keep_alive(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok", "keep"),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "keep"),
        (ok(b"third"), "keep"),
    )
    async with client() as c:
        for _ in range(3):
            assert (await c.get(srv.url())).status_code == 200
    assert srv.connections == 2  # the plain HTTP/1.0 answer ended its connection


async def test_interim_responses_are_skipped_and_101_refused(serve) -> None:  # type: ignore[no-untyped-def]
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    srv = await serve(
        (interim + ok(b"final"), "keep"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", "keep"),
    )
    async with client() as c:
        assert (await c.get(srv.url())).content == b"final"
        with pytest.raises(httpx.RemoteProtocolError, match="101"):
            await c.get(srv.url())


async def test_head_204_304_have_no_body(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n", "keep"),
        (b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', "keep"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", "keep"),
        (ok(b"last"), "keep"),
    )
    async with client() as c:
        assert (await c.head(srv.url())).content == b""
        assert (await c.get(srv.url())).status_code == 304
        assert (await c.get(srv.url())).status_code == 204
        assert (await c.get(srv.url())).content == b"last"
    assert srv.connections == 1


async def test_a_get_on_a_connection_closed_meanwhile_is_sent_again_once(serve) -> None:  # type: ignore[no-untyped-def]
    # the server takes the second request on the kept-alive connection and drops it unanswered
    srv = await serve((ok(b"one"), "keep"), (b"", "close"), (ok(b"two"), "keep"))
    async with client() as c:
        assert (await c.get(srv.url())).content == b"one"
        assert (await c.get(srv.url())).content == b"two"
    assert srv.connections == 2 and len(srv.requests) == 3


async def test_a_post_is_not_sent_twice(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve((ok(b"one"), "keep"), (b"", "close"), (ok(b"two"), "keep"))
    async with client() as c:
        await c.get(srv.url())
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await c.post(srv.url("/hook"), content=b'{"a": 1}')
    assert len(srv.requests) == 2
    assert srv.requests[1].startswith(b"POST /hook HTTP/1.1\r\n")
    assert srv.requests[1].endswith(b'\r\n\r\n{"a": 1}')


async def test_a_body_of_unknown_length_is_sent_with_its_length(serve) -> None:  # type: ignore[no-untyped-def]
    async def parts() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    srv = await serve((ok(), "keep"))
    async with client() as c:
        await c.post(srv.url(), content=parts())
    assert b"content-length: 4\r\n" in srv.requests[0].lower()
    assert b"transfer-encoding" not in srv.requests[0].lower()
    assert srv.requests[0].endswith(b"\r\n\r\nabcd")


async def test_server_closing_in_the_middle_of_a_body(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", "close"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "close"),
    )
    t = H1Transport()
    async with client(t) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="90 bytes of the body unsent"):
            await c.get(srv.url())
        with pytest.raises(httpx.RemoteProtocolError, match="chunked"):
            await c.get(srv.url())
        assert not t._open


async def test_broken_heads_are_protocol_errors(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "keep"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "keep"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "keep"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000, "keep"),
    )
    t = H1Transport()
    async with client(t) as c:
        for match in ("header line", "status line", "Content-Length", "larger than"):
            with pytest.raises(httpx.RemoteProtocolError, match=match):
                await c.get(srv.url())
    assert srv.connections == 4 and not t._open  # none of them was reused


async def test_read_timeout_on_a_stalled_response(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "hang"))
    t = H1Transport()
    async with client(t, timeout=2.0, read=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(srv.url())
    assert not t._open


async def test_connection_refused() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with client() as c:
        with pytest.raises(httpx.ConnectError, match=r"refused|failed"):
            await c.get(f"http://127.0.0.1:{port}/")


async def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that never answers the SYN (cannot be staged on loopback: connect is slowed)."""
    loop = asyncio.get_running_loop()

    async def slow(*args: object, **kw: object) -> None:
        await asyncio.sleep(5)

    monkeypatch.setattr(loop, "create_connection", slow)
    async with client(timeout=2.0, connect=0.1) as c:
        with pytest.raises(httpx.ConnectTimeout):
            await c.get("http://127.0.0.1:9/")


async def test_unsupported_scheme() -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        await H1Transport().handle_async_request(httpx.Request("GET", "ftp://example.org/x"))


async def test_pool_limit_makes_a_request_wait_for_a_connection(serve) -> None:  # type: ignore[no-untyped-def]
    a = await serve((ok(b"a"), "keep"))
    b = await serve((ok(b"b"), "keep"), (ok(b"b2"), "keep"))
    t = H1Transport(max_connections=1)
    async with client(t) as c:
        async with c.stream("GET", a.url()) as held:  # holds the only connection
            waiting = asyncio.ensure_future(c.get(b.url()))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            await held.aread()
        # released to the idle pool: closed to make room for the other host
        assert (await waiting).content == b"b"
        async with c.stream("GET", b.url()):
            with pytest.raises(httpx.PoolTimeout):
                await c.get(a.url(), timeout=httpx.Timeout(2.0, pool=0.1))
    assert not t._open and not t._slot_waiters


async def test_a_cancelled_request_frees_its_connection(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", "hang"),
        (ok(b"fine"), "keep"),
    )
    t = H1Transport(max_connections=1)
    async with client(t) as c:

        async def read_all() -> None:
            async with c.stream("GET", srv.url()) as r:
                await r.aread()

        task = asyncio.ensure_future(read_all())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not t._open  # closed, not given back half read
        assert (await c.get(srv.url())).content == b"fine"
    assert srv.connections == 2


async def test_large_body_streams_through_flow_control(serve) -> None:  # type: ignore[no-untyped-def]
    body = bytes(range(256)) * 20_000  # ~5 MB
    srv = await serve((ok(body), "keep"))
    async with client() as c, c.stream("GET", srv.url()) as r:
        got = bytearray()
        async for piece in r.aiter_raw():
            got += piece
            await asyncio.sleep(0)  # a slow reader
    assert bytes(got) == body


async def test_idle_connections_expire(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve((ok(), "keep"), (ok(), "keep"))
    t = H1Transport(keepalive_expiry=0.05)
    async with client(t) as c:
        await c.get(srv.url())
        assert len(t._open) == 1
        await asyncio.sleep(0.2)
        assert not t._open
        await c.get(srv.url())
    assert srv.connections == 2


async def test_redirects_are_followed_by_httpx_on_the_same_connection(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(
        (b"HTTP/1.1 301 Moved\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n", "keep"),
        (ok(b"moved here"), "keep"),
    )
    async with httpx.AsyncClient(transport=H1Transport(), follow_redirects=True) as c:
        r = await c.get(srv.url("/old"))
    assert r.content == b"moved here" and str(r.url).endswith("/new")
    assert srv.connections == 1 and srv.requests[1].startswith(b"GET /new ")


def test_the_transport_survives_a_new_event_loop(http_server: LocalHTTPServer) -> None:
    """Tests and one-shot commands run several loops; a connection kept by a finished loop is
    not used by the next one."""
    http_server.routes["/x"] = Route(b"x")
    t = H1Transport()
    c = httpx.AsyncClient(transport=t)

    async def get() -> bytes:
        return (await c.get(http_server.url("/x"))).content

    assert asyncio.run(get()) == b"x"
    [kept] = t._open  # idle, on the first loop (now closed)
    assert asyncio.run(get()) == b"x"
    assert kept.closed and kept not in t._open
    asyncio.run(c.aclose())
    assert not t._open


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI absent")
    d = tmp_path_factory.mktemp("h1tls")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


async def test_https_with_a_trusted_and_an_untrusted_certificate(serve, tls_files) -> None:  # type: ignore[no-untyped-def]
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    srv = await serve((ok(b"secret"), "keep"), (ok(b"again"), "keep"), tls=server_ctx)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with client(H1Transport(verify=trusting)) as c:
        assert (await c.get(srv.url(scheme="https"))).content == b"secret"
        assert (await c.get(srv.url(scheme="https"))).content == b"again"
    assert srv.connections == 1
    async with client(H1Transport()) as c:  # the default trust store does not know it
        with pytest.raises(httpx.ConnectError, match="TLS handshake"):
            await c.get(srv.url(scheme="https"))


# -- review 11's findings ---------------------------------------------------------------------


async def test_a_woken_waiter_that_is_cancelled_passes_the_connection_on(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(*[(ok(b"x"), "keep")] * 4)
    t = H1Transport(max_connections=1)
    async with client(t, timeout=5.0, pool=2.0) as c:
        async with c.stream("GET", srv.url()) as held:
            first = asyncio.ensure_future(c.get(srv.url()))
            second = asyncio.ensure_future(c.get(srv.url()))
            await asyncio.sleep(0.1)  # both wait for the only connection
            await held.aread()
        first.cancel()  # woken by the release above, cancelled before it ran
        assert (await asyncio.wait_for(second, 1.0)).content == b"x"
    assert first.cancelled()


async def test_waiters_reuse_their_host_s_connection_under_a_full_pool(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve(*[(ok(b"x"), "keep")] * 6)
    async with client(H1Transport(max_connections=1)) as c:
        got = await asyncio.gather(*(c.get(srv.url()) for _ in range(6)))
    assert [r.content for r in got] == [b"x"] * 6
    assert srv.connections == 1  # keep-alive kept under load


async def test_aclose_fails_waiting_requests_and_leaves_nothing_open(serve) -> None:  # type: ignore[no-untyped-def]
    srv = await serve((ok(b"x"), "keep"), (ok(b"y"), "keep"))
    t = H1Transport(max_connections=1)
    c = client(t)
    async with c.stream("GET", srv.url()):
        waiting = asyncio.ensure_future(c.get(srv.url()))
        await asyncio.sleep(0.05)
        await t.aclose()
        with pytest.raises(httpx.TransportError, match="closed"):
            await waiting
    assert not t._open and not t._idle


async def test_a_body_cut_by_a_reset_is_an_error_not_a_short_body(serve) -> None:  # type: ignore[no-untyped-def]
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1000)  # ends at close
        await writer.drain()
        sock = writer.get_extra_info("socket")
        import socket
        import struct

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST instead of FIN

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with client() as c:
            with pytest.raises(httpx.ReadError, match="connection lost"):
                r = await c.get(f"http://127.0.0.1:{port}/")
                pytest.fail(f"a cut body was accepted: {len(r.content)} bytes")  # pragma: no cover
    finally:
        server.close()


async def test_an_idle_connection_paused_by_a_big_body_still_sees_the_server_close_it(
    serve,
) -> None:  # type: ignore[no-untyped-def]
    body = b"z" * 2_000_000  # more than the buffer before reading pauses
    srv = await serve((ok(body), "close"), (ok(b"fresh"), "keep"))
    t = H1Transport()
    async with client(t) as c:
        async with c.stream("GET", srv.url()) as r:
            got = b""
            async for piece in r.aiter_raw():
                got += piece
                await asyncio.sleep(0.001)
        assert got == body
        await asyncio.sleep(0.1)  # the server closed its end meanwhile
        # a POST is never sent twice: it must not meet the closed connection at all
        assert (await c.post(srv.url(), content=b"{}")).content == b"fresh"
    assert srv.connections == 2


async def test_hostnames_idna_cannot_encode_are_connect_errors() -> None:
    async with client() as c:
        with pytest.raises(httpx.ConnectError, match=r"idna|label"):
            await c.get(f"http://{'a' * 70}.example/")


async def test_idle_hosts_leave_no_empty_entries(serve) -> None:  # type: ignore[no-untyped-def]
    servers = [await serve((ok(), "keep")) for _ in range(5)]
    t = H1Transport(keepalive_expiry=0.05)
    async with client(t) as c:
        for s in servers:
            await c.get(s.url())
        assert len(t._idle) == 5
        await asyncio.sleep(0.2)
    assert not t._idle and not t._open
