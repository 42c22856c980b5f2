"""Alert delivery benchmark (a script, not a timed test): ``python bench/bench_alerts.py``.

Measures, against real loopback servers and a real SQLite outbox:
  1. alerts/s to a local webhook (signed JSON), one at a time vs. the default concurrency;
  2. alerts/s to a local SMTP server, one SMTP session per message vs. per chunk of 50;
  3. a 1,000-alert burst with the default throttle (20 single + 1 batch message);
  4. latency from a poll seeing a new article (the feed request reaching the server) to the
     webhook receiving the alert, with ``watcher.cycle.run_cycle`` (poll + deliver).
Alternatives are printed side by side with their ratio. Bounded: a few seconds in all.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from rules.models import Document, Evidence, RuleMatch  # noqa: E402
from storage import open_store  # noqa: E402
from tests.alerts.helpers import seed  # noqa: E402
from tests.support.servers import LocalHTTPServer, LocalSMTPServer, Route, WebhookReceiver  # noqa: E402
from watcher.alerts import deliver as deliver_mod  # noqa: E402
from watcher.alerts import deliver_due  # noqa: E402
from watcher.config import Config, parse_config  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)


def _no_nagle() -> None:
    """The test HTTP server writes headers and body separately without TCP_NODELAY, which
    costs a ~40 ms Nagle/delayed-ACK stall per response on Linux; real receivers do not do
    that, so the benchmark turns it off on the accepted sockets (``--nagle`` keeps it)."""
    import socket

    from tests.support import servers

    def get_request(self: Any) -> Any:
        conn, addr = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    servers._Server.get_request = get_request  # type: ignore[method-assign]


def config(
    tmp: Path, alerts: list[dict[str, Any]], sources: Sequence[dict[str, Any]] = ()
) -> Config:
    return parse_config(
        {
            "storage": {"path": str(tmp / "w.db")},
            "alert": alerts,
            "source": list(sources),
            "fetch": {"jitter": 0.0, "respect_robots": False},
        },
        path=None,
        env={},
    )


async def timed_delivery(n: int, alert: dict[str, Any], **patch: int) -> tuple[float, int]:
    """Seconds to deliver ``n`` seeded alerts, and the messages the channel accepted."""
    saved = {k: getattr(deliver_mod, k) for k in patch}
    for k, v in patch.items():
        setattr(deliver_mod, k, v)
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            cfg = config(tmp, [alert])
            store = open_store(tmp / "w.db")
            seed(store, n, channels=(alert["name"],), now=NOW)
            async with httpx.AsyncClient() as client:
                t0 = time.perf_counter()
                report = await deliver_due(store, cfg, NOW, client=client)
                elapsed = time.perf_counter() - t0
            assert report.sent + report.batched == n, report.summary()
            store.close()
            return elapsed, report.messages
    finally:
        for k, v in saved.items():
            setattr(deliver_mod, k, v)


def row(label: str, n: int, secs: float, base: float | None = None) -> None:
    ratio = f"  x{base / secs:.2f} vs first" if base else ""
    print(f"  {label:<46} {n:>5} alerts {secs:7.3f} s  {n / secs:8.0f} alerts/s{ratio}")


class KeywordRules:
    """A tiny keyword ruleset (the latency measured is the delivery path, not rule matching)."""

    def __init__(self, words: dict[str, str]) -> None:
        self.words = {r: re.compile(re.escape(w), re.I) for r, w in words.items()}

    def match(self, doc: Document) -> list[RuleMatch]:
        out = []
        for rule, pat in self.words.items():
            m = pat.search(doc.text) or None
            if m:
                ev = Evidence("text", m.start(), m.end(), m.group(0), rule, doc.text[:80])
                out.append(RuleMatch(rule, rule, "normal", (), (ev,)))
        return out


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid>"
        f"<description>{t}: the lab said DeepSeek-style open models need a new data center."
        f"</description><pubDate>{NOW.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for t, u in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench wire</title>'
        f"<link>http://127.0.0.1/</link>{body}</channel></rss>"
    ).encode()


async def latency(rounds: int, fulltext: bool) -> tuple[list[float], list[float]]:
    """Per round: (feed request -> webhook received, poll finished -> webhook received)."""
    from watcher.pipeline import Poller

    out: list[float] = []
    tail: list[float] = []
    with LocalHTTPServer() as http, WebhookReceiver() as hook, tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cfg = config(
            tmp,
            [{"name": "hook", "kind": "webhook", "url": hook.hook_url, "throttle": 0}],
            [{"name": "wire", "url": http.url("/feed"), "fulltext": fulltext}],
        )
        store = open_store(tmp / "w.db")
        rules = KeywordRules({"deepseek": "deepseek"})
        items: list[tuple[str, str]] = []
        async with httpx.AsyncClient() as client:
            for i in range(rounds):
                path = f"/story/{i}"
                http.routes[path] = Route(
                    f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}"
                    f"</h1><p>{'The lab behind DeepSeek said on Monday that it would build a new data center. ' * 6}"
                    "</p></article></body></html>".encode()
                )
                items.insert(0, (f"Story {i}", http.url(path)))
                http.routes["/feed"] = Route(rss(items), content_type="application/rss+xml")
                before = len(hook.posts())
                feed_hits = len(http.hits("/feed"))
                now = NOW + timedelta(minutes=i)
                # what watcher.cycle.run_cycle does, with a timestamp between the two halves
                async with Poller(cfg, store, rules, client=client) as poller:  # type: ignore[arg-type]
                    await poller.poll(now)
                polled = time.time()
                await deliver_due(store, cfg, now, client=client)
                posts = hook.posts()
                assert len(posts) == before + 1, "expected exactly one new alert"
                out.append(posts[-1].at - http.hits("/feed")[feed_hits].at)
                tail.append(posts[-1].at - polled)
        store.close()
    return out, tail


async def main(n_hook: int, n_mail: int, rounds: int) -> None:
    print(f"alert delivery benchmark ({NOW:%Y-%m-%d %H:%M} UTC, loopback servers, SQLite outbox)")
    print("1. webhook (signed generic JSON), throttle off")
    with WebhookReceiver() as hook:
        alert = {
            "name": "hook",
            "kind": "webhook",
            "url": hook.hook_url,
            "secret": "bench",
            "throttle": 0,
        }
        seq, _ = await timed_delivery(n_hook, alert, WEBHOOK_CONCURRENCY=1)
        par, _ = await timed_delivery(n_hook, alert)
        row("one request at a time", n_hook, seq)
        row(f"{deliver_mod.WEBHOOK_CONCURRENCY} in flight (default)", n_hook, par, seq)
        hook.script = [Route(b"ok", delay=0.05)]  # a receiver 50 ms away
        n_slow = max(1, n_hook // 5)
        seq, _ = await timed_delivery(n_slow, alert, WEBHOOK_CONCURRENCY=1)
        par, _ = await timed_delivery(n_slow, alert)
        row("50 ms receiver, one request at a time", n_slow, seq)
        row(
            f"50 ms receiver, {deliver_mod.WEBHOOK_CONCURRENCY} in flight (default)",
            n_slow,
            par,
            seq,
        )
    print("2. SMTP (multipart text+HTML), throttle off")
    with LocalSMTPServer() as smtp:
        alert = {
            "name": "mail",
            "kind": "email",
            "smtp": smtp.url,
            "from": "w@example.org",
            "to": ["a@example.org"],
            "throttle": 0,
        }
        one, _ = await timed_delivery(n_mail, alert, SMTP_CHUNK=1)
        chunk, _ = await timed_delivery(n_mail, alert)
        row("one SMTP session per message", n_mail, one)
        row(f"one session per {deliver_mod.SMTP_CHUNK} messages (default)", n_mail, chunk, one)
    print("3. burst of 1,000 alerts, default throttle (20/h)")
    with WebhookReceiver() as hook:
        alert = {"name": "hook", "kind": "webhook", "url": hook.hook_url}
        secs, messages = await timed_delivery(1000, alert)
        row(f"-> {messages} messages (20 single + 1 batch)", 1000, secs)
    print("4. latency: poll sees a new article -> webhook receives the alert (poll + deliver)")
    for fulltext in (False, True):
        lat, tail = await latency(rounds, fulltext)
        print(
            f"  fulltext={str(fulltext).lower():<5} rounds={rounds}: median "
            f"{statistics.median(lat) * 1000:6.1f} ms (max {max(lat) * 1000:6.1f} ms), of which "
            f"delivery after the poll: median {statistics.median(tail) * 1000:5.1f} ms"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--webhook", type=int, default=500)
    ap.add_argument("--smtp", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--nagle", action="store_true", help="keep the test server's 40 ms stall")
    args = ap.parse_args()
    if not args.nagle:
        _no_nagle()
    asyncio.run(main(args.webhook, args.smtp, args.rounds))
