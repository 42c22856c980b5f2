"""Feed parsing: golden files for our own fixtures, JSON Feed, charsets, non-feeds, fuzzing."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.errors import ParseError
from watcher.feeds import ParsedFeed, html_to_text, parse_feed

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
GOLDEN = ["rss2-ttl.xml", "atom.xml", "jsonfeed.json", "gbk.xml", "windows-1256.xml"]
BASE = "https://feeds.example.org/feed"


def as_json(feed: ParsedFeed) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else v

    d = dataclasses.asdict(feed)
    d["items"] = [{k: conv(v) for k, v in item.items()} for item in d["items"]]
    return d


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(name: str) -> None:
    feed = parse_feed((FEEDS / name).read_bytes(), {}, BASE)
    golden = FEEDS / (name.rsplit(".", 1)[0] + ".expected.json")
    got = as_json(feed)
    if os.environ.get("UPDATE_GOLDEN") or not golden.exists():
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert got == json.loads(golden.read_text(encoding="utf-8"))


def test_rss_details() -> None:
    feed = parse_feed((FEEDS / "rss2-ttl.xml").read_bytes(), {}, "https://ledger.example.org/rss")
    assert feed.ttl == 45 * 60
    first, second = feed.items
    assert (
        first.url == "https://ledger.example.org/2026/11/orbital-labs-data-centers?utm_source=rss"
    )
    assert first.title == "Orbital Labs commits $12 billion to new data centers"
    assert first.published == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    assert "<" not in first.summary and "campuses" in first.summary
    assert second.content.startswith("Full text: nothing and nobody moved.")


def test_header_charset_is_used_when_prolog_is_silent() -> None:
    body = (
        '<rss version="2.0"><channel><title>Новости</title>'
        "<item><title>Модель</title><link>https://x.example/a</link></item></channel></rss>"
    ).encode("koi8-r")
    feed = parse_feed(body, {"Content-Type": "application/rss+xml; charset=koi8-r"}, BASE)
    assert feed.title == "Новости"
    assert feed.items[0].title == "Модель"


def test_legacy_charsets_come_out_right() -> None:
    zh = parse_feed((FEEDS / "gbk.xml").read_bytes(), {}, BASE)
    assert zh.items[0].title == "深度求索发布新模型"
    ar = parse_feed((FEEDS / "windows-1256.xml").read_bytes(), {}, BASE)
    assert ar.items[0].title == "ميتا تعلن عن استثمارات جديدة"
    assert ar.language == "ar"


@pytest.mark.parametrize(
    "body",
    [
        (FEEDS / "not-a-feed.html").read_bytes(),
        b"",
        b"   ",
        b'{"hello": "world"}',
        b"{not json",
        b"\x00\x01\x02binary",
    ],
)
def test_not_a_feed_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, {}, BASE)


def test_html_page_is_reported_as_such() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed((FEEDS / "not-a-feed.html").read_bytes(), {"content-type": "text/html"}, BASE)


@given(st.binary(max_size=400))
@settings(max_examples=150, deadline=None)
def test_arbitrary_bytes_parse_or_raise_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, {}, BASE)
    except ParseError:
        return
    assert isinstance(feed, ParsedFeed)


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_html_to_text_never_leaves_tags_of_plain_markup(text: str) -> None:
    out = html_to_text(f"<p>{text.replace('<', ' ')}</p><div><b>x</b></div>")
    assert "<p>" not in out and "<b>" not in out
    assert out == out.strip()
