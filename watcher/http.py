"""Polite HTTP fetching: one httpx client, conditional GET, streamed bodies with a raw and a
decompressed size cap, a per-host and a global concurrency limit, a whole-request deadline,
Retry-After scoped to the host, and robots.txt for page/sitemap/article fetches."""

from __future__ import annotations

import asyncio
import functools
import re
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from watcher.config import FetchConfig
from watcher.errors import FetchError

__all__ = ["FetchedDoc", "Fetcher", "make_client", "make_transport", "parse_retry_after"]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
RETRY_STATUSES = {429, 503}
_PERMANENT_REDIRECTS = {301, 308}
_REDIRECT_BODY = 64 * 1024  # bytes of a redirect's body read before its connection is dropped


Backend = Literal["auto", "h1", "httpx", "aiohttp"]


def make_transport(cfg: FetchConfig, backend: Backend = "auto") -> httpx.AsyncBaseTransport | None:
    """The transport under the client. ``auto``: :mod:`watcher.h1`, unless a proxy is set in
    the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), which it does not speak: then
    httpx's own (``None``), which honours those and NO_PROXY (review 12: httpx-aiohttp's
    session ignores them).

    Measured in bench/poll (2 cores, loopback): httpx's own transport costs 1.1-3.4 ms of CPU
    per request and gets slower as concurrency grows (8 -> 128: ~900 -> ~300 req/s);
    httpx-aiohttp ~0.26 ms at every concurrency, plus ~0.08 s to import; h1 ~0.1 ms and
    nothing to import.
    """
    proxied = backend == "auto" and _proxies_in_env()
    if backend == "h1" or (backend == "auto" and not proxied):
        from watcher.h1 import H1Transport

        return H1Transport(max_connections=cfg.max_connections, trust_env=True)
    if backend == "httpx" or proxied:
        return None
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    class _Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            # httpx builds redirect requests with an unread (empty) stream, which
            # httpx-aiohttp would send as a chunked body on a GET: read it first.
            content = await request.aread()
            if request.url.userinfo:  # httpx made it an Authorization header already, and
                request = httpx.Request(  # aiohttp refuses both (the caller's stays as is)
                    request.method,
                    request.url.copy_with(userinfo=b""),
                    headers=request.headers,
                    content=content,
                    extensions=request.extensions,
                )
            return await super().handle_async_request(request)

    def session() -> aiohttp.ClientSession:
        # aiohttp's default jar would keep cookies from one fetch to the next (review 12)
        connector = aiohttp.TCPConnector(
            limit=cfg.max_connections, ssl=httpx.create_ssl_context(trust_env=True)
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return _Transport(client=session)


def _proxies_in_env() -> bool:
    """Whether the environment names a proxy (the ``*_proxy`` variables httpx honours)."""
    import os

    names = ("http_proxy", "https_proxy", "all_proxy")
    return any(os.environ.get(n) or os.environ.get(n.upper()) for n in names)


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing (see :class:`_Client`)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _Client(httpx.AsyncClient):
    """An httpx client that keeps no cookies from one request to the next.

    A feed reader should not carry a site's cookies around (newsboat, rss2email and Miniflux
    do not): they would follow the user from poll to poll, and a daemon's jar would grow with
    every site it ever reads. Cookies set along one fetch's redirects are still sent on its
    next hops (:meth:`Fetcher._get`). Skipping httpx's per-response cookie extraction also
    saves ~15% of a request's CPU (bench/poll, warm)."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None, **kwargs: Any) -> None:
        super().__init__(transport=transport, **kwargs)
        # Requests go straight to this transport (send_direct), unless it is httpx's own or a
        # proxy in the environment makes httpx mount transports of its own for some URLs.
        self._direct = transport if transport is not None and not _proxies_in_env() else None
        # the client's headers as build_request sends them (names in their own case)
        self._request_headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers.raw
        }
        self._request_extensions = {"timeout": self.timeout.as_dict()}

    def get_request(self, url: str, headers: Mapping[str, str]) -> httpx.Request:
        """A GET of ``url`` with the client's headers and timeouts (:meth:`build_request` with
        nothing else to merge: no base URL, parameters or cookies)."""
        if headers:  # a header given here replaces the client's of that name, in any case
            given = {k.lower() for k in headers}
            merged = {k: v for k, v in self._request_headers.items() if k.lower() not in given}
            merged.update(headers)
        else:
            merged = self._request_headers
        return httpx.Request("GET", url, headers=merged, extensions=self._request_extensions)

    async def send_direct(self, request: httpx.Request) -> httpx.Response:
        """:meth:`send` (streamed, redirects not followed) without what this client does not
        use (auth, cookies, event hooks, the per-request log line, the elapsed-time wrapper):
        ~30% of a request's CPU with :mod:`watcher.h1` (bench/poll, warm)."""
        if self._direct is None or request.url.userinfo:  # (httpx turns user:pass into auth)
            return await self.send(request, stream=True, follow_redirects=False)
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = await self._direct.handle_async_request(request)
        response.request = request
        return response

    @property
    def cookies(self) -> httpx.Cookies:
        jar = self.__dict__.get("_no_cookies")
        if jar is None:
            jar = self.__dict__["_no_cookies"] = _NoCookies()
        return jar

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        return None  # nothing is kept


def make_client(
    cfg: FetchConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    backend: Backend = "auto",
) -> httpx.AsyncClient:
    """The one client of the service: timeouts, connection limits, User-Agent, redirects, no
    cookie jar (:class:`_Client`).

    ``transport`` wins when given (tests); otherwise :func:`make_transport` picks one.
    """
    return _Client(
        transport=transport or make_transport(cfg, backend),
        timeout=httpx.Timeout(cfg.timeout, connect=cfg.connect_timeout),
        limits=httpx.Limits(
            max_connections=cfg.max_connections,
            max_keepalive_connections=cfg.max_connections,
        ),
        headers={
            "User-Agent": cfg.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        },
        follow_redirects=True,
        max_redirects=10,
    )


@dataclass(frozen=True, slots=True)
class FetchedDoc:
    """A fetched document. ``not_modified``: the server answered 304 (``body`` is empty)."""

    url: str  # final URL after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    not_modified: bool = False
    permanent_redirect: str | None = None  # set when every redirect hop was 301/308
    elapsed_ms: int = 0

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def max_age(self) -> float | None:
        """``Cache-Control: max-age`` in seconds, if any."""
        for part in self.headers.get("cache-control", "").split(","):
            name, _, value = part.strip().partition("=")
            if name.lower() == "max-age":
                try:
                    return max(0.0, float(value.strip('"')))
                except ValueError:
                    return None
        return None


MAX_RETRY_AFTER = 24 * 3600.0
_DELTA_SECONDS = re.compile(r"[0-9]{1,9}", re.ASCII)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds (ASCII digits only) or an HTTP
    date, clamped to ``[0, MAX_RETRY_AFTER]``; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(value), MAX_RETRY_AFTER)
    if value.isdigit() or not value.isascii():
        return None  # too many digits, or non-ASCII digits such as "²"
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return MAX_RETRY_AFTER
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _connection_cause(exc: BaseException) -> str | None:
    """The underlying connection failure (refused, DNS, unreachable) of a transport error that
    was reported as a timeout, or ``None`` when it really was a timeout."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionError | OSError) and not isinstance(cur, TimeoutError):
            return cur.strerror or str(cur) or type(cur).__name__
        name = type(cur).__name__
        if name in ("ClientConnectorError", "ClientConnectorDNSError", "ClientOSError"):
            return str(cur) or name
        cur = cur.__cause__ or cur.__context__
    return None


def redirect_request(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    """The GET a redirect leads to, as httpx builds it for a GET (``Location`` relative to the
    request, a missing host taken from it, the fragment kept; ``Host`` for the new URL; no
    ``Authorization`` once it leaves the origin, unless it only moves from http to https; no
    ``Cookie``: :meth:`Fetcher._get` sets the cookies of the fetch's own redirects)."""
    try:
        url = httpx.URL(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(
            f"Invalid URL in location header: {exc}.", request=request
        ) from None
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    headers = httpx.Headers(request.headers)
    src, dst = _origin(request.url), _origin(url)
    https_upgrade = src == ("http", url.host, 80) and dst == ("https", url.host, 443)
    if src != dst and not https_upgrade:  # credentials stay with their origin
        headers.pop("authorization", None)
    headers.pop("host", None)  # set again from the new URL
    headers.pop("cookie", None)
    return httpx.Request("GET", url, headers=headers, extensions=request.extensions)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port if url.port is not None else {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


class _Decoder:
    """Content-Encoding decoder with a bound on output size (gzip bombs stop early)."""

    def __init__(self, encoding: str, limit: int, url: str) -> None:
        encoding = encoding.strip().lower()
        self.url = url
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        if encoding in ("", "identity"):
            self.z: zlib._Decompress | None = None
        elif encoding in ("gzip", "x-gzip"):
            self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.z = zlib.decompressobj(zlib.MAX_WBITS)
            self._deflate_probe = True
        else:
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes) -> None:
        if self.z is None:
            self._add(data)
            return
        try:
            while data:
                room = self.limit - self.size + 1
                out = self.z.decompress(data, room)
                self._add(out)
                data = self.z.unconsumed_tail
        except zlib.error as exc:
            if getattr(self, "_deflate_probe", False) and self.size == 0:
                self.z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
                self._deflate_probe = False
                self.feed(data)
                return
            raise FetchError(self.url, f"corrupt compressed body: {exc}") from exc

    def _add(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.limit:
            raise FetchError(self.url, f"decompressed body larger than {self.limit} bytes")
        if out:
            self.parts.append(out)

    def finish(self) -> bytes:
        if self.z is not None:
            self._add(self.z.flush())
        return b"".join(self.parts)


@dataclass
class Fetcher:
    """Fetches URLs through ``client`` with the limits of ``cfg``.

    ``clock`` (monotonic seconds) scopes Retry-After per host; ``wallclock`` resolves
    HTTP-date Retry-After values. Both are injectable for tests.
    """

    client: httpx.AsyncClient
    cfg: FetchConfig
    max_decoded: int | None = None  # default: 4 x cfg.max_bytes
    clock: Callable[[], float] = time.monotonic
    wallclock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict, init=False)
    _global: asyncio.Semaphore | None = field(default=None, init=False)
    _blocked: dict[str, float] = field(default_factory=dict, init=False)
    _robots: object | None = field(default=None, init=False)

    def _host_sem(self, host: str) -> asyncio.Semaphore:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.cfg.per_host)
        return sem

    def blocked_for(self, url: str) -> float:
        """Seconds until the host of ``url`` may be asked again (0: not blocked)."""
        return self._blocked_for(host_of(url))

    def _blocked_for(self, host: str) -> float:
        until = self._blocked.get(host)
        return 0.0 if until is None else max(0.0, until - self.clock())

    def block_host(self, url: str, seconds: float) -> None:
        host = host_of(url)
        until = self.clock() + seconds
        self._blocked[host] = max(until, self._blocked.get(host, 0.0))

    async def robots_refusal(self, url: str) -> str | None:
        """Why robots.txt keeps us from ``url`` (cached per host; see
        :meth:`watcher.robots.RobotsCache.refusal`), or ``None`` when it does not."""
        if not self.cfg.respect_robots:
            return None
        from watcher.robots import RobotsCache

        if self._robots is None:
            self._robots = RobotsCache(self)
        assert isinstance(self._robots, RobotsCache)
        return await self._robots.refusal(url)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        check_robots: bool = False,
        max_bytes: int | None = None,
    ) -> FetchedDoc:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given).

        Raises :class:`FetchError` for network errors, timeouts, caps, robots.txt refusals and
        non-2xx/304 answers (``permanent=True`` for 410 Gone; ``retry_after`` on 429/503).
        """
        # urlsplit refuses an unclosed IPv6 bracket, httpx a host such as 256.1.1.1. httpx
        # parses the URL again when it builds the request (an InvalidURL caught below), so
        # it is parsed here only when robots.txt is asked first.
        try:
            host = host_of(url)
            if check_robots:
                httpx.URL(url)
        except (ValueError, httpx.InvalidURL) as exc:
            raise FetchError(url, f"invalid URL: {exc}", permanent=True) from exc
        wait = self._blocked_for(host)
        if wait > 0:
            raise FetchError(url, "host asked us to wait (Retry-After)", retry_after=wait)
        if check_robots and (refused := await self.robots_refusal(url)) is not None:
            raise FetchError(url, refused)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if self._global is None:
            self._global = asyncio.Semaphore(self.cfg.max_connections)
        cap = max_bytes or self.cfg.max_bytes
        started = self.clock()
        async with self._global, self._host_sem(host):
            try:
                async with asyncio.timeout(self.cfg.timeout):
                    doc = await self._get(url, headers, cap)
            except FetchError:
                raise
            except (TimeoutError, httpx.TimeoutException) as exc:
                refused = _connection_cause(exc)
                if refused:  # httpx-aiohttp reports a refused connection as ConnectTimeout
                    raise FetchError(url, f"cannot connect: {refused}") from exc
                raise FetchError(url, f"timed out after {self.cfg.timeout:g}s") from exc
            except httpx.TooManyRedirects as exc:
                raise FetchError(url, "too many redirects") from exc
            except httpx.ConnectError as exc:  # refused, unknown host, TLS handshake
                raise FetchError(url, f"cannot connect: {exc or type(exc).__name__}") from exc
            except httpx.InvalidURL as exc:  # e.g. a host 256.1.1.1 (not an HTTPError)
                raise FetchError(url, f"invalid URL: {exc}", permanent=True) from exc
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                raise FetchError(url, f"{type(exc).__name__}: {reason}") from exc
        elapsed = int((self.clock() - started) * 1000)
        return FetchedDoc(
            doc.url,
            doc.status,
            doc.headers,
            doc.body,
            doc.not_modified,
            doc.permanent_redirect,
            elapsed,
        )

    async def _get(self, url: str, headers: dict[str, str], cap: int) -> FetchedDoc:
        """Follows redirects itself: httpx reads a redirect's body whole (no cap), here at
        most ``_REDIRECT_BODY`` bytes of it are read (so the connection can be reused)."""
        client = self.client
        if isinstance(client, _Client):
            request = client.get_request(url, headers)
            send = client.send_direct
        else:  # any other httpx client (tests): its own request building and sending
            request = client.build_request("GET", url, headers=headers)
            send = functools.partial(client.send, stream=True, follow_redirects=False)
        hops: list[int] = []
        jar: httpx.Cookies | None = None  # cookies set along this fetch's redirects only
        while True:
            resp = await send(request)
            try:
                if not resp.has_redirect_location:
                    return await self._read(url, resp, hops, cap)
                if len(hops) >= client.max_redirects:
                    raise httpx.TooManyRedirects("too many redirects", request=request)
                hops.append(resp.status_code)
                request = redirect_request(request, resp)
                wait = self._blocked_for(host_of(str(request.url)))
                if wait > 0:  # the redirect's host asked us to wait, not only the first one
                    raise FetchError(
                        url, "redirect target asked us to wait (Retry-After)", retry_after=wait
                    )
                if "set-cookie" in resp.headers:
                    jar = jar if jar is not None else httpx.Cookies()
                    jar.extract_cookies(resp)
                if jar:
                    jar.set_cookie_header(request)
                seen = 0
                async for chunk in resp.aiter_raw():
                    seen += len(chunk)
                    if seen > _REDIRECT_BODY:
                        break  # closed below instead of read to its end
            finally:
                await resp.aclose()

    async def _read(self, url: str, resp: httpx.Response, hops: list[int], cap: int) -> FetchedDoc:
        final = str(resp.url)
        permanent = None
        if hops and all(code in _PERMANENT_REDIRECTS for code in hops):
            permanent = final
        rh = {k.lower(): v for k, v in resp.headers.items()}
        status = resp.status_code
        if status == 304:
            return FetchedDoc(final, 304, rh, b"", True, permanent)
        if 300 <= status < 400:  # redirects are followed in _get: this one has no Location
            raise FetchError(url, f"HTTP {status} without a Location", status=status)
        if status >= 400 or status < 200:
            self._raise_status(url, status, rh, final)
        length = rh.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise FetchError(url, f"body larger than {cap} bytes ({length})", status=status)
        decoder = _Decoder(
            rh.get("content-encoding", ""), self.max_decoded or 4 * self.cfg.max_bytes, url
        )
        raw = 0
        async for chunk in resp.aiter_raw():
            raw += len(chunk)
            if raw > cap:
                raise FetchError(url, f"body larger than {cap} bytes", status=status)
            decoder.feed(chunk)
        body = decoder.finish()
        rh.pop("content-encoding", None)
        return FetchedDoc(final, status, rh, body, False, permanent)

    def _raise_status(
        self, url: str, status: int, headers: Mapping[str, str], final: str | None = None
    ) -> None:
        """The error for a status; a 429/503 Retry-After blocks the host that answered
        (``final``, the last hop of the redirects), not the first one (review 12)."""
        retry_after = None
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(headers.get("retry-after"), self.wallclock())
            if retry_after is not None:
                self.block_host(final or url, retry_after)
        reason = f"HTTP {status}" + (
            f" (Retry-After {retry_after:.0f}s)" if retry_after is not None else ""
        )
        if status == 410:
            reason = "HTTP 410 Gone"
        raise FetchError(
            url, reason, status=status, retry_after=retry_after, permanent=status == 410
        )
