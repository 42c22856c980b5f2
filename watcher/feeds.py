"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom through feedparser (bytes + response headers, never
its own HTTP), JSON Feed 1.x natively. Item text comes out as plain text; dates as UTC."""

from __future__ import annotations

import calendar
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
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
    # when the feed says the item was last modified (Atom <updated>, JSON Feed date_modified);
    # None when it only gives a publication date
    updated: datetime | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return constructor_call(self)  # workers send parsed feeds back


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    ttl: float | None  # seconds: the feed's own minimum refresh interval (<ttl>, sy:update*)
    items: tuple[FeedItem, ...]
    language: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return constructor_call(self)


@functools.cache
def _field_values(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = [f.name for f in fields(cls)]
    get = attrgetter(*names)
    return get if len(names) > 1 else lambda obj: (get(obj),)


def constructor_call(obj: Any) -> tuple[Any, ...]:
    """A dataclass instance to pickle as a call of its class with its field values (for
    ``__reduce__`` or :func:`copyreg.pickle`): a third of the time of the dataclass default
    (a state list built from fields(), set back field by field), both ways. Every field must
    be an init field, positional in declaration order; a subclass's own fields come along."""
    cls: type = type(obj)
    return (cls, _field_values(cls)(obj))


# Every pattern here is linear on hostile input: tag patterns stop at the next "<" (so a run of
# "<" with no ">" is not rescanned to the end for each one), each unclosed <script>/<style> is
# looked for once, and whitespace runs are squashed line by line, not with a backtracking regex.
_BLOCK = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|pre|hr)\b[^<>]*>", re.I
)
_TAG = re.compile(r"<[^<>]+>")
_WS_CHARS = "\t\r\f\v\u00a0"  # what _WS squashes besides the space
_WS = re.compile(f"[ {_WS_CHARS}]+")
_RAW_OPEN = re.compile(r"<(script|style)\b", re.I)
_RAW_CLOSE = {
    "script": re.compile(r"</script\s*>", re.I),
    "style": re.compile(r"</style\s*>", re.I),
}


def _drop_raw_text(value: str) -> str:
    """``value`` without ``<script>``/``<style>`` elements (each up to its first closing tag).
    An opening tag with no closing tag after it is left alone, as are all later ones of its
    kind, so each closing tag is searched for at most once per opening that has one."""
    parts: list[str] = []
    pos = 0
    search = 0
    unclosed: set[str] = set()
    while (start := _RAW_OPEN.search(value, search)) is not None:
        kind = start.group(1).lower()
        if kind in unclosed:
            search = start.end()
            continue
        close = _RAW_CLOSE[kind].search(value, start.end())
        if close is None:
            unclosed.add(kind)
            search = start.end()
            continue
        parts.append(value[pos : start.start()])
        parts.append(" ")
        pos = search = close.end()
    parts.append(value[pos:])
    return "".join(parts)


def _squash(text: str) -> str:
    """Runs of spaces become one space; whitespace around line breaks and blank lines go."""
    if "  " not in text:
        for ch in _WS_CHARS:
            if ch in text:
                break
        else:  # nothing for _WS to squash (most feed text): skip the substitution
            if "\n" not in text:
                return text.strip()
            return "\n".join(line for line in map(str.strip, text.split("\n")) if line)
    lines = (line.strip() for line in _WS.sub(" ", text).split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment (block elements become line breaks). Linear time."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        return _squash(value)
    import html

    text = _drop_raw_text(value) if "<" in value else value
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    return _squash(text)


def item_texts(summary_html: str | None, content_html: str | None) -> tuple[str, str]:
    """An item's summary and content as plain text. A summary that only repeats the content
    is cut to 500 characters (the full text is the content)."""
    content = html_to_text(content_html)
    summary = html_to_text(summary_html)
    if summary == content:
        summary = summary[:500]
    return summary, content


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
    from watcher.fast_atom import fast_atom
    from watcher.fast_rss import fast_rss

    fast = fast_rss(body, headers, url) or fast_atom(body, headers, url)
    if fast is not None:
        return fast
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
        summary, content = item_texts(
            e.get("summary"),
            "\n".join(c.get("value", "") for c in e["content"]) if e.get("content") else None,
        )
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
                updated=_utc(dict.get(e, "updated_parsed")),
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
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _str(value: Any) -> str | None:
    """``value`` when it is a string, else ``None`` (JSON Feed fields of the wrong type)."""
    return value if isinstance(value, str) else None


def _json_item(it: dict[str, Any], url: str, lang: str | None) -> FeedItem | None:
    """One JSON Feed item, or ``None`` when its id or link is not usable (wrong type, bad URL).
    Text fields of the wrong type are treated as absent."""
    raw_id = it.get("id")
    if raw_id is None:
        guid = None
    elif isinstance(raw_id, str) or (isinstance(raw_id, int) and not isinstance(raw_id, bool)):
        guid = str(raw_id)
    else:
        return None
    links = [it.get("url"), it.get("external_url")]
    if any(v is not None and not isinstance(v, str) for v in links):
        return None
    link = next((v for v in links if v), None)
    try:
        full = urljoin(url, link) if link else None
    except ValueError:
        return None
    authors = it.get("authors")
    if not isinstance(authors, list):
        authors = [it["author"]] if isinstance(it.get("author"), dict) else []
    author = next((a["name"] for a in authors if isinstance(a, dict) and _str(a.get("name"))), None)
    content = html_to_text(_str(it.get("content_html"))) or html_to_text(
        _str(it.get("content_text"))
    )
    return FeedItem(
        guid=guid,
        url=full,
        title=html_to_text(_str(it.get("title"))),
        summary=html_to_text(_str(it.get("summary"))),
        content=content,
        published=_json_date(it.get("date_published") or it.get("date_modified")),
        author=author,
        language=it["language"] if isinstance(it.get("language"), str) else lang,
        updated=_json_date(it.get("date_modified")),
    )


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"{url}: not a feed: invalid JSON ({exc})") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise ParseError(f"{url}: not a feed: JSON without a jsonfeed.org version")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise ParseError(f"{url}: not a feed: JSON Feed without items")
    lang = _str(data.get("language"))
    items = [
        item
        for it in raw_items
        if isinstance(it, dict) and (item := _json_item(it, url, lang)) is not None
    ]
    return ParsedFeed(
        title=_str(data.get("title")) or "",
        link=_str(data.get("home_page_url")) or None,
        ttl=None,
        items=tuple(items),
        language=lang,
    )
