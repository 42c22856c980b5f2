"""The poll engine end to end against a real local server and a real SQLite store."""

from __future__ import annotations

import base64
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fetch.conftest import KeywordRules, fixture_bytes, make_config
from tests.support.servers import LocalHTTPServer, Request, Route
from watcher.health import source_health
from watcher.pipeline import Poller

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"


def rss(items: list[tuple[str, str, str]], ttl: int | None = None) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{d}</description><pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate></item>"
        for t, link, d in items
    )
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>http://x/</link>{ttl_el}{body}</channel></rss>"
    ).encode()


def serve_articles(server: LocalHTTPServer) -> None:
    server.routes["/2026/11/25/orbital-labs-data-centers"] = Route(
        fixture_bytes("pages", "article-en.html")
    )
    server.routes["/2026/11/26/xinghe-compute-center-5678"] = Route(
        fixture_bytes("pages", "article-gbk.html"), content_type="text/html"
    )


async def test_fulltext_poll_then_not_modified(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    serve_articles(http_server)
    http_server.routes["/feed"] = Route(
        rss(
            [
                (
                    "Orbital Labs data centers",
                    http_server.url("/2026/11/25/orbital-labs-data-centers?utm_source=rss"),
                    "Teaser.",
                ),
                (
                    "Missing page",
                    http_server.url("/2026/11/27/missing-page-story"),
                    "A data center teaser only.",
                ),
            ]
        ),
        content_type=RSS,
    )
    cfg = make_config(tmp_path, [{"name": "ledger", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=1) as poller:
        report = await poller.poll(NOW)
        (r,) = report.sources
        assert (r.status, r.items, r.new_articles, r.matched_articles) == ("ok", 2, 2, 2)
        assert r.alerts_created == 2
        assert any("missing-page-story" in n for n in r.notes)
        second = await poller.poll(NOW + timedelta(minutes=20))
        assert second.sources[0].status == "not_modified" and second.new_articles == 0
    arts = {
        a.title: a for a in store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    }
    full = arts["Orbital Labs data centers"]
    assert full.extraction == "fulltext"
    assert full.canonical_url.endswith("/2026/11/25/orbital-labs-data-centers")
    assert "twelve billion dollars" in full.text
    assert "will not be published" not in full.text and "Back to top" not in full.text
    assert full.language == "en" and full.site_name == "Compute Ledger"
    fallback = arts["Missing page"]
    assert fallback.extraction == "feed-fallback" and "404" in (fallback.extraction_note or "")
    assert fallback.text == "A data center teaser only."
    state = store.get_source("ledger")
    assert state.etag and state.consecutive_failures == 0 and state.next_poll_at > NOW
    log = store.fetch_log("ledger")
    assert [e.status for e in log] == ["not_modified", "ok"]


async def test_feed_only_uses_feed_text_and_fetches_no_pages(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    serve_articles(http_server)
    link = http_server.url("/2026/11/25/orbital-labs-data-centers")
    http_server.routes["/feed"] = Route(
        rss([("A data center story", link, "Short &lt;b&gt;text&lt;/b&gt;.")]), content_type=RSS
    )
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed"), "fulltext": False}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
        # committed when the poll returns: another process sees it, nothing is left open
        other = sqlite3.connect(store.path)
        try:
            assert other.execute("SELECT count(*) FROM articles").fetchone() == (1,)
            assert other.execute("SELECT etag IS NOT NULL FROM sources").fetchone() == (1,)
        finally:
            other.close()
        assert not store.db.conn.in_transaction
    assert report.new_articles == 1 and report.matched_articles == 1
    assert http_server.hits("/2026/11/25/orbital-labs-data-centers") == []
    (art,) = store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert art.extraction == "feed" and art.text == "Short text."


@pytest.mark.parametrize("backend", ["h1", "httpx", "aiohttp"])
async def test_a_password_in_a_source_url_is_used_but_never_shown(
    http_server: LocalHTTPServer,
    tmp_path: Path,
    store: Any,
    rules: KeywordRules,
    caplog: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    """A private feed (``https://user:token@host/feed``) logs in with Basic auth; its password
    appears in no error (a 401, a parse error that quotes the URL), log line, fetch-log row,
    health report or stored article URL (a relative link); and a permanent redirect on the
    same host keeps it, so the source still opens on the next poll (reviews 13 and 14)."""
    want = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    feed = rss([("A data center story", "/a/1", "Text.")])  # a relative link

    def private(body: bytes) -> Callable[[Request], Route]:
        def answer(req: Request) -> Route:
            if req.headers.get("authorization") != want:
                return Route(b"denied", status=401, etag=False)
            return Route(body, content_type=RSS)

        return answer

    http_server.routes["/private.rss"] = private(feed)
    http_server.routes["/new.rss"] = private(feed)
    http_server.routes["/empty.rss"] = private(b"")
    http_server.routes["/old.rss"] = Route(
        b"", status=301, headers={"Location": http_server.url("/new.rss")}, etag=False
    )

    def creds(path: str, password: str = "s3cret") -> str:
        return http_server.url(path).replace("http://", f"http://alice:{password}@")

    cfg = make_config(
        tmp_path,
        [
            {"name": "good", "url": creds("/private.rss"), "fulltext": False},
            {"name": "bad", "url": creds("/private.rss", "wrongpw"), "fulltext": False},
            {"name": "moved", "url": creds("/old.rss"), "fulltext": False},
            {"name": "broken", "url": creds("/empty.rss"), "fulltext": False},
        ],
    )
    with caplog.at_level(logging.INFO):
        async with Poller(cfg, store, rules, workers=0, backend=backend) as poller:  # type: ignore[arg-type]
            report = await poller.poll(NOW)
            again = await poller.poll(NOW + timedelta(hours=2))
    by_name = {r.name: r for r in report.sources}
    assert by_name["good"].status == "ok" and report.new_articles == 1  # (good and moved
    # carry the same item: stored once, by whichever came first)
    assert by_name["bad"].status == "error" and "401" in (by_name["bad"].error or "")
    assert by_name["broken"].status == "error"
    assert by_name["moved"].status == "ok"
    moved_again = {r.name: r for r in again.sources}["moved"]
    assert moved_again.status in ("ok", "not_modified"), moved_again.error
    moved = store.get_source("moved")
    assert moved.url == creds("/new.rss")  # where it moved, with the password kept
    # (httpx's own request log is silenced by the CLI's logging set-up: WARNING at least)
    shown = [r.getMessage() for r in caplog.records if r.name.startswith("watcher")]
    shown += [r.error or "" for r in (*report.sources, *again.sources)]
    for name in ("good", "bad", "moved", "broken"):
        shown += [e.url for e in store.fetch_log(name)]
        shown += [e.error or "" for e in store.fetch_log(name)]
    shown += [source_health(s, NOW).url for s in store.list_sources()]
    shown += [source_health(s, NOW).reason for s in store.list_sources()]
    shown += [s.last_error or "" for s in store.list_sources()]
    articles = store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    shown += [a.url for a in articles] + [a.canonical_url for a in articles]
    assert all("s3cret" not in text and "wrongpw" not in text for text in shown), shown
    assert "alice:***@" in store.fetch_log("bad")[0].url
    assert {a.url for a in articles} == {http_server.url("/a/1")}


async def test_same_article_from_two_sources_is_stored_once(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    serve_articles(http_server)
    path = "/2026/11/25/orbital-labs-data-centers"
    http_server.routes["/a"] = Route(
        rss([("Orbital", http_server.url(path), "x")]), content_type=RSS
    )
    http_server.routes["/b"] = Route(
        rss([("Orbital again", http_server.url(path + "?utm_medium=social&fbclid=abc#top"), "y")]),
        content_type=RSS,
    )
    cfg = make_config(
        tmp_path,
        [{"name": "a", "url": http_server.url("/a")}, {"name": "b", "url": http_server.url("/b")}],
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(NOW, [cfg.source("a")])
        await poller.poll(NOW, [cfg.source("b")])
    (art,) = store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert set(art.sources) == {"a", "b"}
    assert len(http_server.hits(path)) == 1  # the known article's page was not fetched again


async def test_gone_retires_and_redirect_updates_url(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/dead"] = Route(b"gone", status=410)
    http_server.routes["/moved"] = Route(
        b"", status=301, headers={"Location": "/new-home"}, etag=False
    )
    http_server.routes["/new-home"] = Route(rss([]), content_type=RSS)
    cfg = make_config(
        tmp_path,
        [
            {"name": "dead", "url": http_server.url("/dead"), "fulltext": False},
            {"name": "moved", "url": http_server.url("/moved"), "fulltext": False},
        ],
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = {r.name: r for r in (await poller.poll(NOW)).sources}
        assert first["dead"].status == "error" and first["dead"].http_status == 410
        assert first["moved"].status == "ok"
        again = {r.name: r for r in (await poller.poll(NOW + timedelta(hours=1))).sources}
    assert store.get_source("dead").retired
    assert again["dead"].status == "skipped"
    assert len(http_server.hits("/dead")) == 1
    assert store.get_source("moved").url == http_server.url("/new-home")
    assert len(http_server.hits("/moved")) == 1  # the second poll went straight to the new URL


async def test_backoff_then_recovery(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules, caplog: Any
) -> None:
    http_server.routes["/flaky"] = [
        Route(b"boom", status=500),
        Route(b"boom", status=500),
        Route(b"boom", status=500),
        Route(rss([]), content_type=RSS),
    ]
    cfg = make_config(
        tmp_path,
        [{"name": "flaky", "url": http_server.url("/flaky"), "every": "10m"}],
        backoff_cap="1h",
    )
    src = cfg.source("flaky")
    delays = []
    now = NOW
    with caplog.at_level(logging.WARNING, logger="watcher.poll"):
        async with Poller(cfg, store, rules, workers=0) as poller:
            for _ in range(4):
                report = await poller.poll_source(src, now)
                nxt = poller.next_poll_at(src, now)
                delays.append((report.status, (nxt - now).total_seconds()))
                now = nxt
    assert [d[0] for d in delays] == ["error", "error", "error", "ok"]
    assert [d[1] for d in delays] == [600, 1200, 2400, 600]
    state = store.get_source("flaky")
    assert state.consecutive_failures == 0 and state.failing_since is None
    assert state.last_error and "500" in state.last_error
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "flaky" in w and http_server.url("/flaky") in w and "HTTP 500" in w for w in warnings
    )


async def test_backoff_is_capped_and_never_gives_up(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/down"] = Route(b"boom", status=503)
    cfg = make_config(
        tmp_path,
        [{"name": "down", "url": http_server.url("/down"), "every": "15m"}],
        backoff_cap="2h",
    )
    src = cfg.source("down")
    now = NOW
    async with Poller(cfg, store, rules, workers=0) as poller:
        for _ in range(8):
            await poller.poll_source(src, now)
            nxt = poller.next_poll_at(src, now)
            gap = (nxt - now).total_seconds()
            now = nxt
    assert gap == 7200
    assert store.get_source("down").consecutive_failures == 8


async def test_retry_after_pushes_next_poll(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/limited"] = Route(b"", status=429, headers={"Retry-After": "7200"})
    cfg = make_config(tmp_path, [{"name": "l", "url": http_server.url("/limited"), "every": "5m"}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
        assert report.sources[0].http_status == 429
        assert poller.next_poll_at(cfg.source("l"), NOW) >= NOW + timedelta(seconds=7200)
    assert store.get_source("l").next_poll_at >= NOW + timedelta(seconds=7200)


async def test_ttl_and_max_age_bound_the_interval(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/ttl"] = Route(rss([], ttl=60), content_type=RSS)
    http_server.routes["/cc"] = Route(
        rss([]), content_type=RSS, headers={"Cache-Control": "public, max-age=1800"}
    )
    cfg = make_config(
        tmp_path,
        [
            {"name": "ttl", "url": http_server.url("/ttl"), "every": "15m"},
            {"name": "cc", "url": http_server.url("/cc"), "every": "15m"},
        ],
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(NOW)
        assert poller.next_poll_at(cfg.source("ttl"), NOW) == NOW + timedelta(hours=1)
        assert poller.next_poll_at(cfg.source("cc"), NOW) == NOW + timedelta(minutes=30)


async def test_one_broken_source_does_not_stop_the_others(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/html"] = Route(fixture_bytes("feeds", "not-a-feed.html"))
    http_server.routes["/ok"] = Route(
        fixture_bytes("feeds", "gbk.xml"), content_type="application/xml"
    )
    cfg = make_config(
        tmp_path,
        [
            {"name": "html", "url": http_server.url("/html"), "fulltext": False},
            {"name": "refused", "url": "http://127.0.0.1:9/feed", "fulltext": False},
            {"name": "ok", "url": http_server.url("/ok"), "fulltext": False},
        ],
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = {r.name: r for r in (await poller.poll(NOW)).sources}
    assert report["html"].status == "error" and "not a feed" in (report["html"].error or "")
    assert report["refused"].status == "error"
    assert report["ok"].status == "ok" and report["ok"].matched_articles == 1
    assert store.get_source("html").failing_since == NOW


async def test_page_source_discovers_and_extracts_articles(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    serve_articles(http_server)
    listing = (
        '<html><body><nav><a href="/">Home</a><a href="/tag/ai">AI</a></nav>'
        '<a href="/2026/11/25/orbital-labs-data-centers">Orbital</a>'
        '<a href="/2026/11/26/xinghe-compute-center-5678">星河</a>'
        '<a href="/about">About</a><a href="https://elsewhere.example.com/2026/11/25/x-y-z">x</a>'
        "</body></html>"
    ).encode()
    http_server.routes["/news/"] = Route(listing)
    http_server.routes["/robots.txt"] = Route(
        b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    cfg = make_config(
        tmp_path, [{"name": "page", "url": http_server.url("/news/"), "kind": "page"}]
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    assert report.sources[0].status == "ok" and report.new_articles == 2
    texts = {
        a.language: a
        for a in store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    }
    assert "星河科技" in texts["zh"].text and texts["zh"].extraction == "fulltext"
    assert report.matched_articles == 1  # the English article mentions data centers


async def test_sitemap_source_follows_an_index(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    import gzip

    serve_articles(http_server)
    urlset = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{http_server.url('/2026/11/25/orbital-labs-data-centers')}</loc><lastmod>2026-11-25</lastmod></url>"
        "</urlset>"
    ).encode()
    index = (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>/sm-1.xml.gz</loc></sitemap></sitemapindex>"
    )
    http_server.routes["/sitemap.xml"] = Route(index, content_type="application/xml")
    http_server.routes["/sm-1.xml.gz"] = Route(
        gzip.compress(urlset), content_type="application/gzip"
    )
    cfg = make_config(
        tmp_path, [{"name": "sm", "url": http_server.url("/sitemap.xml"), "kind": "sitemap"}]
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    assert (
        report.sources[0].status == "ok"
        and report.new_articles == 1
        and report.matched_articles == 1
    )


async def test_muted_source_stores_matches_as_muted(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    from storage.models import Mute

    link = http_server.url("/2026/11/25/orbital-labs-data-centers")
    http_server.routes["/feed"] = Route(
        rss([("A data center story", link, "About a data center.")]), content_type=RSS
    )
    cfg = make_config(
        tmp_path, [{"name": "quiet", "url": http_server.url("/feed"), "fulltext": False}]
    )
    store.add_mute(Mute("source", "quiet", NOW - timedelta(hours=1)))
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    assert report.matched_articles == 1
    (art,) = store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert all(m.muted for m in store.article_matches(art.id))
    assert store.due_alerts(NOW + timedelta(days=1)) == []


async def test_robots_txt_can_forbid_a_page_source(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/robots.txt"] = Route(
        b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    http_server.routes["/private/news"] = Route(
        b"<html><body><a href='/2026/11/25/x-y-z-w'>x</a></body></html>"
    )
    cfg = make_config(
        tmp_path, [{"name": "p", "url": http_server.url("/private/news"), "kind": "page"}]
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    assert report.sources[0].status == "error" and "robots.txt" in (report.sources[0].error or "")
    assert http_server.hits("/private/news") == []


async def test_auto_interval_follows_the_publishing_rate(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    from email.utils import format_datetime

    items = "".join(
        f"<item><title>t{i}</title><link>http://e.example/{i}</link>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=2 * i), usegmt=True)}</pubDate></item>"
        for i in range(8)
    )
    body = f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()
    http_server.routes["/auto"] = Route(body, content_type=RSS)
    cfg = make_config(
        tmp_path,
        [{"name": "a", "url": http_server.url("/auto"), "every": "auto", "fulltext": False}],
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(NOW)
        # items every 2 h -> poll every hour (half the median gap)
        assert poller.next_poll_at(cfg.source("a"), NOW) == NOW + timedelta(hours=1)


async def test_a_failed_write_stays_with_its_source(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    """Every source's articles and fetch bookkeeping are one write; sources done in the same
    loop turn are committed together (tests/fetch/test_write_group.py). A write that fails
    after storing its articles is undone alone: that source is reported failed with nothing of
    it stored and one fetch-log entry (the failure), so its next poll fetches it whole again,
    and the others are stored."""
    from storage.errors import StorageError

    names = [f"s{i}" for i in range(6)]
    for name in names:
        http_server.routes[f"/{name}"] = Route(
            rss([(f"{name} story", f"http://x.example/{name}/1", "A data center.")]),
            content_type=RSS,
        )
    cfg = make_config(
        tmp_path, [{"name": n, "url": http_server.url(f"/{n}"), "fulltext": False} for n in names]
    )
    real = store.record_articles

    def record_articles(items: Any, now: datetime) -> Any:
        out = real(items, now)  # written, then the failure: the savepoint must undo it
        if any(a.source == "s3" for a, *_ in items):
            raise StorageError("a constraint failed (injected)")
        return out

    store.record_articles = record_articles
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    by = {r.name: r for r in report.sources}
    assert by["s3"].status == "error" and "constraint failed" in (by["s3"].error or "")
    assert [e.status for e in store.fetch_log("s3")] == ["error"]
    assert all(by[n].status == "ok" and by[n].new_articles == 1 for n in names if n != "s3")
    stored = {
        a.source for a in store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    }
    assert stored == set(names) - {"s3"}
    s3 = store.get_source("s3")
    assert s3.etag is None and s3.consecutive_failures == 1  # fetched whole next time
    assert store.get_source("s1").etag  # stored with its articles


async def test_a_full_disk_fails_the_sources_like_any_failure_and_keeps_the_daemon_going(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules, caplog: Any
) -> None:
    """SQLite rolls a whole transaction back on SQLITE_FULL: every source of the write group
    is reported failed with nothing of it stored, is retried on its normal backoff (not the
    6 h of an internal error), and no traceback is logged."""
    names = ["a", "b", "c"]
    for name in names:
        http_server.routes[f"/{name}"] = Route(
            rss([(f"{name} story", f"http://x.example/{name}/1", "A data center. " * 200)]),
            content_type=RSS,
        )
    cfg = make_config(
        tmp_path, [{"name": n, "url": http_server.url(f"/{n}"), "fulltext": False} for n in names]
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        poller._sync(NOW)  # sources known to the store before the disk fills up
        pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
        store.db.conn.execute(f"PRAGMA max_page_count = {pages}")
        with caplog.at_level(logging.WARNING, logger="watcher.poll"):
            report = await poller.poll(NOW)
        for r in report.sources:
            assert r.status == "error" and (r.error or "").startswith("storing failed"), r
            assert poller.next_poll_at(cfg.sources[0], NOW) < NOW + timedelta(hours=1)
        assert "unexpected error" not in caplog.text and "Traceback" not in caplog.text
        assert store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1)) == []
        store.db.conn.execute("PRAGMA max_page_count = 1073741823")  # room again
        again = await poller.poll(NOW + timedelta(hours=2))
        assert [r.status for r in again.sources] == ["ok"] * 3 and again.new_articles == 3


async def test_two_feeds_numbering_their_items_alike_lose_no_story(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    def numbered(site: str, title: str) -> bytes:
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
            f"<link>http://{site}/</link><item><title>{title}</title>"
            f'<link>http://{site}/story/1</link><guid isPermaLink="false">1</guid>'
            f"<description>{title}: a data center opens.</description></item></channel></rss>"
        ).encode()

    http_server.routes["/a"] = Route(numbered("a.example", "Alpha"), content_type=RSS)
    http_server.routes["/b"] = Route(numbered("b.example", "Beta"), content_type=RSS)
    sources = [{"name": n, "url": http_server.url(f"/{n}"), "fulltext": False} for n in ("a", "b")]
    async with Poller(make_config(tmp_path, sources), store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    assert report.new_articles == 2 and report.alerts_created == 2
    titles = sorted(
        a.title for a in store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1))
    )
    assert titles == ["Alpha", "Beta"]
