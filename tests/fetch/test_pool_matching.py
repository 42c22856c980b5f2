"""Feed-only sources are matched inside the parse job (no second round trip to the pool):
the stored articles, matches and alerts are exactly those of matching in the main process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.sqlite import open_store
from tests.fetch.conftest import make_config
from tests.fetch.test_pipeline import NOW, RSS, rss
from tests.support.servers import LocalHTTPServer, Route
from watcher.config import RulesConfig
from watcher.pipeline import Poller
from watcher.ruleload import load_rules_lazily

ITEMS = [
    ("DeepSeek releases a new model", "https://n.example/a", "The Hangzhou lab DeepSeek said..."),
    ("Meta capex", "https://n.example/b", "Meta will spend $65 billion on AI data centers."),
    (
        "ميتا وديبسيك",
        "https://n.example/c",
        "قالت ميتا إنها ستنفق 60 مليار دولار على مراكز البيانات للذكاء الاصطناعي",
    ),
    ("Weather", "https://n.example/d", "Sunny with a light breeze over the hills today."),
]


def _snapshot(store: Any) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    out = []
    for a in store.articles_between(NOW.replace(year=2000), NOW.replace(year=2100)):
        rules = tuple(sorted(m.rule for m in store.article_matches(a.id)))
        alerts = tuple(sorted(x.channel for x in store.list_alerts() if x.article_id == a.id))
        out.append((a.url, rules, alerts))
    return sorted(out)


async def test_pool_matches_like_the_main_process(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    http_server.routes["/feed"] = Route(rss(ITEMS), content_type=RSS)
    src = [{"name": "wire", "url": http_server.url("/feed"), "fulltext": False}]
    snapshots = []
    for workers in (0, 1):
        cfg = make_config(tmp_path / str(workers), src)
        store = open_store(tmp_path / f"{workers}.db")
        try:
            rules = load_rules_lazily(RulesConfig())
            async with Poller(cfg, store, rules, workers=workers) as poller:
                report = await poller.poll(NOW)
            assert report.new_articles == 4
            snapshots.append(_snapshot(store))
        finally:
            store.close()
    assert snapshots[0] == snapshots[1]
    matched = {url: rules for url, rules, _ in snapshots[1]}
    assert "deepseek" in matched["https://n.example/a"]
    assert "capex" in matched["https://n.example/b"]
    assert {"deepseek", "capex"} <= set(matched["https://n.example/c"])
    assert matched["https://n.example/d"] == ()
