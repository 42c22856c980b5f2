"""Link discovery, sitemaps, autodiscovery links, and the polling policy."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.config import FetchConfig, SourceConfig
from watcher.discovery import find_feed_links, is_article_like, page_links, parse_sitemap
from watcher.errors import ParseError
from watcher.polling import PollHints, adaptive_interval, backoff_delay, next_delay

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_listing_page_links() -> None:
    links = page_links((PAGES / "listing.html").read_bytes(), "https://ledger.example.org/news/")
    assert [link.url for link in links] == [
        "https://ledger.example.org/2026/11/25/orbital-labs-data-centers",
        "https://ledger.example.org/news/chip-exports-slow-down-in-november-1234",
        "https://www.ledger.example.org/analysis/why-accelerator-prices-keep-rising-this-year",
    ]
    assert links[0].title == "Orbital Labs commits $12 billion"


@pytest.mark.parametrize(
    "head",
    [
        "",
        "<meta charset='gbk'>",
        "<meta http-equiv='Content-Type' content='text/html; charset=gbk'>",
    ],
)
def test_listing_link_texts_in_any_script(head: str) -> None:
    """Link texts come out as the page says, whatever it declares: the page is decoded once
    (here from GBK, the declared charset), and the parser must not decode it again (review 7:
    without a declaration lxml read UTF-8 as Latin-1, and with one as the declared charset)."""
    html = (
        f"<html><head>{head}</head><body>"
        "<a href='/2026/11/28/deepseek-lab-opens-a-new-office-9876'>深度求索开设新办公室</a>"
        "<a href='/2026/11/28/meta-ai-spending-plan-in-arabic-5432'>ميتا تنفق ٦٠ مليار دولار</a>"
        "</body></html>"
    )
    body = html.encode("gb18030") if head else html.encode("utf-8")
    links = page_links(body, "https://news.example/latest/")
    assert [link.title for link in links] == ["深度求索开设新办公室", "ميتا تنفق ٦٠ مليار دولار"]


def test_autodiscovery_links() -> None:
    assert find_feed_links(
        (PAGES / "listing.html").read_bytes(), "https://ledger.example.org/"
    ) == ["https://ledger.example.org/feed.xml"]


@pytest.mark.parametrize(
    ("url", "article"),
    [
        ("https://s.example/2026/11/25/some-story", True),
        ("https://s.example/news/a-long-slug-for-a-real-story", True),
        ("https://s.example/item/123456", True),
        ("https://s.example/tag/ai-and-chips-and-more-stuff", False),
        ("https://s.example/about", False),
        ("https://s.example/", False),
        ("https://s.example/img/2026/11/25/photo.jpg", False),
    ],
)
def test_article_like(url: str, article: bool) -> None:
    assert is_article_like(url) is article


def test_news_sitemap_and_index() -> None:
    sm = parse_sitemap(
        (PAGES / "sitemap-news.xml").read_bytes(), "https://ledger.example.org/sitemap.xml"
    )
    first, second = sm.entries
    assert first.title == "Orbital Labs commits $12 billion to data centers"
    assert first.lastmod == datetime(2026, 11, 25, 8, 30, tzinfo=UTC) and first.language == "en"
    assert second.lastmod == datetime(2026, 11, 24, tzinfo=UTC)
    idx = parse_sitemap(
        (PAGES / "sitemap-index.xml").read_bytes(), "https://ledger.example.org/sitemap.xml"
    )
    assert idx.entries == () and idx.sitemaps == (
        "https://ledger.example.org/sitemap-news.xml",
        "https://ledger.example.org/sitemap-2026-10.xml.gz",
    )
    gz = parse_sitemap(
        gzip.compress((PAGES / "sitemap-news.xml").read_bytes()), "https://x/s.xml.gz"
    )
    assert len(gz.entries) == 2


def test_not_a_sitemap() -> None:
    with pytest.raises(ParseError):
        parse_sitemap(b"<html><body>hi</body></html>", "https://x/")


def test_sitemap_does_not_expand_entities() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x/&b;</loc></url></urlset>'
    )
    sm = parse_sitemap(evil, "https://x/")
    assert all("aaaaaaaaaa" not in e.url for e in sm.entries)


SRC = SourceConfig(name="s", url="https://s.example/feed", every=900.0)
CFG = FetchConfig(jitter=0.0, backoff_cap=6 * 3600.0)


def test_backoff_doubles_and_caps() -> None:
    assert [backoff_delay(900, n, 6 * 3600) for n in range(7)] == [
        900,
        900,
        1800,
        3600,
        7200,
        14400,
        21600,
    ]
    assert backoff_delay(900, 50, 6 * 3600) == 21600


@pytest.mark.parametrize("failures", [1024, 1025, 1030, 10**6, 10**18])
def test_backoff_never_overflows_for_long_dead_feeds(failures: int) -> None:
    # review2 #2: 2.0 ** (failures - 1) raised OverflowError from 1025 failures on
    assert backoff_delay(900, failures, 6 * 3600) == 21600
    assert next_delay(SRC, CFG, PollHints(failures=failures)) == 21600


def test_huge_retry_after_is_clamped() -> None:
    # review2 #3: a server cannot block a source for longer than a day (or the backoff cap)
    assert next_delay(SRC, CFG, PollHints(retry_after=float("inf"))) == 24 * 3600
    assert next_delay(SRC, CFG, PollHints(failures=3, retry_after=1e30)) == 24 * 3600


def test_interval_bounds() -> None:
    assert next_delay(SRC, CFG, PollHints()) == 900
    assert next_delay(SRC, CFG, PollHints(min_interval=3600)) == 3600  # <ttl> / max-age
    assert next_delay(SRC, CFG, PollHints(min_interval=60)) == 900
    assert next_delay(SRC, CFG, PollHints(min_interval=10 * 86400)) == 86400  # capped by max_every
    assert next_delay(SRC, CFG, PollHints(failures=1, retry_after=5000)) == 5000


@given(st.integers(0, 40), st.floats(0, 0.5), st.integers(0, 2**32))
def test_jitter_stays_within_bounds(failures: int, jitter: float, seed: int) -> None:
    cfg = FetchConfig(jitter=jitter)
    base = backoff_delay(900, failures, cfg.backoff_cap)
    d = next_delay(SRC, cfg, PollHints(failures=failures), random.Random(seed))
    assert base * (1 - jitter) - 1e-6 <= d <= base * (1 + jitter) + 1e-6


def test_adaptive_interval() -> None:
    auto = SourceConfig(name="a", url="https://a/", auto=True, min_every=300, max_every=86400)
    hourly = [NOW - timedelta(hours=i) for i in range(10)]
    assert adaptive_interval(hourly, auto) == 1800
    bursty = [NOW - timedelta(seconds=10 * i) for i in range(10)]
    assert adaptive_interval(bursty, auto) == 300
    assert adaptive_interval([NOW, None], auto) is None
    assert next_delay(auto, CFG, PollHints(observed=1800)) == 1800


def test_undated_child_sitemaps_newest_looking_first() -> None:
    from watcher.discovery import Sitemap, sitemap_recency
    from watcher.pipeline import _newest_children

    base = "https://x.example/"
    children = [
        f"{base}post-sitemap.xml",
        f"{base}post-sitemap2.xml",
        f"{base}page-sitemap.xml",
        f"{base}post-sitemap12.xml",
        f"{base}sitemap-2025-12.xml",
        f"{base}sitemap-2026-11.xml",
        f"{base}news-sitemap.xml",
    ]
    index = Sitemap((), tuple(children))
    assert _newest_children([index], 4) == [
        f"{base}news-sitemap.xml",
        f"{base}sitemap-2026-11.xml",
        f"{base}sitemap-2025-12.xml",
        f"{base}post-sitemap12.xml",
    ]
    # a dated child still comes before every undated one
    dated = Sitemap((), tuple(children), (None, datetime(2020, 1, 1, tzinfo=UTC)))
    assert _newest_children([dated], 2)[0] == f"{base}post-sitemap2.xml"
    assert sitemap_recency(f"{base}sitemap-posts-202611.xml.gz")[1] == (2026, 11, 0)
    assert sitemap_recency("not a url at all") == (0, (0, 0, 0), 0)
