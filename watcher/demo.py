"""``watcher demo``: the whole path, offline, in a few seconds.

Serves bundled sample feeds and article pages (our own sample text, in English, Arabic and
Chinese, with navigation, comments and footers to strip) on 127.0.0.1, with a local webhook
receiver that checks signatures; polls twice (the second poll finds nothing new), and prints
the alerts, what the webhook received, and the digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DEMO_SECRET = "demo-webhook-secret"


@dataclass
class _Site:
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hooks: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


def _load_articles() -> tuple[list[dict[str, Any]], str]:
    data = resources.files("watcher") / "demo_data"
    articles = json.loads((data / "articles.json").read_text(encoding="utf-8"))
    template = (data / "page.html.tmpl").read_text(encoding="utf-8")
    return articles, template


def build_site(base: str) -> _Site:
    """Pages and feeds of the demo newsroom, with absolute links to ``base``."""
    articles, template = _load_articles()
    site = _Site()
    for a in articles:
        paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in a["paragraphs"])
        values = {k: html.escape(str(v)) for k, v in a.items() if isinstance(v, str)}
        page = template.format(
            **values, paragraphs=paragraphs, dir="rtl" if a["lang"] == "ar" else "ltr"
        )
        site.pages[f"/{a['slug']}"] = ("text/html; charset=utf-8", page.encode("utf-8"))
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for a in articles:
        by_feed.setdefault(a["feed"], []).append(a)
    site.pages["/feeds/en.xml"] = (
        "application/rss+xml",
        _rss(base, "Demo Tech (en)", by_feed["en"]),
    )
    site.pages["/feeds/ar.xml"] = ("application/atom+xml", _atom(base, "تقنية (ar)", by_feed["ar"]))
    # The Chinese feed also carries the English DeepSeek story, with tracking parameters:
    # it is stored and alerted once, and the digest says "also reported by".
    zh = by_feed["zh"] + [dict(by_feed["en"][0], slug=by_feed["en"][0]["slug"] + "?utm_source=zh")]
    site.pages["/feeds/zh.xml"] = ("application/rss+xml", _rss(base, "科技 (zh)", zh))
    return site


def _rss(base: str, title: str, items: list[dict[str, Any]]) -> bytes:
    e = html.escape
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0"><channel><title>{e(title)}</title><link>{base}/</link>',
        "<description>AI News Watcher demo feed</description>",
    ]
    for a in items:
        when = format_datetime(datetime.fromisoformat(a["published"].replace("Z", "+00:00")))
        out.append(
            f"<item><title>{e(a['title'])}</title><link>{e(base + '/' + a['slug'])}</link>"
            f'<guid isPermaLink="false">demo-{e(a["slug"])}</guid><pubDate>{when}</pubDate>'
            f"<description>{e(a['paragraphs'][0])}</description></item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out).encode("utf-8")


def _atom(base: str, title: str, items: list[dict[str, Any]]) -> bytes:
    e = html.escape
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{e(title)}</title><id>{base}/feeds/ar.xml</id>",
        f"<updated>{items[0]['published']}</updated>",
    ]
    for a in items:
        out.append(
            f'<entry><title>{e(a["title"])}</title><link href="{e(base + "/" + a["slug"])}"/>'
            f"<id>demo-{e(a['slug'])}</id><updated>{a['published']}</updated>"
            f"<summary>{e(a['paragraphs'][0])}</summary></entry>"
        )
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


class DemoServer:
    """A small threaded HTTP server on 127.0.0.1: GET serves the site, POST /hook receives."""

    def __init__(self) -> None:
        self.site = _Site()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms stall between headers and body

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                found = outer.site.pages.get(self.path.split("?", 1)[0])
                ctype, body = found or ("text/plain", b"not found")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.site.hooks.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.site = build_site(self.base)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def signature_ok(headers: dict[str, str], body: bytes, secret: str) -> bool:
    ts = headers.get("x-watcher-timestamp", "")
    expected = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-watcher-signature", ""), "sha256=" + expected)


def demo_config_toml(base: str, db: Path) -> str:
    return f"""
[storage]
path = "{db}"

[[source]]
name = "demo-en"
url = "{base}/feeds/en.xml"

[[source]]
name = "demo-ar"
url = "{base}/feeds/ar.xml"

[[source]]
name = "demo-zh"
url = "{base}/feeds/zh.xml"

[rules]
packs = ["default"]

[[alert]]
name = "demo-hook"
kind = "webhook"
url = "{base}/hook"
secret = "env:WATCHER_DEMO_SECRET"
rules = ["deepseek", "llama4", "capex"]

[[alert]]
name = "log"
kind = "log"
rules = ["deepseek", "llama4", "capex"]

[digest]
timezone = "UTC"
alerts = ["log"]
"""


def run_demo(keep: Path | None, echo: Callable[[str], None] = print) -> None:
    from storage.sqlite import open_store
    from watcher.config import load_config
    from watcher.cycle import run_cycle
    from watcher.digest import build_digest, render
    from watcher.digest_send import rule_names
    from watcher.ruleload import load_ruleset

    with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp, DemoServer() as server:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        cfg_path = work / "demo.toml"
        db = work / "demo.db"
        cfg_path.write_text(demo_config_toml(server.base, db), encoding="utf-8")
        config = load_config(cfg_path, env={"WATCHER_DEMO_SECRET": DEMO_SECRET})
        echo(f"serving demo feeds at {server.base}; config {cfg_path}")
        store = open_store(config.storage.path)
        try:
            ruleset = load_ruleset(config.rules)
            for attempt in (1, 2):
                now = datetime.now(UTC)
                result = asyncio.run(
                    run_cycle(config, store, ruleset, None, now, clock=lambda: datetime.now(UTC))
                )
                echo(f"\n--- poll {attempt}")
                echo(result.summary())
            echo("\n--- alerts")
            for alert in reversed(store.list_alerts(limit=50)):
                article = store.get_article(alert.article_id)
                echo(
                    f"[{alert.status}] {alert.channel}: {article.title} — {', '.join(alert.rules)}"
                )
            valid = sum(signature_ok(h, b, DEMO_SECRET) for h, b in server.site.hooks)
            echo(f"\nwebhook received {len(server.site.hooks)} POST(s), {valid} correctly signed")
            echo("\n--- digest")
            now = datetime.now(UTC)
            digest = build_digest(
                store, now - timedelta(days=1), now, now, ZoneInfo("UTC"), rule_names(ruleset)
            )
            echo(render(digest, "text"))
        finally:
            store.close()
