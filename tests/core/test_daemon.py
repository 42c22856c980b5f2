"""The daemon in-process: polls keep coming when a poll outlasts its interval; the digest window
follows local wall-clock time across DST; SIGTERM-style stop finishes cleanly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from storage.sqlite import open_store
from tests.support.servers import LocalHTTPServer, Route
from watcher.config import Config, load_config
from watcher.daemon import Daemon
from watcher.ruleload import load_ruleset

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>
<description>d</description><item><title>Nothing to see</title><link>http://127.0.0.1:9/a</link>
<guid>a</guid><description>plain text about gardening</description></item></channel></rss>"""


def _config(tmp_path: Path, name: str, url: str, every: str, extra: str = "") -> Config:
    """A config with one feed-only source (and ``extra`` TOML), SQLite in ``tmp_path``."""
    path = tmp_path / "w.toml"
    path.write_text(
        f'[storage]\npath = "w.db"\n[[source]]\nname = "{name}"\nurl = "{url}"\n'
        f'every = "{every}"\nfulltext = false\n{extra}',
        encoding="utf-8",
    )
    return load_config(path)


async def _run_until(daemon: Daemon, done, timeout: float = 45.0) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done() and loop.time() < deadline:
            assert not task.done(), task
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def test_slow_source_keeps_being_polled(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    # every poll takes longer than the interval: the next one must still be scheduled
    http_server.routes["/slow.xml"] = Route(
        RSS, content_type="application/rss+xml", delay=1.5, etag=False
    )
    extra = '[[alert]]\nname = "log"\nkind = "log"\n[fetch]\njitter = 0.0\n'
    config = _config(tmp_path, "slow", http_server.url("/slow.xml"), "1s", extra)
    store = open_store(config.storage.path)
    try:
        daemon = Daemon(config, store, load_ruleset(config.rules), deliver_every=3600)
        await _run_until(daemon, lambda: len(http_server.hits("/slow.xml")) >= 3)
        assert len(http_server.hits("/slow.xml")) >= 3
        assert daemon.polls_done >= 2
    finally:
        store.close()


def test_digest_window_follows_local_time_across_dst() -> None:
    from zoneinfo import ZoneInfo

    from watcher.digest import rolling_day

    paris = ZoneInfo("Europe/Paris")
    # 08:00 in Paris on the day summer time ends: the previous 08:00 was 25 hours earlier
    now = datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    start, end = rolling_day(now, paris)
    assert end == now and (now - start).total_seconds() == 25 * 3600
    assert start.astimezone(paris).hour == 8
    # and 23 hours on the day it starts
    now = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    start, _ = rolling_day(now, paris)
    assert (now - start).total_seconds() == 23 * 3600


async def test_daemon_indexes_new_articles_for_search_between_polls(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """A poll leaves new articles queued for the search index; the daemon's index job adds
    them (so a search need not), without waiting for anyone to search."""
    import sqlite3

    http_server.routes["/f.xml"] = Route(RSS, content_type="application/rss+xml")
    config = _config(tmp_path, "f", http_server.url("/f.xml"), "1h")
    store = open_store(config.storage.path)

    def counts() -> tuple[int, int, int]:
        with sqlite3.connect(config.storage.path) as db:
            row = db.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM fts_pending),"
                " (SELECT count(*) FROM articles_fts_docsize)"
            ).fetchone()
            return int(row[0]), int(row[1]), int(row[2])

    try:
        daemon = Daemon(
            config, store, load_ruleset(config.rules), deliver_every=3600, index_every=0.5
        )
        await _run_until(daemon, lambda: counts() == (1, 0, 1))
        assert counts() == (1, 0, 1)  # stored, no longer queued, and in the index
        with sqlite3.connect(config.storage.path) as db:
            hits = db.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'gardening'"
            ).fetchall()
        assert len(hits) == 1
    finally:
        store.close()
