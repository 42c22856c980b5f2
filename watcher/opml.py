"""OPML 2.0 import and export of sources (nested outlines become categories and back)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from watcher.errors import ParseError

__all__ = ["OpmlSource", "parse_opml", "source_name", "unique_names", "write_opml"]


@dataclass(frozen=True, slots=True)
class OpmlSource:
    title: str
    url: str  # xmlUrl
    html_url: str | None = None
    category: tuple[str, ...] = ()  # enclosing outline titles, outermost first
    kind: str = "feed"  # a "watcher:kind" attribute (our own export) or feed


def parse_opml(body: bytes) -> list[OpmlSource]:
    """Every outline with an ``xmlUrl`` (any depth). Raises :class:`ParseError`."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not an OPML file: {exc}") from exc
    if root is None or root.tag != "opml" or root.find("body") is None:
        raise ParseError("not an OPML file: no <opml><body>")
    out: list[OpmlSource] = []

    def walk(node: etree._Element, path: tuple[str, ...]) -> None:
        for child in node:
            if child.tag != "outline":
                continue
            title = (child.get("title") or child.get("text") or "").strip()
            url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
            if url:
                kind = child.get("{https://ai-news-watcher.org/opml}kind") or "feed"
                out.append(OpmlSource(title or url, url, child.get("htmlUrl"), path, kind))
            walk(child, (*path, title) if not url and title else path)

    walk(root.find("body"), ())
    return out


def source_name(title: str, url: str) -> str:
    """A valid source name (``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``) from a title or URL."""
    import unicodedata

    base = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")
    if not slug:
        host = re.sub(r"^https?://(www\.)?", "", url).split("/")[0]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-._").lower() or "source"
    return slug[:64].rstrip("-._") or "source"


def unique_names(entries: Iterable[OpmlSource], taken: Iterable[str] = ()) -> list[str]:
    seen = set(taken)
    names = []
    for e in entries:
        base = source_name(e.title, e.url)
        name, i = base, 2
        while name in seen:
            suffix = f"-{i}"
            name = base[: 64 - len(suffix)] + suffix
            i += 1
        seen.add(name)
        names.append(name)
    return names


def write_opml(sources: Sequence[OpmlSource], title: str = "AI News Watcher sources") -> bytes:
    """OPML 2.0; sources with a category are nested under outlines of that category."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0" xmlns:watcher="https://ai-news-watcher.org/opml">',
        f"  <head><title>{_esc(title)}</title></head>",
        "  <body>",
    ]
    tree: dict[str, object] = {}
    for s in sources:
        node = tree
        for part in s.category:
            node = node.setdefault("\0" + part, {})  # type: ignore[assignment]
        node.setdefault("", []).append(s)  # type: ignore[attr-defined]

    def emit(node: dict[str, object], depth: int) -> None:
        pad = "  " * depth
        for s in node.get("", []):  # type: ignore[attr-defined]
            attrs = f'type="rss" text={quoteattr(s.title)} title={quoteattr(s.title)} xmlUrl={quoteattr(s.url)}'
            if s.html_url:
                attrs += f" htmlUrl={quoteattr(s.html_url)}"
            if s.kind != "feed":
                attrs += f" watcher:kind={quoteattr(s.kind)}"
            lines.append(f"{pad}<outline {attrs}/>")
        for key, child in node.items():
            if key:
                lines.append(f"{pad}<outline text={quoteattr(key[1:])} title={quoteattr(key[1:])}>")
                emit(child, depth + 1)  # type: ignore[arg-type]
                lines.append(f"{pad}</outline>")

    emit(tree, 2)
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
