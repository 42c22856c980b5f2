"""Finding articles and feeds: article links on a listing page, news sitemaps and sitemap
indexes, and feed autodiscovery (``<link rel="alternate">``, then common paths)."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from watcher.errors import FetchError, ParseError

if TYPE_CHECKING:
    from watcher.http import Fetcher

__all__ = [
    "COMMON_FEED_PATHS",
    "Link",
    "Sitemap",
    "SitemapEntry",
    "discover_feed",
    "find_feed_links",
    "page_links",
    "parse_sitemap",
]

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)
COMMON_FEED_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
)
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    url: str
    lastmod: datetime | None = None
    title: str = ""  # news:title
    language: str | None = None  # news:language


@dataclass(frozen=True, slots=True)
class Sitemap:
    entries: tuple[SitemapEntry, ...]
    sitemaps: tuple[str, ...]  # child sitemaps of a sitemap index
    sitemap_lastmods: tuple[datetime | None, ...] = ()  # their <lastmod>, same order


_URL_DATE = re.compile(
    r"(?<!\d)(20\d\d|19\d\d)(?:[-_/.]?(0[1-9]|1[0-2])(?:[-_/.]?(0[1-9]|[12]\d|3[01]))?)?(?!\d)"
)
_URL_NUMBER = re.compile(r"(\d+)(?=\.xml(?:\.gz)?$|/?$)")


def sitemap_recency(url: str) -> tuple[int, tuple[int, int, int], int]:
    """How recent an undated child sitemap looks from its URL alone (larger: newer): a news
    sitemap first, then the latest date in its name (``sitemap-2026-11.xml``,
    ``/2026/11/``), then its trailing number (``post-sitemap12.xml``: WordPress and Yoast
    number them oldest first)."""
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    news = 1 if "news" in name else 0
    dates = [
        (int(y), int(m or 0), int(d or 0))
        for y, m, d in _URL_DATE.findall(path.replace("sitemap", ""))
    ]
    number = _URL_NUMBER.search(name)
    return news, max(dates, default=(0, 0, 0)), int(number.group(1)[:9]) if number else 0


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


_NOT_ARTICLE = re.compile(
    r"/(tag|tags|category|categories|topic|topics|author|authors|page|search|login|signin|"
    r"register|subscribe|account|about|contact|privacy|terms|feed|rss|wp-admin|wp-login|"
    r"cdn-cgi|static|assets)(/|$)",
    re.I,
)
_STATIC = re.compile(r"\.(png|jpe?g|gif|svg|webp|css|js|pdf|zip|mp[34]|xml|json|ico)$", re.I)
_DATE_IN_PATH = re.compile(r"/(19|20)\d\d[/-]\d{1,2}([/-]\d{1,2})?(/|-)")


def is_article_like(url: str) -> bool:
    """Heuristic: a URL that looks like an article (a date, an id or a long slug in its path)."""
    path = urlsplit(url).path
    if not path or path == "/" or _STATIC.search(path) or _NOT_ARTICLE.search(path):
        return False
    if _DATE_IN_PATH.search(path + "/"):
        return True
    last = [s for s in path.split("/") if s]
    if not last:
        return False
    slug = re.sub(r"\.(html?|php|aspx?)$", "", last[-1], flags=re.I)
    if re.search(r"\d{4,}", slug):
        return True
    return slug.count("-") + slug.count("_") >= 3 and len(slug) >= 20


def _tree(body: bytes, base_url: str) -> object:
    import lxml.html

    from watcher.extract import decode_html

    text = decode_html(body)
    if not text.strip():
        raise ParseError(f"{base_url}: empty page")
    try:  # decoded already (header, meta, detection): the parser must not guess again
        parser = lxml.html.HTMLParser(encoding="utf-8")
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser, base_url=base_url)
    except Exception as exc:  # lxml ParserError / ValueError on garbage
        raise ParseError(f"{base_url}: not an HTML page: {exc}") from exc


def page_links(body: bytes, base_url: str, limit: int = 200) -> list[Link]:
    """Same-site, article-like links of a listing page, in page order, without duplicates."""
    tree = _tree(body, base_url)
    site = _host(base_url)
    base_el = tree.find(".//base")  # type: ignore[attr-defined]
    base = (
        urljoin(base_url, base_el.get("href"))
        if base_el is not None and base_el.get("href")
        else base_url
    )
    seen: set[str] = set()
    out: list[Link] = []
    for a in tree.iter("a"):  # type: ignore[attr-defined]
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _host(url) != site:
            continue
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        if url in seen or not is_article_like(url):
            continue
        seen.add(url)
        title = " ".join((a.text_content() or "").split())
        out.append(Link(url, title))
        if len(out) >= limit:
            break
    return out


def _gunzip(body: bytes, url: str) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    z = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = z.decompress(body, MAX_SITEMAP_BYTES + 1)
    if len(out) > MAX_SITEMAP_BYTES:
        raise ParseError(f"{url}: decompressed sitemap larger than {MAX_SITEMAP_BYTES} bytes")
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip().replace("Z", "+00:00")
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        return None
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Parse a sitemap (``urlset``, with Google News extensions) or a sitemap index."""
    from lxml import etree

    data = _gunzip(body, url)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{url}: not a sitemap: {exc}") from exc
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        raise ParseError(f"{url}: not a sitemap")
    entries: list[SitemapEntry] = []
    children: list[str] = []
    child_dates: list[datetime | None] = []
    for node in root:
        kind = _local(node.tag)
        fields: dict[str, str] = {}
        for el in node.iter():
            name = _local(el.tag)
            if name in ("loc", "lastmod", "title", "language", "publication_date") and el.text:
                fields.setdefault(name, el.text.strip())
        loc = fields.get("loc")
        if not loc:
            continue
        loc = urljoin(url, loc)
        if kind == "sitemap":
            children.append(loc)
            child_dates.append(_date(fields.get("lastmod")))
        elif kind == "url":
            entries.append(
                SitemapEntry(
                    loc,
                    _date(fields.get("publication_date") or fields.get("lastmod")),
                    fields.get("title", ""),
                    fields.get("language"),
                )
            )
    return Sitemap(tuple(entries), tuple(children), tuple(child_dates))


def find_feed_links(body: bytes, base_url: str) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate" type="application/rss+xml">``."""
    tree = _tree(body, base_url)
    out: list[str] = []
    for link in tree.iter("link"):  # type: ignore[attr-defined]
        rel = (link.get("rel") or "").lower().split()
        typ = (link.get("type") or "").lower().split(";")[0].strip()
        href = link.get("href")
        if "alternate" in rel and typ in FEED_TYPES and href:
            url = urljoin(base_url, href.strip())
            if url not in out:
                out.append(url)
    return out


async def discover_feed(fetcher: Fetcher, url: str) -> tuple[str, str]:
    """The feed behind ``url``: the URL itself if it is a feed, else an announced feed, else
    one of :data:`COMMON_FEED_PATHS`. Returns ``(feed_url, feed_title)``; raises
    :class:`ParseError` (nothing found) or :class:`FetchError` (the page could not be read)."""
    from watcher.feeds import parse_feed

    doc = await fetcher.fetch(url)
    try:
        feed = parse_feed(doc.body, doc.headers, doc.url)
        return doc.url, feed.title
    except ParseError:
        pass
    candidates = find_feed_links(doc.body, doc.url)
    root = urlunsplit(urlsplit(doc.url)._replace(path="", query="", fragment=""))
    candidates += [root + p for p in COMMON_FEED_PATHS if root + p not in candidates]
    for candidate in candidates:
        try:
            cdoc = await fetcher.fetch(candidate)
            feed = parse_feed(cdoc.body, cdoc.headers, cdoc.url)
        except (FetchError, ParseError):
            continue
        return cdoc.url, feed.title
    raise ParseError(f"{url}: no feed found (no autodiscovery link, no feed at common paths)")
