"""Store-side cost of a cold poll, by how its writes are grouped into transactions.

Stores 500 sources x 20 new feed items (invented text, ~300 characters each, about one in
eight matching a rule) into a fresh SQLite file the way the poller does, and times:

- ``2 per source``: the articles, then the fetch log and source state, each in its own
  transaction (the poller before group commit);
- ``1 per source``: both in one transaction (a write group of one);
- ``groups of N``: N sources per transaction (what the poller's ``WriteGroup`` does when N
  sources finish in the same turn of the event loop; write methods join it without
  savepoints of their own, since a failing group is run again write by write);
- ``groups of N, savepoints``: the same with a savepoint per source and per write method
  (``transaction()`` blocks nested, as a caller that goes on after an error needs);

and then the search-index update of those 10,000 articles with FTS5's default 1 MiB build
buffer against the 16 MiB one of migration 8.

    .venv/bin/python bench/bench_commits.py [--sources 500] [--items 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rules.models import Evidence, RuleMatch  # noqa: E402
from storage import NewArticle, SourceDef, canonical_url  # noqa: E402
from storage.models import FetchLogEntry, SourceUpdate  # noqa: E402
from storage.sqlite import SQLiteStore, open_store  # noqa: E402

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WORDS = [
    "startup",
    "energy",
    "source",
    "million",
    "open",
    "software",
    "executive",
    "europe",
    "cluster",
    "officer",
    "product",
    "results",
    "market",
    "team",
    "capacity",
    "hardware",
    "first",
    "release",
    "billion",
    "regulators",
    "policy",
    "company",
    "chips",
    "model",
    "cloud",
    "compute",
    "training",
    "investors",
    "revenue",
    "expand",
    "benchmark",
]


def batches(
    sources: int, items: int, seed: int = 7
) -> list[list[tuple[NewArticle, list, dict, tuple]]]:  # type: ignore[type-arg]
    rng = random.Random(seed)
    match = RuleMatch(
        "deepseek",
        "DeepSeek",
        "high",
        ("china",),
        (Evidence("title", 0, 8, "DeepSeek", "DeepSeek", "DeepSeek"),),
    )
    out = []
    for s in range(sources):
        batch = []
        for i in range(items):
            url = f"https://site{s}.example/2026/11/28/story-{s}-{i}"
            hit = rng.random() < 0.125
            title = ("DeepSeek " if hit else "") + " ".join(rng.choices(WORDS, k=6)).capitalize()
            text = " ".join(rng.choices(WORDS, k=45)) + "."
            art = NewArticle(
                url=url,
                canonical_url=canonical_url(url),
                source=f"s{s}",
                title=title,
                text=text,
                guid=url,
                summary=text,
                language="en",
                extraction="feed",
            )
            batch.append((art, [match] if hit else [], {"log": ["deepseek"]} if hit else {}, ()))
        out.append(batch)
    return out


def _name(mode: str) -> str:
    return mode.replace(" ", "-").replace(",", "")


def fresh(tmp: Path, name: str, sources: int) -> SQLiteStore:
    store = open_store(tmp / f"{name}.db")
    store.sync_sources(
        [SourceDef(f"s{s}", f"https://site{s}.example/feed", "feed") for s in range(sources)], NOW
    )
    return store


def bookkeeping(store: SQLiteStore, s: int, n: int) -> None:
    store.record_poll(
        FetchLogEntry(f"s{s}", f"https://site{s}.example/feed", NOW, "ok", 200, None, 5, n, n),
        SourceUpdate(etag=f'"{s}"', next_poll_at=NOW + timedelta(minutes=30)),
    )


def run(mode: str, data: list, tmp: Path) -> float:  # type: ignore[type-arg]
    store = fresh(tmp, _name(mode), len(data))
    t = time.perf_counter()
    if mode == "2 per source":
        for s, batch in enumerate(data):
            store.record_articles(batch, NOW)
            bookkeeping(store, s, len(batch))
    else:
        size = 1 if mode == "1 per source" else int(mode.split(",")[0].split()[-1])
        savepoints = mode.endswith("savepoints")
        for g in range(0, len(data), size):
            with store.transaction(atomic_calls=savepoints):
                for s in range(g, min(g + size, len(data))):
                    with store.transaction() if savepoints else contextlib.nullcontext():
                        store.record_articles(data[s], NOW)
                        bookkeeping(store, s, len(data[s]))
    elapsed = time.perf_counter() - t
    store.close()
    return elapsed


def index(data: list, tmp: Path, hashsize: int | None) -> float:  # type: ignore[type-arg]
    store = fresh(tmp, f"index-{hashsize}", len(data))
    for batch in data:
        store.record_articles(batch, NOW)
    if hashsize is not None:  # the FTS5 default (1 MiB): undo migration 8's setting
        store.db.execute(
            "INSERT INTO articles_fts (articles_fts, rank) VALUES ('hashsize', ?)", [hashsize]
        )
    t = time.perf_counter()
    store.index_pending()
    elapsed = time.perf_counter() - t
    store.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=500)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = batches(args.sources, args.items)
    modes = [
        "2 per source",
        "1 per source",
        "groups of 2",
        "groups of 5",
        "groups of 2, savepoints",
        "groups of 5, savepoints",
    ]
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for _ in range(args.repeat):  # alternating, best of N: the machine's speed drifts
            for m in modes:
                for suffix in ("", "-wal", "-shm"):
                    (tmp / f"{_name(m)}.db{suffix}").unlink(missing_ok=True)
                best[m] = min(best.get(m, float("inf")), run(m, data, tmp))
            for label, size in (("index, 1 MiB buffer", 1 << 20), ("index, 16 MiB buffer", None)):
                name = f"index-{size}"
                for suffix in ("", "-wal", "-shm"):
                    (tmp / f"{name}.db{suffix}").unlink(missing_ok=True)
                best[label] = min(best.get(label, float("inf")), index(data, tmp, size))
    n = args.sources * args.items
    print(f"{args.sources} sources x {args.items} new items ({n} articles), best of {args.repeat}")
    base = best["2 per source"]
    for m in modes:
        print(f"  store, {m:<24} {best[m]:6.3f} s   {best[m] / base:4.2f}x")
    b = best["index, 1 MiB buffer"]
    for label in ("index, 1 MiB buffer", "index, 16 MiB buffer"):
        print(f"  {label:<31} {best[label]:6.3f} s   {best[label] / b:4.2f}x")


if __name__ == "__main__":
    main()
