"""Robustness and charset cases on the shared third-party corpus (read in place, skipped when
absent): every feed file parses or is a clean ParseError; a sample goes through the Poller
over HTTP; legacy-charset feeds and pages come out right."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fetch.conftest import KeywordRules, make_config
from tests.support.servers import LocalHTTPServer, Route
from watcher.errors import ExtractionError, ParseError
from watcher.extract import extract_article
from watcher.feeds import ParsedFeed, parse_feed
from watcher.pipeline import Poller

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SKIP_SUFFIXES = {".json", ".md", ".txt", ".py", ".config", ".expected", ".opml", ".html", ".htm"}


def feed_files(corpus: Path) -> list[Path]:
    return sorted(
        p
        for p in (corpus / "feeds").rglob("*")
        if p.is_file()
        and not p.name.upper().startswith(("LICENSE", "COPYING", "README"))
        and p.suffix.lower() not in SKIP_SUFFIXES
    )


def header_lines(body: bytes) -> dict[str, str]:
    """feedparser's conformance files state their HTTP headers in a leading comment."""
    head = body[:2000].decode("latin-1")
    return {
        m.group(1): m.group(2).strip() for m in re.finditer(r"Header:\s*([\w-]+):\s*(.*)", head)
    }


def test_every_corpus_feed_parses_or_fails_cleanly(shared_corpus: Path) -> None:
    files = feed_files(shared_corpus)
    assert len(files) > 1000
    parsed = failed = 0
    for path in files:
        body = path.read_bytes()
        try:
            feed = parse_feed(body, header_lines(body), "http://example.org/feed.xml")
        except ParseError:
            failed += 1
            continue
        assert isinstance(feed, ParsedFeed)
        for item in feed.items:
            assert item.published is None or item.published.tzinfo is not None
            assert isinstance(item.summary, str) and isinstance(item.title, str)
        parsed += 1
    assert parsed > 0.9 * len(files)


def test_corpus_sample_over_http_through_the_poller(
    shared_corpus: Path, http_server: LocalHTTPServer, tmp_path: Path, store: Any
) -> None:
    import asyncio

    files = feed_files(shared_corpus)
    sample = files[:: max(1, len(files) // 60)]
    sources = []
    for i, path in enumerate(sample):
        body = path.read_bytes()
        ctype = header_lines(body).get("Content-type") or "application/xml"
        http_server.routes[f"/f{i}"] = Route(body, content_type=ctype)
        sources.append({"name": f"f{i}", "url": http_server.url(f"/f{i}"), "fulltext": False})
    cfg = make_config(tmp_path, sources)

    async def run() -> Any:
        async with Poller(cfg, store, KeywordRules({"ai": " AI "}), workers=2) as poller:
            return await poller.poll(NOW)

    report = asyncio.run(run())
    assert len(report.sources) == len(sample)
    assert {r.status for r in report.sources} <= {"ok", "error"}
    assert sum(r.status == "ok" for r in report.sources) > 0.8 * len(sample)
    assert len(store.fetch_log(limit=1000)) == len(sample)
    for r in report.sources:
        if r.status == "error":
            assert r.error and "internal error" not in r.error


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("koi8r.xml", "Пример RSS ленты"),
        ("windows-1252.xml", "Euro €"),
        ("windows-1252-incorrect-prolog.xml", "Euro €"),
        ("utf8-incorrect-prolog.xml", "테스트 피드"),
        ("invalid-prolog.xml", "테스트 피드"),
        ("iso-8859-1.xml", "Café"),
    ],
)
def test_miniflux_encoding_feeds(shared_corpus: Path, name: str, title: str) -> None:
    body = (
        shared_corpus / "feeds" / "miniflux_testdata" / "encoding" / "testdata" / name
    ).read_bytes()
    assert parse_feed(body, {}, "http://example.org/").title == title


@pytest.mark.parametrize(
    "name",
    [
        "iso-8859-1.html",
        "iso-8859-1-meta-after-1024.html",
        "utf8.html",
        "utf8-meta-after-1024.html",
    ],
)
def test_miniflux_encoding_pages(shared_corpus: Path, name: str) -> None:
    body = (
        shared_corpus / "feeds" / "miniflux_testdata" / "encoding" / "testdata" / name
    ).read_bytes()
    art = extract_article(body, "http://example.org/a")
    assert "Café" in art.text and "\ufffd" not in art.text + art.title


def test_bbc_chinese_atom_with_its_headers(shared_corpus: Path) -> None:
    d = shared_corpus / "feeds" / "rss2email_testdata" / "bbc-chinese"
    feed = parse_feed(
        (d / "feed.atom").read_bytes(),
        {"Content-Type": "application/atom+xml"},
        "http://www.bbc.co.uk/zhongwen/simp/index.xml",
    )
    assert feed.items and all(re.search(r"[\u4e00-\u9fff]", i.title) for i in feed.items[:5])


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("arabic_article", "ar"),
        ("chinese_article", "zh"),
        ("japanese_article2", "ja"),
        ("thai_article", "th"),
        ("spanish_article", "es"),
    ],
)
def test_newspaper4k_multilingual_pages(shared_corpus: Path, name: str, lang: str) -> None:
    root = shared_corpus / "pages" / "newspaper4k" / "current"
    art = extract_article((root / "html" / f"{name}.html").read_bytes(), "http://example.org/a")
    expected = (root / "txt" / f"{name}.txt").read_text(encoding="utf-8")
    words = [w for w in re.split(r"\s+", expected) if len(w) > 3][:40]
    found = sum(w in art.text for w in words)
    assert found >= 0.6 * len(words), (found, len(words))
    assert art.language == lang
    assert "\ufffd" not in art.text


def test_chinese_news_pages_decode_without_mojibake(shared_corpus: Path) -> None:
    pages = sorted((shared_corpus / "pages" / "gne_chinese_news_no_gold").rglob("*.html"))[:25]
    assert pages
    ok = 0
    for page in pages:
        try:
            art = extract_article(page.read_bytes(), "http://example.org/a")
        except ExtractionError:
            continue
        cjk = len(re.findall(r"[\u4e00-\u9fff]", art.text))
        assert "\ufffd" not in art.text[:2000]
        ok += cjk > 50
    assert ok >= 0.8 * len(pages)


def test_scrapinghub_pages_extract(shared_corpus: Path) -> None:
    pages = sorted(
        (shared_corpus / "pages" / "scrapinghub_article_extraction_benchmark" / "html").glob(
            "*.html.gz"
        )
    )[:20]
    assert pages
    extracted = 0
    for page in pages:
        try:
            art = extract_article(gzip.decompress(page.read_bytes()), "http://example.org/a")
        except ExtractionError:
            continue
        extracted += len(art.text) > 200
    assert extracted >= 18
