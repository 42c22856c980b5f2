"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom through feedparser (bytes + response headers, never
its own HTTP), JSON Feed 1.x natively. Item text comes out as plain text; dates as UTC."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from watcher.errors import ParseError

__all__ = ["FeedItem", "ParsedFeed", "html_to_text", "parse_feed"]


@dataclass(frozen=True, slots=True)
class FeedItem:
    guid: str | None
    url: str | None
    title: str
    summary: str  # plain text
    content: str  # plain text (the full content when the feed carries it, else "")
    published: datetime | None  # tz-aware UTC
    author: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    ttl: float | None  # seconds: the feed's own minimum refresh interval (<ttl>, sy:update*)
    items: tuple[FeedItem, ...]
    language: str | None = None


_BLOCK = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|pre|hr)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
_NL = re.compile(r"\s*\n\s*")


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment (block elements become line breaks)."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        return _NL.sub("\n", _WS.sub(" ", value)).strip()
    import html

    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", value, flags=re.I | re.S)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    return _NL.sub("\n", _WS.sub(" ", text)).strip()


def _utc(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 604800.0, "monthly": 2592000.0}


def _ttl(feed: Mapping[str, Any]) -> float | None:
    raw = feed.get("ttl")
    if raw:
        try:
            minutes = float(str(raw).strip())
            if minutes > 0:
                return minutes * 60.0
        except ValueError:
            pass
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _PERIODS:
        try:
            freq = max(1.0, float(str(feed.get("sy_updatefrequency") or 1).strip()))
        except ValueError:
            freq = 1.0
        return _PERIODS[period] / freq
    return None


def _looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse a feed document. Raises :class:`ParseError` when ``body`` is not a feed."""
    if not body or not body.strip():
        raise ParseError(f"{url}: empty document")
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in ctype.lower() or _looks_like_json(body):
        return _parse_json_feed(body, url)
    return _parse_xml_feed(body, headers, url)


_PROLOG_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']+)(["'])""")


def _prefer_utf8(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A body that is valid UTF-8 (with non-ASCII bytes) but declares a legacy charset is
    UTF-8: such mislabelled feeds are common, accidental valid UTF-8 is not."""
    if body.isascii() or body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body, headers
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, headers
    m = _PROLOG_ENCODING.match(body)
    if m and m.group(2).lower() not in (b"utf-8", b"utf8"):
        body = body[: m.start(2)] + b"utf-8" + body[m.end(2) :]
    ctype = headers.get("content-type", "")
    if "charset" in ctype.lower():
        headers = {**headers, "content-type": re.sub(r";\s*charset=[^;]*", "", ctype, flags=re.I)}
    return body, headers


def _parse_xml_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    import feedparser

    hdrs = {k.lower(): v for k, v in headers.items()}
    body, hdrs = _prefer_utf8(body, hdrs)
    hdrs.setdefault("content-location", url)
    try:
        d = feedparser.parse(
            body, response_headers=hdrs, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser rarely raises, but malformed input can surprise it
        raise ParseError(f"{url}: feed parser failed: {exc}") from exc
    feed = d.get("feed", {})
    entries = d.get("entries", [])
    if not d.get("version") and not entries:
        reason = d.get("bozo_exception")
        what = "an HTML page" if b"<html" in body[:2048].lower() else "a feed"
        detail = f" ({reason})" if reason and what == "a feed" else ""
        raise ParseError(
            f"{url}: not a feed: looks like {what}{detail}".replace("like a feed", "invalid")
        )
    lang = feed.get("language") or hdrs.get("content-language")
    items = []
    for e in entries:
        link = e.get("link")
        if link:
            link = urljoin(url, link.strip())
        content = ""
        if e.get("content"):
            content = html_to_text("\n".join(c.get("value", "") for c in e["content"]))
        summary = html_to_text(e.get("summary"))
        if summary == content:
            summary = summary[:500]
        items.append(
            FeedItem(
                guid=(e.get("id") or None),
                url=link or None,
                title=html_to_text(e.get("title")),
                summary=summary,
                content=content,
                published=_utc(dict.get(e, "published_parsed") or dict.get(e, "updated_parsed")),
                author=e.get("author") or None,
                language=(e.get("language") or lang or None),
            )
        )
    return ParsedFeed(
        title=html_to_text(feed.get("title")),
        link=feed.get("link") or None,
        ttl=_ttl(feed),
        items=tuple(items),
        language=lang or None,
    )


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"{url}: not a feed: invalid JSON ({exc})") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise ParseError(f"{url}: not a feed: JSON without a jsonfeed.org version")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise ParseError(f"{url}: not a feed: JSON Feed without items")
    lang = data.get("language") if isinstance(data.get("language"), str) else None
    items = []
    for it in raw_items:
        if not isinstance(it, dict):
            continue
        link = it.get("url") or it.get("external_url")
        authors = it.get("authors") or (
            [it["author"]] if isinstance(it.get("author"), dict) else []
        )
        author = next(
            (a.get("name") for a in authors if isinstance(a, dict) and a.get("name")), None
        )
        content = html_to_text(it.get("content_html")) or html_to_text(it.get("content_text"))
        guid = it.get("id")
        items.append(
            FeedItem(
                guid=str(guid) if guid is not None else None,
                url=urljoin(url, str(link)) if link else None,
                title=html_to_text(str(it.get("title") or "")),
                summary=html_to_text(str(it.get("summary") or "")),
                content=content,
                published=_json_date(it.get("date_published") or it.get("date_modified")),
                author=author,
                language=it.get("language") if isinstance(it.get("language"), str) else lang,
            )
        )
    link = data.get("home_page_url")
    return ParsedFeed(
        title=str(data.get("title") or ""),
        link=str(link) if link else None,
        ttl=None,
        items=tuple(items),
        language=lang,
    )
