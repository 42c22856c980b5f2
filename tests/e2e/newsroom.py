"""A tiny fake newsroom for end-to-end tests: article pages with real-world leftovers
(navigation, comment form, back-to-top) listed in an RSS feed, served by LocalHTTPServer."""

from __future__ import annotations

import html
from pathlib import Path

from tests.support.servers import LocalHTTPServer, Route

LEFTOVER_MARKERS = ("اترك تعليقاً", "لن يتم نشر عنوان بريدك", "زر الذهاب إلى الأعلى")
NAV = ("الرئيسية", "اقتصاد", "تسجيل الدخول")


def article_page(
    title: str, paragraphs: list[str], leftovers: list[str], lang: str = "ar"
) -> bytes:
    """An HTML page: nav, the article, then a comment form and a back-to-top button."""
    e = html.escape
    body = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs)
    tail = "".join(f"<p>{e(x)}</p>" for x in leftovers[:-1])
    last = e(leftovers[-1]) if leftovers else ""
    direction = "rtl" if lang == "ar" else "ltr"
    return f"""<!DOCTYPE html>
<html lang="{lang}" dir="{direction}"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta property="og:title" content="{e(title)}"></head>
<body><header><nav><ul><li><a href="/">{NAV[0]}</a></li><li><a href="/eco">{NAV[1]}</a></li>
<li><a href="/login">{NAV[2]}</a></li></ul></nav></header>
<main><article><h1>{e(title)}</h1>
{body}
</article>
<div id="respond" class="comment-respond"><h3 class="comment-reply-title">{tail}</h3>
<form class="comment-form"><textarea name="comment"></textarea><input type="submit"></form></div>
</main>
<footer><a href="#top" class="back-to-top">{last}</a></footer></body></html>""".encode()


def rss(base: str, items: list[tuple[str, str, str]]) -> bytes:
    """RSS 2.0 with (title, path, summary) items."""
    e = html.escape
    entries = "".join(
        f"<item><title>{e(t)}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
        f"<pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate><description>{e(s)}</description></item>"
        for t, p, s in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>أخبار التقنية</title><link>{base}/</link><description>test</description>"
        f"{entries}</channel></rss>"
    ).encode()


def split_seed(text: str) -> tuple[str, list[str], list[str]]:
    """The seed article's title, body paragraphs and trailing page leftovers."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # first line is a section label ("news"), second the headline
    title = lines[1]
    body = lines[2:]
    cut = next(i for i, line in enumerate(body) if any(m in line for m in LEFTOVER_MARKERS))
    return title, body[:cut], body[cut:]


def serve_article(
    server: LocalHTTPServer, title: str, paragraphs: list[str], leftovers: list[str]
) -> str:
    """Serve the page and a feed listing it; returns the feed URL."""
    server.routes["/ai/meta-deepseek.html"] = Route(article_page(title, paragraphs, leftovers))
    server.routes["/feed.xml"] = Route(
        rss(server.base, [(title, "/ai/meta-deepseek.html", paragraphs[0][:200])]),
        content_type="application/rss+xml; charset=utf-8",
    )
    return server.url("/feed.xml")


def write_config(tmp: Path, feed_url: str, hook_url: str, smtp_url: str) -> Path:
    cfg = tmp / "watcher.toml"
    cfg.write_text(
        f"""
[storage]
path = "watcher.db"

[[source]]
name = "ar-tech"
url = "{feed_url}"

[rules]
packs = ["default"]

[[alert]]
name = "team-hook"
kind = "webhook"
url = "{hook_url}"
secret = "env:WATCHER_HOOK_SECRET"
rules = ["deepseek", "llama4", "capex"]

[[alert]]
name = "team-mail"
kind = "email"
smtp = "{smtp_url}"
from = "watcher@example.org"
to = ["analyst@example.org"]
rules = ["deepseek", "llama4", "capex"]

[digest]
at = "08:00"
timezone = "Europe/Paris"
alerts = ["team-mail"]
""",
        encoding="utf-8",
    )
    return cfg
