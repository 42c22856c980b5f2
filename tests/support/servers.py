"""Real servers on 127.0.0.1 for tests: an HTTP server for feeds and pages (with ETag /
Last-Modified, scripted faults), a webhook receiver and an SMTP server (aiosmtpd).

Nothing here touches the internet; every server binds to loopback on a free port.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    """A canned response. ``body`` may be bytes or an iterable of chunks (streamed, no length).

    ``etag=True`` derives a strong ETag from the body and answers 304 to a matching
    ``If-None-Match``; ``last_modified`` (an HTTP date) answers 304 to ``If-Modified-Since``
    with the same value. ``delay`` sleeps before answering (seconds).
    """

    body: bytes | Iterable[bytes] = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool | str = True
    last_modified: str | None = None
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int | None = None  # what the server answered


Handler = Callable[[Request], Route]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients closing kept-alive connections are normal here: no traceback noise."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalHTTPServer:
    """Threaded HTTP/1.1 server on 127.0.0.1 serving :class:`Route` objects by path.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``routes[path]`` may also be
    a callable taking the :class:`Request` and returning a :class:`Route`, or a list of routes
    served in turn (the last one repeats).
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route | Handler | list[Route]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalHTTPServer:
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms stall between headers and body

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path
                req = Request(
                    self.command,
                    path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                )
                with outer._lock:
                    outer.requests.append(req)
                route = outer._resolve(req)
                req.status = route.status
                if route.delay:
                    time.sleep(route.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer._respond(self, req, route)

            do_GET = _handle
            do_POST = _handle
            do_HEAD = _handle
            do_PUT = _handle

        self._server = _Server(("127.0.0.1", 0), H)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _resolve(self, req: Request) -> Route:
        target = self.routes.get(req.path)
        if target is None:
            target = self.routes.get(req.path.split("?", 1)[0])
        if target is None:
            return Route(b"not found", status=404, content_type="text/plain", etag=False)
        if isinstance(target, list):
            with self._lock:
                return target.pop(0) if len(target) > 1 else target[0]
        if callable(target):
            return target(req)
        return target

    @staticmethod
    def _respond(h: BaseHTTPRequestHandler, req: Request, route: Route) -> None:
        headers = dict(route.headers)
        body = route.body
        etag: str | None = None
        if route.etag is True and isinstance(body, bytes) and route.status == 200:
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        elif isinstance(route.etag, str):
            etag = route.etag
        if etag:
            headers["ETag"] = etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        not_modified = route.status == 200 and (
            (etag is not None and req.headers.get("if-none-match") == etag)
            or (
                route.last_modified is not None
                and req.headers.get("if-modified-since") == route.last_modified
                and "if-none-match" not in req.headers
            )
        )
        if not_modified:
            req.status = 304
            h.send_response(304)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(route.status)
        headers.setdefault("Content-Type", route.content_type)
        for k, v in headers.items():
            h.send_header(k, v)
        if isinstance(body, bytes):
            if "Content-Length" not in headers:
                h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if req.method != "HEAD":
                h.wfile.write(body)
            return
        # streamed: close-delimited body
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        for chunk in body:
            h.wfile.write(chunk)
            h.wfile.flush()


class WebhookReceiver(LocalHTTPServer):
    """Records POSTed webhooks; answers from ``script`` (a list of Routes, one per request,
    the last repeating), 200 by default."""

    def __init__(self, path: str = "/hook") -> None:
        super().__init__()
        self.path = path
        self.script: list[Route] = [Route(b'{"ok":true}', content_type="application/json")]
        self.routes[path] = self._answer

    def _answer(self, req: Request) -> Route:
        with self._lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    @property
    def hook_url(self) -> str:
        return self.url(self.path)

    def posts(self) -> list[Request]:
        return [r for r in self.hits(self.path) if r.method == "POST"]

    def accepted(self) -> list[Request]:
        """POSTs that were answered 2xx (the script is consumed in order)."""
        return [r for r in self.posts() if r.status is not None and r.status < 300]


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class LocalSMTPServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    ``stop()`` and ``start()`` again (on the same port) simulate an outage.
    """

    def __init__(self, port: int = 0) -> None:
        self.messages: list[ReceivedMail] = []
        self._port = port or _free_port()
        self._controller: Any = None

    def start(self) -> LocalSMTPServer:
        from aiosmtpd.controller import Controller

        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(
                    ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
                )
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self._port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._port}"

    def __enter__(self) -> LocalSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def endless(chunk: bytes = b"x" * 65536) -> Iterator[bytes]:
    """A body that never ends (for size-cap tests); the client must stop reading."""
    while True:
        yield chunk
