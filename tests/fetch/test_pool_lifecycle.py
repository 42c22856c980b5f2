"""The worker pool's life in the poller: started early for sources that will answer with a
body, never for a poll where everything answers 304, replaced once when a worker dies (even
with several jobs in flight), and never left running after the poller closes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import watcher.pool as worker_pool
from storage.sqlite import open_store
from tests.fetch.conftest import KeywordRules, make_config
from tests.fetch.test_pipeline import NOW, rss
from tests.support.servers import LocalHTTPServer, Route
from watcher.jobs import noop
from watcher.pipeline import Poller


def _spy_pools(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every pool the poller starts, in order."""
    started: list[Any] = []
    real = worker_pool.start_pool

    def spy(*args: Any) -> Any:
        pool = real(*args)
        started.append(pool)
        return pool

    monkeypatch.setattr(worker_pool, "start_pool", spy)
    return started


def _story_feed(http_server: LocalHTTPServer) -> dict[str, Any]:
    """Source "f": a feed-only source whose one story the server serves (ETag: 304 next time)."""
    http_server.routes["/f.xml"] = Route(
        rss([("A story", "https://n.example/a", "text")]), content_type="application/rss+xml"
    )
    return {"name": "f", "url": http_server.url("/f.xml"), "fulltext": False}


def _alive(pool: Any) -> list[int]:
    return [p.pid for p in (pool._processes or {}).values() if p.is_alive()]


async def test_jobs_in_flight_when_a_worker_dies_get_one_fresh_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Any
) -> None:
    started = _spy_pools(monkeypatch)
    cfg = make_config(tmp_path, [{"name": "f", "url": "http://127.0.0.1:9/f.xml"}])
    store = open_store(tmp_path / "watcher.db")
    outcomes: list[str] = []
    try:
        async with Poller(cfg, store, KeywordRules({"x": "x"}), workers=2) as poller:
            await poller.run_job(noop)

            async def job(fn: Any, *args: Any) -> None:
                try:  # the first job fails with the pool; the next one must work at once
                    await poller.run_job(fn, *args)
                    outcomes.append("ok")
                except Exception as exc:
                    outcomes.append(type(exc.__cause__).__name__)
                await poller.run_job(noop)
                outcomes.append("then ok")

            await asyncio.gather(job(os._exit, 1), job(time.sleep, 1.0))
            assert sorted(outcomes) == ["BrokenProcessPool"] * 2 + ["then ok"] * 2
            assert len(started) == 2  # the broken pool and ONE replacement
            assert poller._executor is started[1]
        assert all(_alive(p) == [] for p in started)
    finally:
        store.close()


async def test_a_poll_where_everything_answers_304_starts_no_pool(
    http_server: LocalHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Any
) -> None:
    started = _spy_pools(monkeypatch)
    cfg = make_config(tmp_path, [_story_feed(http_server)])
    async with Poller(cfg, store, KeywordRules({"x": "story"}), workers=1) as poller:
        assert poller._pool_start is not None  # no validators yet: started at once
        report = await poller.poll(NOW)
    assert report.sources[0].status == "ok" and report.sources[0].new_articles == 1
    assert len(started) == 1
    async with Poller(cfg, store, KeywordRules({"x": "story"}), workers=1) as poller:
        report = await poller.poll(NOW)
        assert report.sources[0].status == "not_modified"
        assert poller._pool_start is None and poller._executor is None
    assert len(started) == 1  # the second poller never started one


async def test_closing_while_the_pool_starts_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Any
) -> None:
    started = _spy_pools(monkeypatch)
    cfg = make_config(tmp_path, [{"name": "f", "url": "http://127.0.0.1:9/f.xml"}])
    poller = Poller(cfg, store, KeywordRules({"x": "x"}), workers=1)
    await poller.__aenter__()
    assert poller._pool_start is not None  # a source with no validators: started at once
    closing = asyncio.ensure_future(poller.__aexit__(None, None, None))
    await asyncio.sleep(0)
    closing.cancel()  # e.g. a second SIGTERM while the pool is still starting
    with pytest.raises(asyncio.CancelledError):
        await closing
    for _ in range(200):  # the start finishes in its thread, then the pool is stopped
        if started and not _alive(started[0]):
            break
        await asyncio.sleep(0.05)
    assert len(started) == 1 and _alive(started[0]) == []


async def test_polling_one_source_with_validators_starts_no_pool_up_front(
    http_server: LocalHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Any
) -> None:
    """`watcher poll --source X`: only X decides, not another source never polled yet."""
    started = _spy_pools(monkeypatch)
    known = _story_feed(http_server)
    fresh = {"name": "g", "url": "http://127.0.0.1:9/g.xml", "fulltext": False}
    cfg = make_config(tmp_path, [known, fresh])
    [f, _] = cfg.sources
    async with Poller(cfg, store, KeywordRules({"x": "story"}), workers=1) as poller:
        await poller.poll(NOW, [f])  # f now has its validators
    started.clear()
    async with Poller(cfg, store, KeywordRules({"x": "story"}), workers=1, sources=[f]) as poller:
        assert poller._pool_start is None  # g has none, but is not polled here
        report = await poller.poll(NOW, [f])
    assert report.sources[0].status == "not_modified" and started == []
    async with Poller(cfg, store, KeywordRules({"x": "story"}), workers=1) as poller:
        assert poller._pool_start is not None  # all sources: g will answer with a body


def test_a_worker_ignores_ctrl_c_and_keeps_working() -> None:
    """Ctrl-C in a terminal signals the whole process group; the main process stops the pool
    itself, so a worker must neither die of SIGINT mid-job nor print a traceback."""
    pool = worker_pool.start_pool(1, None, pages=False)
    try:
        (pid,) = list(pool._processes)  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGINT)
        time.sleep(0.2)
        assert pool.submit(noop).result(timeout=10) is None
        assert list(pool._processes) == [pid]  # type: ignore[attr-defined]  # the same worker
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_watcher_poll_starts_the_pool_early_only_when_a_body_is_coming(
    http_server: LocalHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`watcher poll` starts the pool before opening the database and importing the poller
    when the poll will need it (the poller adopts it: one pool); not when all will answer
    304."""
    from click.testing import CliRunner

    from watcher.cli import main

    started = _spy_pools(monkeypatch)
    early: list[Any] = []
    real = worker_pool.start_early

    def spy(*args: Any) -> Any:
        early.append(real(*args))
        return early[-1]

    monkeypatch.setattr(worker_pool, "start_early", spy)
    source = _story_feed(http_server)
    cfg = tmp_path / "w.toml"
    cfg.write_text(
        f'[storage]\npath = "{tmp_path / "w.db"}"\n'
        f'[[source]]\nname = "f"\nurl = "{source["url"]}"\nfulltext = false\n'
    )
    first = CliRunner().invoke(main, ["--config", str(cfg), "poll"])
    assert first.exit_code == 0, first.output
    assert "1 new" in first.output
    assert len(early) == 1 and not early[0].pages  # feed-only: no trafilatura preload
    assert len(started) == 1  # adopted by the poller, not a second pool
    assert early[0].started.result() is started[0] and _alive(started[0]) == []
    again = CliRunner().invoke(main, ["--config", str(cfg), "poll"])
    assert again.exit_code == 0 and "not_modified" in again.output
    assert len(early) == 1 and len(started) == 1  # all had validators: no pool at all


async def test_an_early_pool_for_other_rules_is_stopped_not_adopted(
    http_server: LocalHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Any
) -> None:
    import pickle

    started = _spy_pools(monkeypatch)
    cfg = make_config(tmp_path, [_story_feed(http_server)])
    rules = KeywordRules({"x": "story"})
    other = worker_pool.start_early(1, pickle.dumps(KeywordRules({"y": "else"})), False)
    async with Poller(cfg, store, rules, workers=1, early_pool=other) as poller:
        report = await poller.poll(NOW)
    assert report.sources[0].new_articles == 1 and report.sources[0].matched_articles == 1
    assert len(started) == 2  # its own pool, and the discarded one
    discarded = other.started.result(timeout=30)
    for _ in range(200):
        if not _alive(discarded):
            break
        await asyncio.sleep(0.05)
    assert _alive(discarded) == [] and all(_alive(p) == [] for p in started)
