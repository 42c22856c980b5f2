"""What the lxml fast paths for plain feeds (:mod:`watcher.fast_rss`, :mod:`watcher.fast_atom`)
share: the checks that a document is plain UTF-8 XML served as XML from its own URL, text
feedparser would pass through unchanged, the feed language as feedparser derives it, link
resolution, and the extension elements both skip."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

__all__ = [
    "ABSOLUTE",
    "SKIPPED_ITEM_TAGS",
    "UNSAFE",
    "feed_language",
    "plain",
    "read_xml",
    "resolve",
    "stripped_text",
    "text_of",
]

_MEDIA = ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
_SLASH = "http://purl.org/rss/1.0/modules/slash/"
_WFW = "http://wellformedweb.org/CommentAPI/"
# Item elements feedparser keeps apart from the title, link, text, dates and author read here:
# skipped with everything inside them (attributes and all). Media RSS's title and description
# are not among them: feedparser takes those as the item's own.
SKIPPED_ITEM_TAGS = frozenset(
    {
        "enclosure",
        *(
            f"{{{ns}}}{name}"
            for ns in _MEDIA
            for name in (
                "content",
                "thumbnail",
                "credit",
                "rating",
                "restriction",
                "license",
                "player",
                "category",
                "keywords",
                "group",
                "copyright",
                "hash",
                "embed",
            )
        ),
        *(f"{{{_SLASH}}}{name}" for name in ("comments", "section", "department", "hit_parade")),
        *(f"{{{_WFW}}}{name}" for name in ("commentRss", "commentRSS", "comment")),
        "{http://purl.org/dc/elements/1.1/}subject",  # a tag, like <category>
        "{com-wordpress:feed-additions:1}post-id",
    }
)
UNSAFE = (b"<!DOCTYPE", b"<!ENTITY", b"xml:base", b"xml:lang")
_PROLOG_OK = re.compile(
    rb"""<\?xml version=["']1\.0["'](?:\s+encoding=["']utf-8["'])?"""
    rb"""(?:\s+standalone=["'](?:yes|no)["'])?\s*\?>\s*""",
    re.I,
)

# An absolute http(s) URL that urljoin would return unchanged: lowercase scheme, a host, and a
# path and query with no parameters (";"), fragment, whitespace or empty "?" to normalise.
ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9\-._~/:@!$&'()*+,=%]*)?"
    r"(?:\?[A-Za-z0-9\-._~/:@!$&'()*+,=%?]+)?"
)


def resolve(base: str, link: str) -> str:
    """``urljoin(base, link)``, without parsing a link that is already absolute and plain
    (feed links nearly always are: ~6 us saved per link)."""
    if ABSOLUTE.fullmatch(link):
        return link
    return urljoin(base, link)


_C1 = re.compile("[\x80-\x9f]")
# Content types feedparser parses as XML (others go to its loose parser).
_XML_TYPES = re.compile(r"(?:application|text)/xml|application/[\w.+-]+\+xml", re.I)


_HTML_TEXT = frozenset({"title", "description", "summary", "content"})


def text_of(el: Any, name: str) -> str | None:
    """An element's text without the whitespace around it. ``None`` when that whitespace is
    not all ASCII and the field ``name`` is not one that html_to_text normalises anyway
    (feedparser keeps a no-break space or a line separator where str.strip() removes it)."""
    return stripped_text(el.text, name)


def stripped_text(text: str | None, name: str) -> str | None:
    """:func:`text_of` given the element's text."""
    if not text:
        return ""
    stripped = text.strip()
    if name in _HTML_TEXT or stripped == text.strip(" \t\n\r\f\v"):
        return stripped
    return None


def plain(value: str) -> bool:
    """Text feedparser passes through unchanged (no latin-1/UTF-8 repair, no entity games, no
    C1 controls, which it reads as windows-1252)."""
    if value.isascii():
        return True
    if _C1.search(value):
        return False
    try:
        value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return True
    return False


def feed_language(meta: Mapping[str, str], hdrs: Mapping[str, str]) -> str | None:
    """The feed's language as parse_feed gets it from feedparser: a <language> element, else
    the Content-Language header (feedparser writes its "_" as "-" at the root element; an
    empty element leaves parse_feed the header as it came)."""
    header = hdrs.get("content-language")
    if "language" in meta:
        return meta["language"] or header or None
    return header.replace("_", "-") if header else None


@functools.cache
def _prefix_groups(words: tuple[bytes, ...]) -> tuple[tuple[bytes, tuple[bytes, ...]], ...]:
    """``words`` grouped by their first two bytes, each group under its longest common prefix
    (for :data:`UNSAFE`: ``<!`` for the two declarations, ``xml:`` for the two attributes)."""
    groups: dict[bytes, list[bytes]] = {}
    for w in words:
        groups.setdefault(w[:2], []).append(w)
    out = []
    for ws in groups.values():
        lo, hi = min(ws), max(ws)  # the common prefix of all is theirs
        n = 0
        while n < len(lo) and lo[n] == hi[n]:
            n += 1
        out.append((lo[:n], tuple(ws)))
    return tuple(out)


def _contains_any(body: bytes, words: tuple[bytes, ...]) -> bool:
    """Whether ``body`` contains one of ``words``: one search per group of words sharing a
    prefix when none is there (two for :data:`UNSAFE` instead of four)."""
    return any(
        prefix in body and any(w in body for w in group) for prefix, group in _prefix_groups(words)
    )


def read_xml(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    start_ok: Callable[[bytes], bool],
    unsafe: tuple[bytes, ...] = UNSAFE,
) -> tuple[Any, dict[str, str]] | None:
    """The parsed root of a plain UTF-8 XML document served as XML from ``url`` itself whose
    first element passes ``start_ok`` (given the bytes from its start tag on) and that
    contains none of ``unsafe``, and the lower-cased headers."""
    hdrs = {k.lower(): v for k, v in headers.items()}
    ctype = hdrs.get("content-type", "")
    if "charset" in ctype.lower() and not re.search(r"charset=[\"']?utf-?8\b", ctype, re.I):
        return None
    if ctype.strip() and not _XML_TYPES.fullmatch(ctype.split(";")[0].strip()):
        return None
    if hdrs.get("content-location", url) != url:  # feedparser resolves against it
        return None
    start = body[3:] if body.startswith(b"\xef\xbb\xbf") else body  # a UTF-8 BOM
    if start.startswith(b"<?xml"):
        m = _PROLOG_OK.match(start)
        if m is None:
            return None
        rest = start[m.end() :]
    else:
        rest = start.lstrip()
    if not start_ok(rest) or _contains_any(body, unsafe):
        return None
    try:
        body.decode("utf-8")
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        return etree.fromstring(body, parser), hdrs
    except Exception:  # not UTF-8 or not well-formed: feedparser decides
        return None
