"""Fetcher against a real local HTTP server: 304, Retry-After, redirects, 410, caps, timeouts,
per-host limits, robots.txt."""

from __future__ import annotations

import base64
import gzip
import socket
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.support.servers import LocalHTTPServer, Request, Route, endless
from watcher.config import FetchConfig
from watcher.errors import FetchError
from watcher.http import Fetcher, make_client, parse_retry_after

FIXED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["h1", "httpx", "aiohttp"])
async def fetcher(request: pytest.FixtureRequest) -> AsyncIterator[Fetcher]:
    cfg = FetchConfig(max_bytes=1024 * 1024, timeout=2.0, connect_timeout=1.0)
    async with make_client(cfg, backend=request.param) as client:
        yield Fetcher(client, cfg, wallclock=lambda: FIXED_NOW)


async def test_conditional_get_returns_not_modified(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/feed"] = Route(b"<rss/>", last_modified="Wed, 25 Nov 2026 10:00:00 GMT")
    first = await fetcher.fetch(http_server.url("/feed"))
    assert first.status == 200 and first.body == b"<rss/>" and first.etag
    second = await fetcher.fetch(http_server.url("/feed"), etag=first.etag)
    assert second.not_modified and second.body == b"" and second.status == 304
    third = await fetcher.fetch(http_server.url("/feed"), last_modified=first.last_modified)
    assert third.not_modified
    assert http_server.hits("/feed")[1].headers["if-none-match"] == first.etag
    assert "ai-news-watcher" in http_server.hits("/feed")[0].headers["user-agent"]


async def test_retry_after_seconds_blocks_the_host(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/limited"] = Route(b"slow down", status=429, headers={"Retry-After": "120"})
    http_server.routes["/other"] = Route(b"fine")
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/limited"))
    assert info.value.status == 429 and info.value.retry_after == 120
    # another URL on the same host is not requested while the host asked us to wait
    with pytest.raises(FetchError, match="Retry-After") as again:
        await fetcher.fetch(http_server.url("/other"))
    assert again.value.retry_after is not None and 0 < again.value.retry_after <= 120
    assert http_server.hits("/other") == []


async def test_retry_after_http_date(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    when = format_datetime(FIXED_NOW + timedelta(seconds=300), usegmt=True)
    http_server.routes["/busy"] = Route(b"", status=503, headers={"Retry-After": when})
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/busy"))
    assert info.value.status == 503 and info.value.retry_after == 300


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("7", FIXED_NOW) == 7
    assert parse_retry_after("Sat, 28 Nov 2026 12:01:00 GMT", FIXED_NOW) == 60
    assert parse_retry_after("Sat, 28 Nov 2026 11:00:00 GMT", FIXED_NOW) == 0
    assert parse_retry_after("soon", FIXED_NOW) is None
    assert parse_retry_after(None, FIXED_NOW) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\u00b2", None),  # "²".isdigit() is True: float() of it raised ValueError
        ("\u0661\u0662", None),  # Arabic-Indic digits
        ("1" * 25, None),  # 25 digits: not a delta-seconds we accept
        ("999999999", 24 * 3600.0),  # clamped to a day
        ("Fri, 31 Dec 9999 23:59:59 GMT", 24 * 3600.0),
        ("-5", None),
    ],
)
def test_parse_retry_after_hostile_values(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, FIXED_NOW) == expected


@pytest.mark.parametrize("value", ["\u00b2", "1" * 25, "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_hostile_retry_after_is_a_fetch_error(
    http_server: LocalHTTPServer, fetcher: Fetcher, value: str
) -> None:
    # review2 #3: a 429 with a strange Retry-After is an ordinary FetchError, never a ValueError
    http_server.routes["/limited"] = Route(b"", status=429, headers={"Retry-After": value})
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/limited"))
    assert info.value.status == 429
    assert info.value.retry_after is None or info.value.retry_after <= 24 * 3600


async def test_permanent_and_temporary_redirects(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/old"] = Route(b"", status=301, headers={"Location": "/new"}, etag=False)
    http_server.routes["/tmp"] = Route(b"", status=302, headers={"Location": "/new"}, etag=False)
    http_server.routes["/new"] = Route(b"<rss/>")
    doc = await fetcher.fetch(http_server.url("/old"))
    assert doc.url == http_server.url("/new") and doc.permanent_redirect == http_server.url("/new")
    doc = await fetcher.fetch(http_server.url("/tmp"))
    assert doc.url == http_server.url("/new") and doc.permanent_redirect is None


async def test_gone_is_permanent(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    http_server.routes["/gone"] = Route(b"gone", status=410)
    http_server.routes["/missing"] = Route(b"?", status=404)
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/gone"))
    assert info.value.permanent and info.value.status == 410
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/missing"))
    assert not info.value.permanent and info.value.status == 404


async def test_endless_body_is_cut_at_the_cap(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/endless"] = Route(endless(), etag=False)
    with pytest.raises(FetchError, match="larger than"):
        await fetcher.fetch(http_server.url("/endless"))


async def test_declared_length_over_cap_is_refused(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/big"] = Route(b"x" * (2 * 1024 * 1024), etag=False)
    with pytest.raises(FetchError, match="larger than"):
        await fetcher.fetch(http_server.url("/big"))


async def test_gzip_bomb_is_stopped(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024  # under the raw cap: only the decompressed cap can stop it
    http_server.routes["/bomb"] = Route(bomb, headers={"Content-Encoding": "gzip"}, etag=False)
    with pytest.raises(FetchError, match="decompressed body larger than"):
        await fetcher.fetch(http_server.url("/bomb"))


async def test_gzip_and_deflate_bodies_are_decoded(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    import zlib

    http_server.routes["/gz"] = Route(
        gzip.compress(b"<rss>gz</rss>"), headers={"Content-Encoding": "gzip"}
    )
    http_server.routes["/df"] = Route(
        zlib.compress(b"<rss>df</rss>"), headers={"Content-Encoding": "deflate"}
    )
    raw = zlib.compressobj(wbits=-15)
    http_server.routes["/raw"] = Route(
        raw.compress(b"<rss>raw</rss>") + raw.flush(), headers={"Content-Encoding": "deflate"}
    )
    assert (await fetcher.fetch(http_server.url("/gz"))).body == b"<rss>gz</rss>"
    assert (await fetcher.fetch(http_server.url("/df"))).body == b"<rss>df</rss>"
    assert (await fetcher.fetch(http_server.url("/raw"))).body == b"<rss>raw</rss>"


async def test_slow_response_times_out(http_server: LocalHTTPServer) -> None:
    cfg = FetchConfig(timeout=0.3, connect_timeout=0.3)
    http_server.routes["/slow"] = Route(b"late", delay=1.5)
    async with make_client(cfg) as client:
        with pytest.raises(FetchError, match="timed out"):
            await Fetcher(client, cfg).fetch(http_server.url("/slow"))


async def test_slow_drip_body_hits_the_whole_request_deadline(http_server: LocalHTTPServer) -> None:
    def drip():  # type: ignore[no-untyped-def]
        for _ in range(50):
            time.sleep(0.1)
            yield b"x"

    cfg = FetchConfig(timeout=0.5, connect_timeout=0.3)
    http_server.routes["/drip"] = Route(drip(), etag=False)
    async with make_client(cfg) as client:
        with pytest.raises(FetchError, match="timed out"):
            await Fetcher(client, cfg).fetch(http_server.url("/drip"))


async def test_connection_refused_is_a_fetch_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.fetch("http://127.0.0.1:9/feed")
    assert info.value.status is None


async def test_per_host_limit(http_server: LocalHTTPServer) -> None:
    import asyncio

    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def handler(req: Request) -> Route:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return Route(b"ok", etag=False)

    for i in range(6):
        http_server.routes[f"/p{i}"] = handler
    cfg = FetchConfig(per_host=2, max_connections=16)
    async with make_client(cfg) as client:
        f = Fetcher(client, cfg)
        docs = await asyncio.gather(*(f.fetch(http_server.url(f"/p{i}")) for i in range(6)))
    assert all(d.body == b"ok" for d in docs)
    assert state["max"] == 2


async def test_robots_txt_is_honoured(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    http_server.routes["/robots.txt"] = Route(
        b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    http_server.routes["/private/a"] = Route(b"secret")
    http_server.routes["/public/a"] = Route(b"hello")
    with pytest.raises(FetchError, match=r"robots\.txt"):
        await fetcher.fetch(http_server.url("/private/a"), check_robots=True)
    assert (await fetcher.fetch(http_server.url("/public/a"), check_robots=True)).body == b"hello"
    # feeds are fetched without asking robots.txt; robots.txt itself is fetched once per host
    assert (await fetcher.fetch(http_server.url("/private/a"))).body == b"secret"
    assert len(http_server.hits("/robots.txt")) == 1
    assert (
        http_server.hits("/private/a")[0]
        .headers.get("user-agent", "")
        .startswith("ai-news-watcher")
    )


async def test_robots_txt_with_utf8_bom_is_honoured(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    # review2 #6: the BOM glued to the first "User-agent" line made the whole file ignored
    http_server.routes["/robots.txt"] = Route(
        "\ufeffUser-agent: *\nDisallow: /private/\n".encode(), content_type="text/plain"
    )
    http_server.routes["/private/a"] = Route(b"secret")
    http_server.routes["/public/a"] = Route(b"hello")
    with pytest.raises(FetchError, match=r"robots\.txt"):
        await fetcher.fetch(http_server.url("/private/a"), check_robots=True)
    assert (await fetcher.fetch(http_server.url("/public/a"), check_robots=True)).body == b"hello"


async def test_missing_robots_txt_allows_everything(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/a"] = Route(b"page")
    assert (await fetcher.fetch(http_server.url("/a"), check_robots=True)).body == b"page"


def test_gzip_bomb_fixture_is_not_all_in_memory() -> None:
    # the decoder stops early: it never holds more than the cap plus one step
    from watcher.http import _Decoder

    d = _Decoder("gzip", 1000, "http://x")
    with pytest.raises(FetchError):
        d.feed(gzip.compress(b"\0" * 10_000_000))
    assert d.size <= 1001


async def test_refused_connection_is_not_called_a_timeout(fetcher: Fetcher) -> None:
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert "timed out" not in err.value.reason
    assert "connect" in err.value.reason.lower()


async def test_a_redirect_with_an_endless_body_is_not_read_to_its_end(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """httpx reads a redirect's body whole, with no cap: the Fetcher follows redirects itself
    and drops a redirect's connection after 64 KiB of its body (review 11)."""
    http_server.routes["/moved"] = Route(endless(), status=302, headers={"Location": "/final"})
    http_server.routes["/final"] = Route(b"arrived")
    doc = await fetcher.fetch(http_server.url("/moved"))
    assert doc.body == b"arrived" and doc.url.endswith("/final")
    assert doc.permanent_redirect is None  # a 302: the source keeps its URL


@pytest.mark.parametrize("url", ["http://[::1/feed", "http://256.1.1.1/feed"])
async def test_invalid_urls_are_permanent_fetch_errors(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="invalid URL") as info:
        await fetcher.fetch(url)
    assert info.value.permanent


async def test_cookies_live_only_along_one_fetch_s_redirects(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """A consent redirect that sets a cookie and sends us back works; the cookie is not
    kept for later fetches (no jar across polls: nothing follows the user around)."""

    def gate(req: Request) -> Route:
        if "consent=yes" in req.headers.get("cookie", ""):
            return Route(b"the article")
        return Route(b"", status=302, headers={"Location": "/consent"}, etag=False)

    http_server.routes["/article"] = gate
    http_server.routes["/consent"] = Route(
        b"", status=302, headers={"Location": "/article", "Set-Cookie": "consent=yes; Path=/"}
    )
    doc = await fetcher.fetch(http_server.url("/article"))
    assert doc.body == b"the article"
    assert [r.headers.get("cookie") for r in http_server.hits("/article")] == [None, "consent=yes"]
    again = await fetcher.fetch(http_server.url("/article"))  # a new fetch: a new consent
    assert again.body == b"the article"
    assert [r.headers.get("cookie") for r in http_server.hits("/article")][2:] == [
        None,
        "consent=yes",
    ]


async def test_retry_after_blocks_the_host_that_answered_after_a_redirect(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """127.0.0.1 redirects to localhost (another host), which answers 429: localhost is the
    one blocked, and a later redirect there is refused without asking it (review 12)."""
    elsewhere = http_server.url("/limited").replace("127.0.0.1", "localhost")
    http_server.routes["/hop"] = Route(b"", status=302, headers={"Location": elsewhere})
    http_server.routes["/limited"] = Route(b"wait", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match="429"):
        await fetcher.fetch(http_server.url("/hop"))
    assert fetcher.blocked_for(elsewhere) > 0
    assert fetcher.blocked_for(http_server.url("/hop")) == 0
    with pytest.raises(FetchError, match="redirect target asked us to wait") as info:
        await fetcher.fetch(http_server.url("/hop"))
    assert info.value.retry_after is not None and len(http_server.hits("/limited")) == 1


async def test_redirect_hops_are_built_like_httpx_builds_them(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """A relative Location, then one to another host (localhost): each hop carries the Host of
    its own URL and the conditional headers, and no cookie was set so none is sent."""
    other = http_server.url("/b/final").replace("127.0.0.1", "localhost")
    http_server.routes["/a/start"] = Route(
        b"", status=302, headers={"Location": "../b/next?x=1"}, etag=False
    )
    http_server.routes["/b/next"] = Route(b"", status=307, headers={"Location": other}, etag=False)
    http_server.routes["/b/final"] = Route(b"<rss/>")
    doc = await fetcher.fetch(http_server.url("/a/start"), etag='"v1"')
    assert (doc.url, doc.body, doc.permanent_redirect) == (other, b"<rss/>", None)
    hops = [*http_server.hits("/a/start"), *http_server.hits("/b/next?x=1")]
    hops += http_server.hits("/b/final")
    assert len(hops) == 3
    port = http_server.url("").rsplit(":", 1)[1]
    assert [h.headers["host"] for h in hops] == [f"127.0.0.1:{port}"] * 2 + [f"localhost:{port}"]
    assert [h.headers["if-none-match"] for h in hops] == ['"v1"'] * 3
    assert all("cookie" not in h.headers for h in hops)
    assert len({h.headers["user-agent"] for h in hops}) == 1


async def test_credentials_in_the_url_are_sent_and_stay_with_their_origin(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """``http://user:pass@host/feed`` logs in with Basic auth (review 13: the direct send to
    the transport had dropped it); a redirect on the same origin keeps the header, one to
    another host (localhost) does not get it."""
    want = "Basic " + base64.b64encode(b"alice:s3cret").decode()

    def private(req: Request) -> Route:
        if req.headers.get("authorization") != want:
            return Route(b"denied", status=401, etag=False)
        return Route(b"<rss/>", etag=False)

    http_server.routes["/private.rss"] = private
    http_server.routes["/moved.rss"] = Route(
        b"", status=301, headers={"Location": "/private.rss"}, etag=False
    )
    elsewhere = http_server.url("/open.rss").replace("127.0.0.1", "localhost")
    http_server.routes["/away.rss"] = Route(
        b"", status=302, headers={"Location": elsewhere}, etag=False
    )
    http_server.routes["/open.rss"] = Route(b"<rss>open</rss>", etag=False)
    with_user = http_server.url("").replace("http://", "http://alice:s3cret@")
    doc = await fetcher.fetch(with_user + "/private.rss")
    assert (doc.status, doc.body) == (200, b"<rss/>")
    doc = await fetcher.fetch(with_user + "/moved.rss")  # same origin: still logged in
    assert doc.body == b"<rss/>"
    doc = await fetcher.fetch(with_user + "/away.rss")
    assert doc.body == b"<rss>open</rss>"
    assert "authorization" not in http_server.hits("/open.rss")[0].headers
    assert http_server.hits("/away.rss")[0].headers["authorization"] == want


async def test_a_redirect_to_a_bad_location_is_an_error(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/bad"] = Route(b"", status=302, headers={"Location": "http://[::1"})
    with pytest.raises(FetchError, match="Invalid URL in location header"):
        await fetcher.fetch(http_server.url("/bad"))
    http_server.routes["/ftp"] = Route(b"", status=301, headers={"Location": "ftp://x.test/f"})
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/ftp"))
    assert "UnsupportedProtocol" in str(info.value)
    assert len(http_server.hits("/ftp")) == 1


async def test_a_redirect_without_location_is_an_error(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/lost"] = Route(b"nowhere to go", status=302)
    with pytest.raises(FetchError, match="302 without a Location") as info:
        await fetcher.fetch(http_server.url("/lost"))
    assert info.value.status == 302


async def test_an_invalid_host_is_permanent_even_with_robots_checks(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="invalid URL") as info:
        await fetcher.fetch("http://256.1.1.1/page", check_robots=True)
    assert info.value.permanent


async def test_no_transport_keeps_cookies_for_a_named_host(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """The same on a host name (aiohttp's own jar ignores IP hosts, and kept the rest)."""
    http_server.routes["/set"] = Route(b"set", headers={"Set-Cookie": "tracker=abc; Path=/"})
    http_server.routes["/next"] = Route(b"next")
    await fetcher.fetch(http_server.url("/set").replace("127.0.0.1", "localhost"))
    await fetcher.fetch(http_server.url("/next").replace("127.0.0.1", "localhost"))
    assert http_server.hits("/next")[0].headers.get("cookie") is None


async def test_a_proxy_in_the_environment_is_used(
    http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """h1 speaks no proxy: with HTTP_PROXY set, `auto` runs on httpx's own transport, which
    sends the request to the proxy (review 12: httpx-aiohttp went to the origin)."""
    monkeypatch.setenv("HTTP_PROXY", http_server.base)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    http_server.routes["http://origin.invalid/feed"] = Route(b"via the proxy")
    cfg = FetchConfig(max_bytes=1024 * 1024, timeout=2.0, connect_timeout=1.0)
    async with make_client(cfg) as client:
        doc = await Fetcher(client, cfg).fetch("http://origin.invalid/feed")
    assert doc.body == b"via the proxy"


async def test_an_unreachable_robots_txt_says_so_instead_of_disallowed(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    """A robots.txt that cannot be fetched refuses the host for a while (RFC 9309); the error
    says why, so that `watcher sources` does not show a dead host as 'disallowed'."""
    http_server.routes["/robots.txt"] = Route(b"down", status=503, content_type="text/plain")
    http_server.routes["/page"] = Route(b"page")
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(http_server.url("/page"), check_robots=True)
    assert info.value.reason.startswith("robots.txt unreachable (HTTP 503)")
    assert not info.value.permanent and http_server.hits("/page") == []
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there
    with pytest.raises(FetchError, match=r"robots\.txt unreachable \(cannot connect: "):
        await fetcher.fetch(f"http://127.0.0.1:{port}/page", check_robots=True)


@pytest.mark.parametrize(
    "given",
    [{}, {"If-None-Match": '"e1"'}, {"accept": "text/html", "If-Modified-Since": "x"}],
    ids=["none", "conditional", "replaces-accept"],
)
async def test_the_direct_request_is_the_one_httpx_builds(given: dict[str, str]) -> None:
    """``get_request`` (the Fetcher's quick path) makes exactly the request ``build_request``
    makes: the same headers in the same case and order, the same timeouts (review 13)."""
    async with make_client(FetchConfig(timeout=7.0, connect_timeout=2.0), backend="h1") as c:
        quick = c.get_request("http://x.test/feed?a=1", given)  # type: ignore[attr-defined]
        built = c.build_request("GET", "http://x.test/feed?a=1", headers=given)
        assert quick.headers.raw == built.headers.raw
        assert quick.extensions == built.extensions and quick.url == built.url


async def test_a_closed_client_refuses_to_send_directly() -> None:
    client = make_client(FetchConfig(), backend="h1")
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.send_direct(client.get_request("http://x.test/", {}))  # type: ignore[attr-defined]
