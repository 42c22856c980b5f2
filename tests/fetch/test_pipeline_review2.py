"""Regression tests for review 2 (pipeline part) against a real local server and SQLite:
a failure fallback that cannot raise, redirected links known on the next poll, temporary page
failures retried before the feed-text fallback, sitemap index children newest first and one
level deeper, thread-mode parse errors, validators the server stopped sending."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.models import FetchLogEntry, SourceUpdate
from tests.fetch.conftest import KeywordRules, fixture_bytes, make_config
from tests.fetch.test_pipeline import NOW, RSS, rss, serve_articles
from tests.support.servers import LocalHTTPServer, Route
from watcher.errors import ExtractionError, ParseError
from watcher.jobs import parse_job
from watcher.pipeline import PAGE_RETRY_ATTEMPTS, Poller
from watcher.polling import PollHints

ARTICLE = "/2026/11/25/orbital-labs-data-centers"
LATER = [NOW + timedelta(minutes=20 * i) for i in range(6)]


def articles(store: Any) -> list[Any]:
    return list(store.articles_between(NOW - timedelta(days=1), NOW + timedelta(days=1)))


class BrokenBookkeeping:
    """A real store whose fetch bookkeeping fails for one source (stands in for a bug in the
    failure path: before the fix, poll() raised and no source was reported)."""

    def __init__(self, store: Any, broken: str) -> None:
        self._store, self._broken = store, broken

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def record_poll(self, entry: FetchLogEntry, update: SourceUpdate) -> None:
        if entry.source == self._broken:
            raise RuntimeError("bookkeeping bug")
        self._store.record_poll(entry, update)


async def test_a_failing_failure_path_cannot_crash_the_poll(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/ok"] = Route(
        fixture_bytes("feeds", "gbk.xml"), content_type="application/xml"
    )
    http_server.routes["/bad"] = Route(b"oops", status=500)
    cfg = make_config(
        tmp_path,
        [
            {"name": "bad", "url": http_server.url("/bad"), "fulltext": False},
            {"name": "dead", "url": http_server.url("/bad"), "fulltext": False},
            {"name": "ok", "url": http_server.url("/ok"), "fulltext": False},
        ],
    )
    async with Poller(cfg, BrokenBookkeeping(store, "bad"), rules, workers=0) as poller:  # type: ignore[arg-type]
        poller._hints["dead"] = PollHints(failures=5000)  # 1.7 years of a dead feed at 6 h
        report = {r.name: r for r in (await poller.poll(NOW)).sources}
        assert report["bad"].status == "error" and "bookkeeping bug" in (report["bad"].error or "")
        assert report["dead"].status == "error" and "HTTP 500" in (report["dead"].error or "")
        assert report["ok"].status == "ok" and report["ok"].new_articles == 1
        # neither failing source is due again at once (no hot loop)
        for name in ("bad", "dead"):
            assert poller.next_poll_at(cfg.source(name), NOW) > NOW
    assert store.get_source("dead").consecutive_failures == 1


async def test_redirected_item_link_is_not_fetched_again(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    serve_articles(http_server)
    http_server.routes["/r/1"] = Route(b"", status=301, headers={"Location": ARTICLE})
    feed = rss([("Orbital", http_server.url("/r/1"), "Teaser about a data center.")])
    feed = feed.replace(f"<guid>{http_server.url('/r/1')}</guid>".encode(), b"")  # link only
    http_server.routes["/feed"] = Route(feed, content_type=RSS, etag=False)  # 200 every time
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = await poller.poll(LATER[0])
        second = await poller.poll(LATER[1])
    assert first.new_articles == 1 and second.sources[0].status == "ok"
    assert second.new_articles == 0 and not second.sources[0].notes
    assert len(http_server.hits("/r/1")) == 1 and len(http_server.hits(ARTICLE)) == 1
    (art,) = articles(store)
    assert art.canonical_url.endswith(ARTICLE) and art.extraction == "fulltext"


async def test_temporary_page_failure_is_retried_then_extracted(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    page = Route(fixture_bytes("pages", "article-en.html"))
    http_server.routes[ARTICLE] = [Route(b"busy", status=503), page]
    feed = rss([("Orbital", http_server.url(ARTICLE), "Teaser about a data center.")])
    http_server.routes["/feed"] = Route(feed, content_type=RSS)  # ETag: 304 when unchanged
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = await poller.poll(LATER[0])
        assert first.sources[0].status == "ok" and first.new_articles == 0
        assert any("503" in n and "retried" in n for n in first.sources[0].notes)
        assert articles(store) == []
        assert store.get_source("f").etag is None  # full GET next time, the item is listed
        second = await poller.poll(LATER[1])
        assert second.sources[0].status == "ok" and second.new_articles == 1
        third = await poller.poll(LATER[2])
        assert third.sources[0].status == "not_modified"  # validators kept again
    (art,) = articles(store)
    assert art.extraction == "fulltext" and "twelve billion dollars" in art.text
    assert "if-none-match" not in http_server.hits("/feed")[1].headers
    assert "if-none-match" in http_server.hits("/feed")[2].headers
    assert store.note_page_failures([("probe", "x")], NOW) == [(1, NOW)]  # rows cleared


async def test_temporary_page_failure_falls_back_after_the_attempts(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes[ARTICLE] = Route(b"busy", status=503)
    http_server.routes["/2026/11/27/gone-story-page"] = Route(b"no", status=404)
    feed = rss(
        [
            ("Orbital", http_server.url(ARTICLE), "Teaser about a data center."),
            ("Gone", http_server.url("/2026/11/27/gone-story-page"), "A teaser."),
        ]
    )
    http_server.routes["/feed"] = Route(feed, content_type=RSS)
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = await poller.poll(LATER[0])
        assert first.new_articles == 1  # the 404 falls back at once
        for i in range(1, PAGE_RETRY_ATTEMPTS - 1):
            assert (await poller.poll(LATER[i])).new_articles == 0
        last = await poller.poll(LATER[PAGE_RETRY_ATTEMPTS - 1])
        assert last.new_articles == 1 and last.matched_articles == 1
    assert len(http_server.hits(ARTICLE)) == PAGE_RETRY_ATTEMPTS
    arts = {a.title: a for a in articles(store)}
    assert arts["Gone"].extraction == "feed-fallback" and "404" in (
        arts["Gone"].extraction_note or ""
    )
    note = arts["Orbital"].extraction_note or ""
    assert arts["Orbital"].extraction == "feed-fallback"
    assert "503" in note and f"gave up after {PAGE_RETRY_ATTEMPTS} attempts" in note


async def test_temporary_failure_falls_back_after_the_retry_window(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes[ARTICLE] = Route(b"busy", status=502)
    feed = rss([("Orbital", http_server.url(ARTICLE), "Teaser about a data center.")])
    http_server.routes["/feed"] = Route(feed, content_type=RSS)
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        assert (await poller.poll(NOW)).new_articles == 0
        late = await poller.poll(NOW + timedelta(hours=3))  # daily-ish source: 2nd attempt
    assert late.new_articles == 1
    assert "gave up after 2 attempts" in (articles(store)[0].extraction_note or "")


def _index(entries: list[tuple[str, str | None]]) -> bytes:
    body = "".join(
        f"<sitemap><loc>{loc}</loc>" + (f"<lastmod>{mod}</lastmod>" if mod else "") + "</sitemap>"
        for loc, mod in entries
    )
    return (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{body}</sitemapindex>"
    ).encode()


async def test_sitemap_index_children_newest_first_and_nested(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    serve_articles(http_server)
    empty = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>'
    # old children first in document order, the newest (a nested index) last
    children = [(f"/sm-{y}.xml", f"{y}-01-01") for y in range(2018, 2025)]
    children += [("/undated.xml", None), ("/news-index.xml", "2026-11-27T10:00:00Z")]
    http_server.routes["/sitemap.xml"] = Route(_index(children), content_type="application/xml")
    for path, _ in children:
        http_server.routes[path] = Route(empty, content_type="application/xml")
    http_server.routes["/news-index.xml"] = Route(
        _index([("/news-old.xml", "2025-01-01"), ("/news-new.xml", "2026-11-27")]),
        content_type="application/xml",
    )
    urlset = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{http_server.url(ARTICLE)}</loc><lastmod>2026-11-25</lastmod></url>"
        "</urlset>"
    ).encode()
    http_server.routes["/news-new.xml"] = Route(urlset, content_type="application/xml")
    http_server.routes["/news-old.xml"] = Route(empty, content_type="application/xml")
    cfg = make_config(
        tmp_path, [{"name": "sm", "url": http_server.url("/sitemap.xml"), "kind": "sitemap"}]
    )
    async with Poller(cfg, store, rules, workers=0) as poller:
        report = await poller.poll(NOW)
    assert report.sources[0].status == "ok" and report.new_articles == 1
    fetched = {r.path for r in http_server.requests}
    newest = {"/news-index.xml", "/sm-2024.xml", "/sm-2023.xml", "/sm-2022.xml", "/sm-2021.xml"}
    assert newest | {"/news-new.xml", "/news-old.xml"} <= fetched
    assert not fetched & {"/sm-2018.xml", "/sm-2019.xml", "/sm-2020.xml", "/undated.xml"}


def _boom(*_: Any) -> None:
    raise TypeError("a parser bug")


async def test_thread_mode_errors_become_parse_or_extraction_errors(
    tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    cfg = make_config(tmp_path, [{"name": "f", "url": "http://127.0.0.1:9/feed"}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        with pytest.raises(ExtractionError, match="TypeError: a parser bug"):
            await poller.run_job(_boom)
        with pytest.raises(ParseError, match="feed"):
            await poller.run_job(parse_job, "feed", b"\x00\x01 not xml", {}, "http://x/")


async def test_validators_the_server_stopped_sending_are_cleared(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    feed = rss([("Orbital", "http://127.0.0.1:9/a-story-without-page-1234", "Teaser.")])
    http_server.routes["/feed"] = [
        Route(feed, content_type=RSS, etag='"v1"', last_modified="Wed, 25 Nov 2026 10:00:00 GMT"),
        Route(feed, content_type=RSS, etag=False),
    ]
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed"), "fulltext": False}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        await poller.poll(LATER[0])
        state = store.get_source("f")
        assert (state.etag, state.last_modified) == ('"v1"', "Wed, 25 Nov 2026 10:00:00 GMT")
        await poller.poll(LATER[1])
        state = store.get_source("f")
        assert (state.etag, state.last_modified) == (None, None)
        await poller.poll(LATER[2])
    third = http_server.hits("/feed")[2].headers
    assert "if-none-match" not in third and "if-modified-since" not in third


async def test_unreachable_robots_txt_is_a_temporary_page_failure(
    http_server: LocalHTTPServer, tmp_path: Path, store: Any, rules: KeywordRules
) -> None:
    http_server.routes["/robots.txt"] = Route(b"down", status=503, content_type="text/plain")
    http_server.routes[ARTICLE] = Route(fixture_bytes("pages", "article-en.html"))
    feed = rss([("Orbital", http_server.url(ARTICLE), "Teaser about a data center.")])
    http_server.routes["/feed"] = Route(feed, content_type=RSS)
    cfg = make_config(tmp_path, [{"name": "f", "url": http_server.url("/feed")}])
    async with Poller(cfg, store, rules, workers=0) as poller:
        first = await poller.poll(NOW)
    assert first.sources[0].status == "ok" and first.new_articles == 0
    assert any("robots" in n and "retried" in n for n in first.sources[0].notes)
    assert http_server.hits(ARTICLE) == []
