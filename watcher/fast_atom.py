"""The fast path for plain Atom 1.0: read with lxml what feedparser would read the same way.

The same rules as :mod:`watcher.fast_rss` (shared in :mod:`watcher.fast_xml`): UTF-8, no DTD, no ``xml:base``/``xml:lang``, the
Atom namespace as the default one, known elements only (plus extension elements that cannot
change what feedparser reports), text or HTML content (not XHTML, not ``src``), one alternate
HTML link per entry, one author with a name, strict RFC 3339 dates. Anything else returns
``None`` and goes to feedparser. ``tests/fetch/test_fast_feeds.py`` checks that both give the
same items on every corpus feed the fast path accepts and on invented ones."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from watcher.fast_xml import SKIPPED_ITEM_TAGS, feed_language, plain, read_xml, resolve, text_of
from watcher.feeds import FeedItem, ParsedFeed, html_to_text, item_texts

__all__ = ["fast_atom"]

_NS = "{http://www.w3.org/2005/Atom}"
_FEED_START = re.compile(rb"""<feed\s+xmlns\s*=\s*["']http://www\.w3\.org/2005/Atom["']""")
_TEXT_TAGS = frozenset({_NS + "title", _NS + "summary", _NS + "content"})
_ENTRY_TAGS = _TEXT_TAGS | {_NS + "id", _NS + "updated", _NS + "published"}
# Feed elements that do not change the title, link or language feedparser reports.
_SKIPPED_FEED_TAGS = frozenset(
    _NS + name
    for name in ("updated", "subtitle", "generator", "icon", "logo", "rights", "category")
)
_SKIPPED_ENTRY_TAGS = SKIPPED_ITEM_TAGS | {_NS + "category", _NS + "rights"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(Z|[+-]\d\d:\d\d))?", re.A
)


def _date(value: str) -> datetime | None:
    """A strict RFC 3339 time (or a date alone) as UTC, to the second, as feedparser gives it."""
    m = _RFC3339.fullmatch(value)
    if m is None:
        return None
    year, month, day, hh, mm, ss, zone = m.groups(default="0")  # a date alone: midnight UTC
    if not 1900 <= int(year) < 2200:  # feedparser has ways of its own with odd years
        return None
    try:
        stamp = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    if zone not in ("Z", "0"):
        sign = 1 if zone[0] == "+" else -1
        stamp -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return stamp


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


def _text(el: Any) -> str | None:
    """The text of a text construct of type text or html (``None``: anything else). Its own
    ``xml:base`` changes nothing here: feedparser is not asked to resolve URIs in text."""
    if len(el) or set(el.attrib) - {"type", _XML_BASE}:
        return None
    if el.get("type", "text") not in ("text", "html"):
        return None
    return text_of(el, el.tag.rpartition("}")[2])


_LINK_ATTRIBUTES = frozenset({"href", "rel", "type", "title", "hreflang", "length"})


def _alternate(el: Any) -> str | None:
    """``href`` of a link feedparser takes as the page (``""``: another kind of link;
    ``None``: a link it may read differently)."""
    href = el.get("href")
    if len(el) or not href or href != href.strip() or set(el.attrib) - _LINK_ATTRIBUTES:
        return None  # (parse_feed strips feedparser's link; an odd one is left to it)
    if not plain(href):
        return None
    rel = el.get("rel", "alternate")
    if rel != "alternate":
        return "" if rel in ("self", "hub", "enclosure", "related", "replies", "edit") else None
    return el.get("href") if el.get("type", "text/html") in _HTML_TYPES else None


_AUTHOR_PARTS = (_NS + "name", _NS + "email", _NS + "uri")


def _author(el: Any) -> str | None:
    """An author as feedparser names it: "name (email)", or the name, or the email (``""``:
    none given; ``None``: something else)."""
    parts: dict[str, str] = {}
    for c in el:
        if c.tag not in _AUTHOR_PARTS or c.tag in parts or len(c) or c.attrib:
            return None
        if (c.tail or "").strip():
            return None  # text between the parts: feedparser reads it as the author
        part = text_of(c, "author")
        if part is None:
            return None
        parts[c.tag] = part
    if el.attrib or (el.text or "").strip():
        return None
    name, email = parts.get(_NS + "name"), parts.get(_NS + "email")
    if name and email:
        return f"{name} ({email})"
    return name or email or ""  # an empty <name/>: no author


def fast_atom(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed | None:
    """Plain Atom 1.0 read with lxml, or ``None`` (use feedparser)."""
    # xml:base is checked element by element (below): only text constructs may carry it
    unsafe = (b"<!DOCTYPE", b"<!ENTITY", b"xml:lang")
    read = read_xml(body, headers, url, lambda rest: _FEED_START.match(rest) is not None, unsafe)
    if read is None:
        return None
    root, hdrs = read
    if root.tag != _NS + "feed" or root.attrib:
        return None
    title: str | None = None
    link: str | None = None
    feed_id: str | None = None
    raw: list[dict[str, str]] = []
    for child in root:
        tag = child.tag
        if tag == _NS + "id" and feed_id is None:
            feed_id = _bare(child)  # feedparser's feed link when there is no other
            if feed_id is None:
                return None
        elif tag in _SKIPPED_FEED_TAGS and not len(child):
            continue
        elif tag == _NS + "author":
            if _author(child) is None:  # anything nested in it can reach the feed title
                return None
        elif tag == _NS + "title" and title is None:
            title = _text(child)
            if title is None:
                return None
        elif tag == _NS + "link":
            href = _alternate(child)
            if href is None or (href and link is not None):
                return None
            link = href or link
        elif tag == _NS + "entry" and not child.attrib:
            fields = _entry(child)
            if fields is None:
                return None
            raw.append(fields)
        else:
            return None
    if (title is not None and not plain(title)) or (feed_id is not None and not plain(feed_id)):
        return None
    lang = feed_language({}, hdrs)
    items: list[FeedItem] = []
    for fields in raw:
        published = _date(fields["published"]) if "published" in fields else None
        updated = _date(fields["updated"]) if "updated" in fields else None
        if ("published" in fields and published is None) or (
            "updated" in fields and updated is None
        ):
            return None
        guid = fields.get("id") or None
        # without a summary feedparser gives the content as the summary too
        summary, content = item_texts(
            fields.get("summary", fields.get("content")), fields.get("content")
        )
        items.append(
            FeedItem(
                guid=urljoin(url, guid) if guid else None,  # feedparser resolves ids too
                url=resolve(url, fields["link"]),
                title=html_to_text(fields.get("title")),
                summary=summary,
                content=content,
                published=published or updated,
                author=fields.get("author") or None,
                language=lang,
                updated=updated,
            )
        )
    if not link and feed_id:
        link = feed_id
    return ParsedFeed(
        title=html_to_text(title),
        link=urljoin(url, link) if link else None,
        ttl=None,
        items=tuple(items),
        language=lang,
    )


def _entry(entry: Any) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    for el in entry:
        tag = el.tag
        if tag in _SKIPPED_ENTRY_TAGS:
            if any(d.tag not in _SKIPPED_ENTRY_TAGS for d in el.iterdescendants()):
                return None
            continue
        if tag == _NS + "link":
            href = _alternate(el)
            if href is None or (href and "link" in fields):
                return None
            if href:
                fields["link"] = href
            continue
        if tag == _NS + "author":
            name = _author(el)
            if name is None or "author" in fields:
                return None
            fields["author"] = name
            continue
        key = tag[len(_NS) :] if isinstance(tag, str) and tag.startswith(_NS) else ""
        if tag not in _ENTRY_TAGS or key in fields:
            return None
        value = _text(el) if tag in _TEXT_TAGS else _bare(el)
        if value is None:
            return None
        fields[key] = value
    if not fields.get("link") or not all(map(plain, fields.values())):
        return None
    return fields


def _bare(el: Any) -> str | None:
    if len(el) or el.attrib:
        return None
    return text_of(el, "id")  # id, published, updated: no normalising
